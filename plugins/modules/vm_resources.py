#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_resources
short_description: Set memory and CPU resources of a Proxmox VE QEMU virtual machine
version_added: 1.0.0
description:
  - Sets the memory, ballooning and CPU options of an existing QEMU VM, comparing them with the current
    configuration first. Only the options given are managed; nothing is written when they already match.
  - Every write carries the config digest, so a concurrent edit is detected and the change is re-planned.
  - On a running VM, changes that cannot be hot-plugged stay pending until the next reboot; the result lists them in RV(pending).
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
options:
  memory:
    description:
      - Memory of the VM in MiB, or a size with unit such as V(4G) or V(512M). Must be a positive whole number of MiB, at least V(16).
      - A running VM whose C(hotplug) includes C(memory) (with C(numa) on) gets memory in whole DIMMs (512 MiB each
        above the first 1024 MiB, larger ones further up); Proxmox stores the DIMM boundary it reaches. The module
        compares with that boundary, so a re-run does not change anything, and warns (see RV(normalised)).
    type: raw
  balloon:
    description:
      - Minimum memory for the balloon device in MiB, or a size with unit such as V(2G); V(0) disables ballooning.
        Must not exceed O(memory).
    type: raw
  cores:
    description:
      - Number of cores per socket (V(1) or more). A boolean is refused, as for every integer option.
    type: int
  sockets:
    description:
      - Number of CPU sockets (V(1) or more).
    type: int
  vcpus:
    description:
      - Number of hot-plugged vCPUs; at most O(cores) times O(sockets).
    type: int
  cpu:
    description:
      - Emulated CPU type, such as V(host), V(x86-64-v2-AES), V(kvm64) or V(custom-NAME); the type only.
        The other CPU options of the VM (C(flags), C(hidden), C(phys-bits), C(guest-phys-bits), C(level)...)
        are kept as they are; a value with a comma or V(=) in it is refused before anything is written.
    type: str
  cpulimit:
    description:
      - Limit of CPU usage, a number from V(0) to V(128); V(0) means no limit. A boolean is refused.
    type: raw
  cpuunits:
    description:
      - CPU weight for the kernel fair scheduler, V(1) to V(262144).
      - Proxmox clamps it when it writes the config, depending on the node's cgroup version (C(cgroup-mode) in
        C(/cluster/resources)); cgroup v2 stores at most V(10000), cgroup v1 at least V(2). The module compares
        with the value Proxmox stores, so a re-run does not change anything, and warns (see RV(normalised)).
    type: int
seealso:
  - module: pve.config.container_resources
  - module: pve.config.guest_info
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Give web01 4 GiB and 4 cores (set auth once with module_defaults)
  module_defaults:
    group/pve.config.pve:
      api_host: pve1.example.com
      api_token_id: automation
      api_token_secret: "{{ vault_pve_token_secret }}"
      api_user: root@pam
  pve.config.vm_resources:
    vmid: 100
    memory: 4G
    cores: 4

- name: Pin the CPU type of a VM found by name, and disable ballooning
  pve.config.vm_resources:
    name: db01
    cpu: host
    balloon: 0
  register: result

- name: Tell when a reboot is due
  ansible.builtin.debug:
    msg: "Reboot needed for {{ result.pending | list | join(', ') }}"
  when: result.reboot_required
"""

RETURN = r"""
vmid:
  description: ID of the guest.
  returned: always
  type: int
  sample: 100
node:
  description: Node that runs the guest.
  returned: always
  type: str
  sample: pve1
guest_type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: qemu
diff:
  description: Before and after values of exactly the config keys that change (or would change in check mode).
  returned: always
  type: dict
  sample: {"before": {"memory": "2048"}, "after": {"memory": "4096"}}
config:
  description: The guest config after the change (pending values applied), as Proxmox writes it; predicted in check mode.
  returned: always
  type: dict
  sample: {"memory": "4096", "cores": 4, "sockets": 1}
pending:
  description: Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {"memory": "4096"}
