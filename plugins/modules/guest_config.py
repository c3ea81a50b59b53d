#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: guest_config
short_description: Manage the whole configuration of a Proxmox VE VM or container declaratively
version_added: 1.1.0
description:
  - Brings the config of an existing QEMU VM or LXC container to what O(config) and O(absent) ask, comparing with
    the current config first; nothing is written when it already matches, so a re-run reports no change.
  - Any key of the guest's config can be given. A property-string key (C(net0), C(scsi0), C(rootfs), C(cpu)...)
    may be a dict of sub-keys, merged into the current value (sub-keys not mentioned are kept, unknown ones
    included; a sub-key set to V(null) is removed), or a string, compared in parsed form.
  - The change is written in steps, each with the config digest read just before it, in this order - create new
    volumes, grow volumes (one resize each), set, delete, purge, and with O(reboot=if_needed) a reboot.
    In check mode the whole plan is returned in RV(steps) with the predicted config and diff.
  - O(if_digest) applies a reviewed plan only to the config it was computed from.
  - After a change of cloud-init options that a running VM applied, the cloud-init drive is regenerated
    (C(PUT .../cloudinit)) unless the VM's C(hotplug) has C(cloudinit), which makes Proxmox do it itself. A
    stopped VM regenerates it at the next start.
  - Passwords (C(cipassword), C(password)) cannot be read back; see O(update_password). They never appear in
    the result or the diff.
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
options:
  type:
    description:
      - The type of the guest, V(qemu) for a VM or V(lxc) for a container. When given it is checked against the
        guest.
      - With O(vmid) and O(node) the guest is not looked up in C(/cluster/resources); without O(type) it is read
        as a VM first, then as a container, so a run that changes nothing costs one request for a VM (or a
        container with O(type=lxc)) and two for a container otherwise.
    type: str
    choices: [qemu, lxc]
  config:
    description:
      - Config keys and their wanted values, as in C(/nodes/{node}/qemu|lxc/{vmid}/config).
      - A value is a string, number or boolean, or for a property-string key a dict of its sub-keys.
      - A disk or mount point key (C(scsi1), C(virtio0), C(rootfs), C(mp0)...) whose dict has C(storage) and
        C(size) is created when the key is empty (a container mount point also needs C(mp), the path inside);
        a larger C(size) on an existing one grows it (one resize per volume), a smaller one is refused, as is
        another C(storage). The other sub-keys are its options (C(iothread), C(backup), C(ro)...).
      - A CD-ROM drive is a dict too, such as C(ide2) with C(file=local:iso/debian.iso) and C(media=cdrom), or the
        string V(none,media=cdrom) to eject.
      - Read-only keys (C(digest), C(lock), C(parent)...) are refused before anything is written.
    type: dict
  absent:
    description:
      - Config keys to remove. A disk or mount point removed this way is detached (its volume becomes C(unusedN)).
    type: list
    elements: str
  purge:
    description:
      - With O(absent), also destroy the volumes of the disks and mount points detached by this run (the
        C(unusedN) they became), after the detach. An C(unusedN) key in O(absent) needs O(purge), as deleting it
        destroys its volume. A detach that stays pending on a running guest destroys nothing.
    type: bool
    default: false
  update_password:
    description:
      - V(on_create) writes C(cipassword)/C(password) only when the guest has none; V(always) writes it on
        every run (then the run always reports a change, as the stored value cannot be compared).
    type: str
    default: on_create
    choices: [on_create, always]
  reboot:
    description:
      - V(if_needed) reboots a running guest through the API (C(POST .../status/reboot)) when keys are left
        pending after the change, waits until it runs again with them applied, and reports RV(rebooted).
        Never a forced stop; an HA-managed or protected guest takes the same request.
      - V(never) leaves pending keys for the next reboot (RV(reboot_required)).
    type: str
    default: never
    choices: [never, if_needed]
  reboot_timeout:
    description:
      - Seconds the managed reboot may take in all (shutdown, start, pending keys applied); Proxmox gets three
        quarters of it for the shutdown. Past it the module fails and says what state the guest was left in.
    type: int
    default: 300
  if_digest:
    description:
      - The config digest the change was planned for (RV(digest) of a check-mode run). When the guest's digest
        differs at the first read, the module fails before writing anything.
    type: str
