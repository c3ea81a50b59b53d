#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guest_info
short_description: Read the configuration, disks and NICs of a Proxmox VE VM or container, or list the guests
version_added: 1.0.0
description:
  - Reads one QEMU VM or LXC container, found by O(vmid) or O(name), and returns its type, status, configuration
    (with pending values applied, and separately the values in effect now and the pending ones), config digest,
    lock, and its disks and network interfaces parsed into dictionaries.
  - Without O(vmid) and O(name), lists the guests of the cluster instead (RV(guests)) from one
    C(GET /cluster/resources?type=vm), only those on O(node) when it is given.
  - Also returns RV(desired), the O(pve.config.guest_config#module:config) that reproduces the guest as it is, to
    bring an existing guest under management.
  - Never changes anything, also not in check mode.
  - "API calls: without O(node), one C(GET /cluster/resources?type=vm) (type, node, status, lock) and one
    C(GET /nodes/{node}/{type}/{vmid}/pending) (config, pending values, digest). With O(node) and O(vmid), the
    lookup is replaced by C(GET /nodes/{node}/qemu/{vmid}/status/current), followed by the same call for C(lxc)
    when the guest is not a VM. Servers whose C(/pending) answer has no digest item cost one more
    C(GET .../config)."
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.attributes.info_module
options:
  vmid:
    description:
      - ID of the guest to read (100 to 999999999).
      - Without O(vmid) and O(name), the module lists the cluster's guests (RV(guests)) and reads no config.
    type: int
  node:
    description:
      - Node that runs the guest. When omitted, it is found with one call to C(/cluster/resources).
      - Giving O(node) together with O(vmid) saves that call.
      - When listing (no O(vmid), no O(name)), only the guests on this node are returned.
      - Must be a Proxmox node name (ASCII letters, digits and V(-), starting and ending with a letter or digit);
        anything else fails before any request is sent.
    type: str
  lock_timeout:
    description:
      - Not used; guest_info reads a locked guest without waiting. Accepted so that one
        C(module_defaults) entry for C(group/pve.config.pve) can set it for every module of the collection.
    type: int
  task_timeout:
    description:
      - Not used; guest_info starts no task. Accepted for the same reason as O(lock_timeout).
    type: int
seealso:
  - module: pve.config.guest_config
  - module: pve.config.vm_resources
  - module: pve.config.container_resources
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read VM 100 (auth set once with module_defaults)
  module_defaults:
    group/pve.config.pve:
      api_host: pve1.example.com
      api_user: root@pam
      api_token_id: automation
      api_token_secret: "{{ vault_pve_token_secret }}"
  pve.config.guest_info:
    vmid: 100
  register: vm

- name: Show the size of each disk
  ansible.builtin.debug:
    msg: "{{ item.key }} holds {{ item.value.file }}, {{ item.value.size_bytes | default('no size') }} bytes"
  loop: "{{ vm.disks | dict2items }}"
  when: item.value.media | default('disk') != 'cdrom'

- name: Show the MAC address of the first NIC
  ansible.builtin.debug:
    msg: "{{ vm.nics.net0.macaddr }} on {{ vm.nics.net0.bridge }}"

- name: Keep VM 100 as it is now, from a desired state taken once from guest_info (paste it into host_vars)
  pve.config.guest_config:
    vmid: 100
    type: "{{ vm.desired.type }}"
    config: "{{ vm.desired.config }}"

- name: List the cluster's guests (one request), then the running ones in pool lab
  pve.config.guest_info:
  register: cluster

- name: Show the running guests of pool lab
  ansible.builtin.debug:
    msg: "{{ cluster.guests | selectattr('pool', 'eq', 'lab') | selectattr('status', 'eq', 'running') | map(attribute='vmid') }}"

- name: Read a container by name and fail when it waits for a reboot
  pve.config.guest_info:
    name: cache01
  register: ct
  failed_when: ct.pending | length > 0
"""

RETURN = r"""
guests:
  description:
    - The guests of the cluster (on O(node) when given), templates included, in VMID order, from one
      C(GET /cluster/resources?type=vm).
    - C(name) and C(status) are as the Proxmox status daemon last reported them (no C(name) and status
      V(unknown) for a guest it has not seen yet, the old name right after a rename); C(tags), C(lock) and C(pool)
      are current. C(pool) is shown only to a user with C(Pool.Audit) on the pool.
    - Each guest has C(vmid), C(name), C(node), C(type) (V(qemu) or V(lxc)), C(status), C(tags) (a list),
      C(pool), C(lock) and C(template) (a boolean); C(name), C(pool) and C(lock) are V(null) when not set.
  returned: when neither O(vmid) nor O(name) is given (and then none of the other keys but C(changed))
  type: list
  elements: dict
  version_added: 1.1.0
  sample:
    - {"vmid": 100, "name": "web01", "node": "pve1", "type": "qemu", "status": "running", "tags": ["web"],
       "pool": "lab", "lock": null, "template": false}
found:
  description:
    - V(false) when no guest matches O(vmid) or O(name) (the module fails with a message saying so), so that a
      caller can tell a missing guest from other failures.
  returned: when the module fails because the guest does not exist
  type: bool
  version_added: 1.1.0
  sample: false
vmid:
  description: ID of the guest.
  returned: when a guest is read
  type: int
  sample: 100
node:
  description: Node that runs the guest.
  returned: when a guest is read
  type: str
  sample: pve1
guest_type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: when a guest is read
  type: str
  sample: qemu
status:
  description: Run state of the guest, such as V(running) or V(stopped).
  returned: when a guest is read
  type: str
  sample: running
name:
  description: Name of the VM (its C(name)) or host name of the container (its C(hostname)).
  returned: when the guest has one
  type: str
  sample: web01
config:
  description: The configuration with pending values applied and pending removals left out, as Proxmox writes it.
  returned: when a guest is read
  type: dict
  sample: {"memory": "4096", "cores": 2, "scsi0": "local-lvm:vm-100-disk-0,size=32G"}
current:
  description: The configuration values in effect now (before pending changes are applied).
  returned: when a guest is read
  type: dict
  sample: {"memory": "2048", "cores": 2, "scsi0": "local-lvm:vm-100-disk-0,size=32G"}
pending:
  description:
    - Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: when a guest is read
  type: dict
  sample: {"memory": "4096"}
digest:
  description: SHA1 digest of the configuration, as Proxmox checks it on writes.
  returned: when a guest is read
  type: str
  sample: 3f7c2a8e0d9b1c4a5e6f7a8b9c0d1e2f3a4b5c6d
pool:
  description:
    - The resource pool the guest is a member of (the C(pool) of its C(/cluster/resources) row), which Proxmox
      shows only to a user with C(Pool.Audit) on that pool.
    - Not read when O(node) and O(vmid) are both given (that lookup skips C(/cluster/resources)).
  returned: when the guest is in a pool
  type: str
  sample: lab
lock:
  description: Name of the config lock the guest holds (such as V(backup) or V(migrate)).
  returned: when the guest is locked
  type: str
  sample: backup
disks:
  description:
    - Each disk slot of the config (with pending values applied) as a dictionary of its property-string keys.
    - For a VM the slots C(ideN), C(sataN), C(scsiN), C(virtioN), C(efidisk0), C(tpmstate0) and C(unusedN);
      the volume is under C(file). For a container C(rootfs), C(mpN) and C(unusedN); the volume is under C(volume).
    - A disk with a C(size) also has C(size_bytes), its size in bytes.
    - Keys that a newer Proxmox VE writes and this collection does not know yet are included with their text.
  returned: when a guest is read
  type: dict
  sample:
    scsi0: {"file": "local-lvm:vm-100-disk-0", "iothread": "1", "size": "32G", "size_bytes": 34359738368}
    ide2: {"file": "none", "media": "cdrom"}
desired:
  description:
    - The guest as a desired state for M(pve.config.guest_config), computed from the same read (no extra request).
    - C(type) is RV(guest_type); C(config) holds the config with pending values applied, such that
      C(guest_config) with it reports no change. Left out are read-only and internal keys (C(digest), C(lock),
      C(meta), C(parent), C(vmstate), C(unprivileged)...), C(unusedN), keys this collection does not know yet,
      and the write-only C(cipassword)/C(password).
    - A disk or mount point on a storage is C({storage, size, <its options>}) (the form that creates it on a guest
      without it); its volume name is left out. A CD-ROM drive, a bind or device mount or a pass-through disk
      keeps its C(file)/C(volume) and has no C(size). A NIC is a dictionary of its sub-keys, the MAC included.
      Other keys are as Proxmox stores them.
  returned: when a guest is read
  version_added: 1.1.0
  type: dict
  sample:
    type: qemu
    config:
      name: web01
      memory: "2048"
      scsi0: {"storage": "local-lvm", "size": "32G", "iothread": "1"}
      ide2: {"file": "none", "media": "cdrom"}
      net0: {"model": "virtio", "macaddr": "BC:24:11:00:01:00", "bridge": "vmbr0", "firewall": "1"}
nics:
  description:
    - Each network interface C(netN) of the config as a dictionary of its property-string keys.
    - For a VM C(model) and C(macaddr) (Proxmox's V(virtio=BC:24:...) form is split into both), C(bridge), C(tag)...;
      for a container C(name), C(hwaddr), C(bridge), C(ip)... Keys a newer Proxmox VE writes (such as
      C(host-tunnel)) are included with their text.
  returned: when a guest is read
  type: dict
  sample:
    net0: {"model": "virtio", "macaddr": "BC:24:11:00:01:00", "bridge": "vmbr0", "firewall": "1"}
"""

from ansible_collections.pve.config.plugins.module_utils import guest_view
from ansible_collections.pve.config.plugins.module_utils.apply import build_module
from ansible_collections.pve.config.plugins.module_utils.client import connect
from ansible_collections.pve.config.plugins.module_utils.cluster_guests import cluster_guests
from ansible_collections.pve.config.plugins.module_utils.desired_config import desired_config
from ansible_collections.pve.config.plugins.module_utils.errors import GuestNotFound, PveError
from ansible_collections.pve.config.plugins.module_utils.guest import (
    Guest,
    check_selection,
    locate,
    read_resources,
    read_state,
)

# The shared auth and guest options (build_module); the wait options are accepted (and ignored, so without the
# changing modules' defaults) so group module_defaults shared with those modules work here too.
OPTIONS = dict(
    lock_timeout=dict(type="int"),
    task_timeout=dict(type="int"),
)
NAME_KEYS = {"qemu": "name", "lxc": "hostname"}


def find_on_node(api, node, vmid):
    """Type and status of ``vmid`` on ``node`` without the cluster-wide lookup: the VM status, else the CT status."""
    for kind in ("qemu", "lxc"):
        try:
            status = api.get("nodes/%s/%s/%d/status/current" % (node, kind, vmid)) or {}
        except GuestNotFound:
            continue
        return Guest(vmid, node, kind, name=status.get("name"), status=status.get("status"), lock=status.get("lock"))
    raise GuestNotFound("no guest with vmid %d on node %s (neither a QEMU VM nor a LXC container)" % (vmid, node))


def gather(api, vmid=None, name=None, node=None):
    """Everything guest_info returns, from two (at most three) GETs."""
    if vmid is not None and node:
        guest = find_on_node(api, node, vmid)
    else:
        guest = locate(api, None, vmid=vmid, name=name, node=node)
    state = read_state(api, guest)
    result = dict(
        changed=False,
        vmid=guest.vmid,
        node=guest.node,
        guest_type=guest.kind,
        status=guest.status,
        config=state.config,
        current=state.current,
        pending=state.pending,
        digest=state.digest,
        disks=guest_view.disks(state.config, guest.kind),
        nics=guest_view.nics(state.config, guest.kind),
        desired=dict(type=guest.kind, config=desired_config(guest.kind, state.config)),
    )
    guest_name = state.config.get(NAME_KEYS[guest.kind]) or guest.name
    if guest_name:
        result["name"] = guest_name
    if guest.pool:
        result["pool"] = guest.pool
    lock = state.current.get("lock") or state.config.get("lock") or guest.lock
    if lock:
        result["lock"] = lock
    return result


def list_guests(api, node=None):
    """The cluster's guests (on ``node`` when given), templates included, from one ``GET /cluster/resources``."""
    guests = cluster_guests(read_resources(api), include_templates=True)
    return dict(changed=False, guests=[guest for guest in guests if node is None or guest["node"] == node])


def main():
    # Without vmid and name the module lists the guests, so neither is required (build_module requires one).
    module = build_module(OPTIONS, guest_required=False)
    params = module.params
    try:
        check_selection(params)
        api = connect(params)
        if params["vmid"] is None and params["name"] is None:
            result = list_guests(api, params["node"])
        else:
            result = gather(api, vmid=params["vmid"], name=params["name"], node=params["node"])
    except GuestNotFound as exc:
        module.fail_json(msg=exc.msg, found=False, **exc.details)
    except PveError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