reboot_required:
  description: Whether RV(pending) is not empty.
  returned: always
  type: bool
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
  sample: set memory, cores of QEMU VM 100 on pve1 (pending until reboot, memory, cores)
task:
  description: UPID of the last Proxmox task waited for.
  returned: when a task ran
  type: str
normalised:
  description:
    - Requested values that Proxmox stores differently (clamped O(cpuunits), DIMM-aligned O(memory)), in words.
      Each is also an Ansible warning.
  returned: when a requested value is stored differently
  type: list
  elements: str
  sample: ["cpuunits 262144 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"]
"""

from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module
from ansible_collections.pve.config.plugins.module_utils.cgroup import needs_cgroup_mode, stored_cpuunits
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.memory_hotplug import stored_memory
from ansible_collections.pve.config.plugins.module_utils.resources import (
    Resource,
    check_params,
    effective,
    plan_resources,
)

# The CPU type alone (the default key ``cputype`` of qemu-server's pve-vm-cpu-conf, CPUConfig.pm): built-in
# QEMU models, x86-64-vN levels, ``custom-NAME``. A comma or ``=`` would add or replace other CPU options.
CPU_TYPE = r"[A-Za-z0-9][A-Za-z0-9_.-]*"

# Types and ranges from the one table of the modules and the MCP bridge (option_ranges, generated from the schema).
RESOURCES = [
    Resource("memory", "memory", "qemu", default=512, fmt="qemu_memory", stored=stored_memory),
    Resource("balloon", "memory", "qemu"),
    Resource("cores", "int", "qemu", default=1),
    Resource("sockets", "int", "qemu", default=1),
    Resource("vcpus", "int", "qemu"),
    Resource(
        "cpu",
        "str",
        "qemu",
        default="kvm64",
        fmt="qemu_cpu",
        pattern=CPU_TYPE,
        what="only the CPU type, such as host, x86-64-v2-AES or custom-NAME (its flags and other CPU options "
        "are kept as they are)",
    ),
    Resource("cpulimit", "float", "qemu", default=0.0),
    Resource("cpuunits", "int", "qemu", stored=stored_cpuunits),
]
BY_KEY = {res.key: res for res in RESOURCES}

OPTIONS = dict(
    memory=dict(type="raw"),
    balloon=dict(type="raw"),
    cores=dict(type="int"),
    sockets=dict(type="int"),
    vcpus=dict(type="int"),
    cpu=dict(type="str"),
    cpulimit=dict(type="raw"),  # a boolean must not become 1.0: checked against the table in prepare
    cpuunits=dict(type="int"),
)


def prepare(params):
    check_params(params, RESOURCES)


def plan(ctx):
    planned = plan_resources(ctx, RESOURCES)
    to_set = planned.set
    if to_set:
        memory = effective(ctx.config, to_set, BY_KEY["memory"])
        balloon = ctx.config.get("balloon") if "balloon" not in to_set else to_set["balloon"]
        # update_vm_api (qemu-server src/PVE/API2/Qemu.pm) checks this only when memory or balloon is written
        if ("memory" in to_set or "balloon" in to_set) and balloon is not None and int(balloon) > memory:
            raise InvalidRequest(
                "balloon %s MiB is larger than memory %d MiB of VM %d" % (balloon, memory, ctx.guest.vmid)
            )
        vcpus = ctx.config.get("vcpus") if "vcpus" not in to_set else to_set["vcpus"]
        if vcpus is not None:
            slots = effective(ctx.config, to_set, BY_KEY["cores"]) * effective(ctx.config, to_set, BY_KEY["sockets"])
            if int(vcpus) > slots:
                raise InvalidRequest(
                    "vcpus %s is more than cores x sockets = %d of VM %d" % (vcpus, slots, ctx.guest.vmid)
                )
    return planned.change()


def main():
    run_config_module(OPTIONS, "qemu", plan, prepare=prepare, node_facts=needs_cgroup_mode)


if __name__ == "__main__":
    main()
