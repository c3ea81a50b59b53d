#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_config
short_description: Configure many Proxmox VE VMs and containers in one task, concurrently
version_added: 1.1.0
description:
  - Brings the config of many guests to what O(config) and O(absent) ask, in one module run. The guests are chosen
    from one C(GET /cluster/resources?type=vm), then each is changed exactly as P(pve.config.guest_config#module)
    changes one guest (same plan, same requests, its own digest, lock wait, task wait and retries).
  - Choose the guests by O(select) (tags, pools, nodes, types, names, vmids; one O(config)/O(absent) for all) or
    list them in O(guests), each with its own config.
  - Guests are changed concurrently over one HTTP session, at most O(parallel) at once and O(per_node) on one
    node.
  - A guest that fails does not stop the others, and no guest is left half-way because another failed. Every
    guest is run to its end, then the task fails if more than O(max_fail_percentage) percent of them failed.
  - Input that is wrong for any chosen guest (an unknown or read-only key, a key both in O(config) and in
    O(absent)) fails the task before anything is written.
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest.wait
  - pve.config.attributes
options:
  select:
    description:
      - Choose the guests that match every filter given (a guest matches a filter when one of its values is
        listed). Templates are never chosen. At least one filter is required; to choose every guest, give
        C(types) with both types.
      - Mutually exclusive with O(guests); needs O(config) or O(absent).
    type: dict
    suboptions:
      tags:
        description: The guest has one of these tags.
        type: list
        elements: str
      pools:
        description: The guest is in one of these pools.
        type: list
        elements: str
      nodes:
        description: The guest runs on one of these nodes.
        type: list
        elements: str
      types:
        description: The guest is of one of these types.
        type: list
        elements: str
        choices: [qemu, lxc]
      names:
        description: The guest has one of these names (as C(/cluster/resources) shows them).
        type: list
        elements: str
      vmids:
        description: The guest has one of these IDs.
        type: list
        elements: int
  guests:
    description:
      - The guests, each with its own change. Each entry has O(guests[].vmid) or O(guests[].name), and
        O(guests[].config) and/or O(guests[].absent).
      - A vmid or name that no guest has makes that guest fail (nothing is sent for it); the other guests run.
        A guest listed twice fails the task before anything is written.
      - Mutually exclusive with O(select), O(config) and O(absent).
    type: list
    elements: dict
    suboptions:
      vmid:
        description: ID of the guest.
        type: int
      name:
        description:
          - Name of the guest; it must match exactly one guest, as the O(pve.config.guest_config#module:name) of
            guest_config.
        type: str
      config:
        description: Config keys and their wanted values, as O(pve.config.guest_config#module:config).
        type: dict
      absent:
        description: Config keys to remove, as O(pve.config.guest_config#module:absent).
        type: list
        elements: str
      if_digest:
        description:
          - As O(pve.config.guest_config#module:if_digest), for this guest; the RV(guests[].digest) of a check-mode
            run. A guest whose config digest differs at its first read fails (nothing is written to it); the other
            guests run.
        type: str
  config:
    description:
      - Config keys and their wanted values for every guest of O(select), exactly as
        O(pve.config.guest_config#module:config).
    type: dict
  absent:
    description: Config keys to remove from every guest of O(select), as O(pve.config.guest_config#module:absent).
    type: list
    elements: str
  purge:
    description:
      - As O(pve.config.guest_config#module:purge), for every guest (also those of O(guests)). The volumes of the
        disks and mount points that O(absent) or O(guests[].absent) detach are destroyed, after the detach.
    type: bool
    default: false
  update_password:
    description: As O(pve.config.guest_config#module:update_password), for every guest.
    type: str
    default: on_create
    choices: [on_create, always]
  reboot:
    description:
      - As O(pve.config.guest_config#module:reboot), for every guest. V(if_needed) reboots each running guest that
        has keys left pending, through the API, never forced, and waits until it runs again with them applied.
      - At most O(per_node) guests of one node (and O(parallel) in all) are changed, and so rebooted, at once.
    type: str
    default: never
    choices: [never, if_needed]
  reboot_timeout:
    description: As O(pve.config.guest_config#module:reboot_timeout), for each guest's reboot.
    type: int
    default: 300
  parallel:
    description:
      - How many guests are changed at once (1 to 100). The HTTP session keeps that many connections open.
      - Each guest has one request in flight at a time, so this is also the number of API requests in flight. All
        of them reach the C(pveproxy) of O(api_host), whose 3 workers accept up to 500 connections each.
    type: int
    default: 10
  per_node:
    description:
      - How many guests of one node are changed at once (1 or more), so that one node's C(pveproxy) and
        C(pvedaemon) (3 workers each by default) and its storage are not flooded. Guests of other nodes go first
        while a node is at its limit.
      - With O(reboot=if_needed) this is also how many guests of a node may reboot at once; lower it for guests
        whose start loads the node.
    type: int
    default: 5
  max_fail_percentage:
    description:
      - The task fails when more than this percentage of the guests failed (after every guest was run). V(0)
        fails it on any failed guest; failed guests within the percentage are reported as a warning.
    type: float
    default: 0
notes:
  - "Progress: Ansible shows a module's output only when it ends (its standard error is dropped when the result
    is valid JSON), so there is no live count. The result's RV(progress) (guests, changed, failed, seconds, guests
    per second) is shown with the task result at C(-v), and RV(msg) sums it up in one line."
  - "A caller that wants a live count (the MCP bridge) creates an empty file in a private directory and names it in
    the environment variable C(PVE_CONFIG_PROGRESS_FILE): the module appends one JSON line of counts (done, total,
    failed, changed) when the guests are chosen and as each guest ends. Without the variable nothing is written."
  - With C(--diff), each changed guest's before and after are shown under its own header.
seealso:
  - module: pve.config.guest_config
  - name: Fleets
    description: Inventory, fleet_config playbooks, the drift report, AWX and Automation Platform.
    link: https://github.com/pve-config/pve.config/blob/main/docs/fleets.md
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: 4 GiB and 2 cores for every web guest, ten at a time
  pve.config.fleet_config:
    select:
      tags: [web]
    config:
      memory: 4096
      cores: 2

- name: Per-guest settings, tolerating one guest in ten failing
  pve.config.fleet_config:
    guests:
      - vmid: 101
        config: {description: primary database}
      - name: db02
        config: {description: replica}
        absent: [serial0]
    max_fail_percentage: 10

- name: Drift of every running container of two nodes, without changing anything
  pve.config.fleet_config:
    select:
      types: [lxc]
      nodes: [pve1, pve2]
    config:
      swap: 512
  check_mode: true
  diff: true
  register: drift
"""

RETURN = r"""
guests:
  description:
    - One entry per guest, in the order the guests were chosen (vmid order for O(select), the list's order for
      O(guests)), with the keys of a P(pve.config.guest_config#module) result except C(config).
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: ID of the guest.
      type: int
    node:
      description: Node of the guest (V(null) for an entry no guest answered to).
      type: str
    name:
      description: Name of the guest as C(/cluster/resources) shows it.
      type: str
    guest_type:
      description: V(qemu) or V(lxc).
      type: str
    changed:
      description: Whether the guest was changed (would be, in check mode).
      type: bool
    failed:
      description: Whether this guest failed.
      type: bool
    msg:
      description: What was done, or the error and what it left (RV(guests[].changed) says whether it changed anything).
      type: str
    diff:
      description: Before and after of the config keys that change; secrets masked.
      type: dict
    pending:
      description: Keys that take effect only after a reboot, with their new value.
      type: dict
    reboot_required:
      description: Whether RV(guests[].pending) is not empty.
      type: bool
    digest:
      description: The config digest the guest's plan was computed from.
      type: str
    steps:
      description: The steps done (predicted in check mode), as RV(pve.config.guest_config#module:steps).
      type: list
      elements: dict
    rebooted:
      description: Whether the guest was rebooted (O(reboot=if_needed)).
      type: bool
    pending_predicted:
      description: In check mode, the keys predicted to stay pending until a reboot.
      type: list
      elements: str
  sample:
    - {vmid: 100, node: pve1, name: web01, guest_type: qemu, changed: true, failed: false,
       msg: "set memory of QEMU VM 100 on pve1", diff: {before: {memory: "2048"}, after: {memory: "4096"}},
       pending: {}, reboot_required: false, digest: 4f1e..., steps: [{action: set, keys: [memory]}]}
progress:
  description: Counts and speed of the run.
  returned: always
  type: dict
  contains:
    guests:
      description: Guests chosen.
      type: int
    changed:
      description: Guests changed (would be, in check mode).
      type: int
    unchanged:
      description: Guests already as requested.
      type: int
    failed:
      description: Guests that failed.
      type: int
    seconds:
      description: Wall time of the module run.
      type: float
    guests_per_second:
      description: Guests per second (V(null) for an empty selection).
      type: float
  sample: {guests: 200, changed: 200, unchanged: 0, failed: 0, seconds: 4.2, guests_per_second: 47.6}
diff:
  description: With C(--diff), one before/after per changed guest, headed by the guest, for Ansible to show.
  returned: in diff mode
  type: list
  elements: dict
msg:
  description: The run in one line (guests, time, rate, changed, unchanged, failed with their first errors).
  returned: always
  type: str
  sample: "200 guests in 4.2s (47.6 guests/s): 200 changed, 0 already as requested"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pve.config.plugins.module_utils import fleet, fleet_progress, guest_config
from ansible_collections.pve.config.plugins.module_utils.apply import GUEST_ARGSPEC
from ansible_collections.pve.config.plugins.module_utils.client import (
    AUTH_ARGSPEC,
    AUTH_REQUIRED_ONE_OF,
    AUTH_REQUIRED_TOGETHER,
    check_dependencies,
    connect,
)
from ansible_collections.pve.config.plugins.module_utils.errors import PveError
from ansible_collections.pve.config.plugins.module_utils.outcome import tell

SELECT = {key: dict(type="list", elements="str") for key in fleet.SELECT_KEYS}
SELECT.update(types=dict(type="list", elements="str", choices=["qemu", "lxc"]), vmids=dict(type="list", elements="int"))
ENTRY = dict(
    vmid=dict(type="int"),
    name=dict(type="str"),
    config=dict(guest_config.OPTIONS["config"]),
    absent=dict(guest_config.OPTIONS["absent"]),
    if_digest=dict(guest_config.OPTIONS["if_digest"]),
)
SHARED = (
    "config",
    "absent",
    "purge",
    "update_password",
    "reboot",
    "reboot_timeout",
)  # guest_config's options that fleet_config passes on as they are
OPTIONS = dict(
    select=dict(type="dict", options=SELECT),
    guests=dict(type="list", elements="dict", options=ENTRY),
    parallel=dict(type="int", default=fleet.PARALLEL),
    per_node=dict(type="int", default=fleet.PER_NODE),
    max_fail_percentage=dict(type="float", default=0),
)
OPTIONS.update({name: dict(guest_config.OPTIONS[name]) for name in SHARED})


def check_guest_input(kind, params):
    """guest_config's own checks of one guest's params, before any write (``fleet.apply_fleet`` ``check``)."""
    guest_config.check_params(params)
    guest_config.check_keys(kind, params["config"], params["absent"])


def main():
    spec = dict(AUTH_ARGSPEC)
    spec.update({name: GUEST_ARGSPEC[name] for name in ("lock_timeout", "task_timeout")})
    spec.update(OPTIONS)
    module = AnsibleModule(
        argument_spec=spec,
        supports_check_mode=True,
        required_together=AUTH_REQUIRED_TOGETHER,
        required_one_of=[("guests", "select")] + AUTH_REQUIRED_ONE_OF,
        mutually_exclusive=[("guests", "select"), ("guests", "config"), ("guests", "absent")],
    )
    check_dependencies(module)
    params = module.params
    entries = [dict(params)] + list(params["guests"] or [])
    module.no_log_values.update(value for entry in entries for value in guest_config.secrets(entry) if value)
    progress = fleet_progress.progress_channel()
    try:
        fleet.check_limits(params)
        api = connect(params).keep_connections(params["parallel"])
        summary, results = fleet.apply_fleet(
            api, params, guest_config.plan, check_mode=module.check_mode, check=check_guest_input, progress=progress
        )
    except PveError as exc:
        tell(exc, [])
        module.fail_json(msg=exc.msg, **exc.details)
    finally:
        if progress is not None:
            progress.close()
    result = dict(changed=bool(summary.changed), guests=results, progress=summary.progress(), msg=summary.msg())
    if module._diff:
        result["diff"] = fleet.ansible_diff(results)
    if summary.fails_task:
        module.fail_json(**result)
    if summary.failed:
        module.warn(result["msg"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