seealso:
  - module: pve.config.guest_info
  - module: pve.config.vm_disk
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Cloud-init user, keys and network of a VM, tags and boot order
  pve.config.guest_config:
    vmid: 100
    node: pve1
    type: qemu
    config:
      ciuser: admin
      cipassword: "{{ vault_ci_password }}"
      sshkeys: "{{ lookup('ansible.builtin.file', 'id_ed25519.pub') }}"
      ipconfig0: ip=10.0.0.5/24,gw=10.0.0.1
      tags: web;prod
      boot: order=scsi0;net0
      net0:
        firewall: true

- name: More cores for a running VM, rebooted only if the change cannot be hot-plugged
  pve.config.guest_config:
    vmid: 100
    config:
      cores: 4
    reboot: if_needed
    reboot_timeout: 600

- name: Plan a change, review it, then apply exactly that plan
  pve.config.guest_config:
    name: db01
    config:
      cores: 4
      description: database server
    absent: [serial0]
  check_mode: true
  register: planned

- name: Apply the reviewed plan only if the guest did not change in between
  pve.config.guest_config:
    name: db01
    config:
      cores: 4
      description: database server
    absent: [serial0]
    if_digest: "{{ planned.digest }}"

- name: A container with a new mount point, a larger root disk, and an old mount point destroyed
  pve.config.guest_config:
    vmid: 200
    config:
      rootfs: {storage: local-lvm, size: 16G}
      mp0: {storage: local-lvm, size: 8G, mp: /srv/data, backup: true}
    absent: [mp1]
    purge: true

- name: Insert an ISO into the CD-ROM drive of a VM and add a second disk
  pve.config.guest_config:
    vmid: 100
    config:
      ide2: {file: "local:iso/debian-12.iso", media: cdrom}
      scsi1: {storage: local-lvm, size: 32G, iothread: true, discard: "on"}
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
  description: Before and after values of exactly the config keys that change (or would change in check mode); secrets masked.
  returned: always
  type: dict
  sample: {"before": {"cores": 2}, "after": {"cores": 4}}
config:
  description: The guest config after the change (pending values applied); predicted in check mode. Secrets masked.
  returned: always
  type: dict
pending:
  description: Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
reboot_required:
  description: Whether RV(pending) is not empty; in check mode whether RV(pending_predicted) is not empty.
  returned: always
  type: bool
pending_predicted:
  description:
    - Check mode, the config keys that would be left pending until a reboot once the change is written, predicted
      from the guest's state and the hot-plug rules of qemu-server and pve-container (nothing for a stopped guest).
  returned: in check mode
  type: list
  elements: str
  sample: ["cores", "serial0"]
rebooted:
  description: Whether the guest was rebooted by O(reboot=if_needed).
  returned: always
  type: bool
digest:
  description: The config digest of the first read, which the plan was computed from (pass it to O(if_digest)).
  returned: always
  type: str
  sample: 0d9f1f4b2ba9e25e0b29bd4a5a24ce3a9c5fbd2e
steps:
  description:
    - The steps of the plan, in order; in check mode the ones that would run, otherwise the ones done.
    - Each is a dict with C(action) (V(create), V(grow), V(set), V(delete), V(purge), V(reboot), V(cloudinit)) and
      C(keys).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "set", "keys": ["cores", "description"]}, {"action": "delete", "keys": ["serial0"]}]
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
destroyed_volumes:
  description: Volumes destroyed by O(purge) (volumes the guest does not own are only removed from its config).
  returned: when volumes were destroyed, or would be in check mode
  type: list
  elements: str
  sample: ["local-lvm:vm-200-disk-1"]
task:
  description: UPID of the last Proxmox task waited for.
  returned: when a task ran
  type: str
"""

from ansible_collections.pve.config.plugins.module_utils import guest_config
from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module


def lookup_kind(params):
    """The guest's type when the lookup can be skipped (``vmid`` and ``node`` given), else the lookup tells and
    the plan checks ``type`` against it. ``vmid`` and ``node`` without ``type``: tried as a VM, then as a
    container (``apply.apply_either_kind``)."""
    return params["type"] if params["vmid"] is not None and params["node"] else None


def main():
    run_config_module(
        guest_config.OPTIONS,
        lookup_kind,
        guest_config.plan,
        prepare=guest_config.check_params,
        secrets=guest_config.secrets,
        probe_kind=True,
    )


if __name__ == "__main__":
    main()
