#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_resources
short_description: Set memory, swap and CPU resources of a Proxmox VE LXC container
version_added: 1.0.0
description:
  - Sets the memory, swap and CPU options of an existing LXC container, comparing them with the current
    configuration first. Only the options given are managed; nothing is written when they already match.
  - Every write carries the config digest, so a concurrent edit is detected and the change is re-planned.
  - Proxmox applies these options to a running container at once, so they normally do not wait for a reboot;
    anything that does is listed in RV(pending).
  - Use M(pve.config.vm_resources) for QEMU virtual machines; giving a VM's ID to this module fails without a change.
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
options:
  memory:
    description:
      - Memory of the container in MiB, or a size with unit such as V(1G) or V(512M).
        Must be a whole number of MiB, at least V(16).
    type: raw
  swap:
    description:
      - Swap of the container in MiB, or a size with unit such as V(512M). V(0) gives the container no swap.
    type: raw
  cores:
    description:
      - Number of host cores the container may use, V(1) to V(8192). When never set, the container can use all cores.
    type: int
  cpulimit:
    description:
      - Limit of CPU time, a number from V(0) to V(8192); V(2) means two cores' worth of time, V(0) means no limit.
        A boolean is refused.
    type: raw
  cpuunits:
    description:
      - CPU weight for the kernel fair scheduler, V(0) to V(500000).
      - Proxmox clamps it when it writes the config, depending on the node's cgroup version (C(cgroup-mode) in
        C(/cluster/resources)); cgroup v2 stores at most V(10000), cgroup v1 at least V(2). The module compares
        with the value Proxmox stores, so a re-run does not change anything, and warns (see RV(normalised)).
    type: int
seealso:
  - module: pve.config.vm_resources
  - module: pve.config.guest_info
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Give container 200 1 GiB of memory, 512 MiB swap and 2 cores (auth set once with module_defaults)
  module_defaults:
    group/pve.config.pve:
      api_host: pve1.example.com
      api_user: root@pam
      api_token_id: automation
      api_token_secret: "{{ vault_pve_token_secret }}"
  pve.config.container_resources:
    vmid: 200
    memory: 1G
    swap: 512M
    cores: 2

- name: Cap a container found by name at one and a half cores and turn its swap off
  pve.config.container_resources:
    name: cache01
    cpulimit: 1.5
    swap: 0

- name: Preview a change without writing it
  pve.config.container_resources:
    vmid: 200
    node: pve1
    memory: 2048
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
vmid:
  description: ID of the guest.
  returned: always
  type: int
  sample: 200
node:
  description: Node that runs the guest.
  returned: always
  type: str
  sample: pve1
guest_type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: lxc
diff:
  description: Before and after values of exactly the config keys that change (or would change in check mode).
  returned: always
  type: dict
  sample: {"before": {"memory": 512}, "after": {"memory": "1024"}}
config:
  description:
    - The guest config after the change (pending values applied), as Proxmox writes it; predicted in check mode.
  returned: always
  type: dict
  sample: {"memory": 1024, "swap": 512, "cores": 2, "hostname": "cache01"}
pending:
  description:
    - Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {}
reboot_required:
  description: Whether RV(pending) is not empty.
  returned: always
  type: bool
  sample: false
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
  sample: set memory, cores of LXC container 200 on pve1
task:
  description: UPID of the last Proxmox task waited for.
  returned: when a task ran
  type: str
normalised:
  description:
    - Requested values that Proxmox stores differently (clamped O(cpuunits)), in words. Each is also an Ansible warning.
  returned: when a requested value is stored differently
  type: list
  elements: str
  sample: ["cpuunits 500000 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"]
"""

from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module
from ansible_collections.pve.config.plugins.module_utils.cgroup import needs_cgroup_mode, stored_cpuunits
from ansible_collections.pve.config.plugins.module_utils.resources import Resource, check_params, plan_resources

# LXC memory and swap are plain integers of MiB (no property string, unlike QEMU memory); types and ranges from
# the one table of the modules and the MCP bridge (option_ranges, generated from the schema of PUT .../config).
RESOURCES = [
    Resource("memory", "memory", "lxc", default=512),
    Resource("swap", "memory", "lxc", default=512),
    Resource("cores", "int", "lxc"),
    Resource("cpulimit", "float", "lxc", default=0.0),
    Resource("cpuunits", "int", "lxc", stored=stored_cpuunits),
]

OPTIONS = dict(
    memory=dict(type="raw"),
    swap=dict(type="raw"),
    cores=dict(type="int"),
    cpulimit=dict(type="raw"),  # a boolean must not become 1.0: checked against the table in prepare
    cpuunits=dict(type="int"),
)


def prepare(params):
    check_params(params, RESOURCES)


def plan(ctx):
    return plan_resources(ctx, RESOURCES).change()


def main():
    run_config_module(OPTIONS, "lxc", plan, prepare=prepare, node_facts=needs_cgroup_mode)


if __name__ == "__main__":
    main()
