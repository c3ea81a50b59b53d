#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_disk
short_description: Add, grow, tune, detach or destroy a disk of a Proxmox VE QEMU virtual machine
version_added: 1.0.0
description:
  - With O(state=present), makes sure a disk exists in a slot of an existing QEMU VM. An empty slot gets a new
    volume of O(size) on O(storage); a slot that already holds a disk is compared with the options given and
    updated only where it differs (or, with O(if_exists=fail), refused). Options that are not given are kept
    as they are.
  - A larger O(size) grows the disk (the volume is resized); a smaller one is an error, disks never shrink.
    Sizes are compared with the disk in effect, not with a value pending until a reboot, because Proxmox
    resizes the disk in effect.
  - New disks and grows are asked in whole MiB (rounded up). A storage may allocate more than asked (LVM
    rounds up to its 4 MiB extents); a disk that is larger than O(size) only by such rounding counts as
    large enough (RV(size_rounded)), so a re-run is no change and never a shrink error.
  - With O(state=absent), detaches the disk; its volume stays on the storage as an unused disk (C(unusedN)).
    With O(purge=true) the volume is destroyed as well. O(disk=unusedN) with O(state=absent) and
    O(purge=true) destroys an unused volume, such as one that a failed purge left behind.
  - Every write carries the config digest, so a concurrent edit is detected and the change is re-planned.
    Creating and resizing volumes run as Proxmox tasks, which are waited for (O(task_timeout)).
  - Storage, slot and size are checked before anything is written, also in check mode.
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
options:
  state:
    description:
      - V(present) creates the disk or updates it; V(absent) detaches it.
    type: str
    choices: [present, absent]
    default: present
  disk:
    description:
      - Slot of the disk, such as V(scsi1), V(virtio0), V(sata2) or V(ide1). Slots are V(ide0) to V(ide3),
        V(sata0) to V(sata5), V(scsi0) to V(scsi30) and V(virtio0) to V(virtio15).
      - Required with O(state=absent). With O(state=present) it may be omitted to add a new disk in the
        first free slot of O(bus); each such run adds another disk.
      - With O(state=absent) and O(purge=true) it may also be an unused volume (V(unused0) to V(unused255)),
        which is then destroyed.
      - A slot that holds a CD-ROM drive or a passed-through host device is refused.
    type: str
  bus:
    description:
      - Bus of the disk. Taken from O(disk) when that is given; giving both with different buses is an error.
      - Defaults to V(scsi) when O(disk) is not given.
    type: str
    choices: [scsi, sata, virtio, ide]
  storage:
    description:
      - Storage for a new volume, such as V(local-lvm). Required when the slot is empty. It must exist on the
        node, be enabled and allow the content type C(images).
      - For an existing disk, a different storage is an error (this module does not move disks).
    type: str
  size:
    description:
      - Size of the disk, such as V(32G), V(512M), V(1T), or a number of GiB.
      - Required when the slot is empty. For an existing disk, a larger size grows it; a smaller size is an error.
      - A new disk or a grow is asked in whole MiB, rounded up (RV(size_rounded)).
    type: raw
  if_exists:
    description:
      - What to do when O(disk) already holds something, with O(state=present).
      - V(update) compares the disk with the options given and grows or changes it where it differs.
      - V(fail) creates disks only; an occupied slot (a disk, a CD-ROM drive, a removal still pending) is
        refused before anything is written, so an existing disk is never grown or changed.
    type: str
    choices: [update, fail]
    default: update
  cache:
    description:
      - Cache mode of the drive. Proxmox uses V(none) when it is not set.
    type: str
    choices: [none, writethrough, writeback, unsafe, directsync]
  discard:
    description:
      - Pass discard/TRIM requests to the storage (C(discard=on)); V(false) writes C(discard=ignore).
    type: bool
  iothread:
    description:
      - Use a dedicated I/O thread for the drive. Only for the V(scsi) and V(virtio) buses (for SCSI it takes
        effect with the C(virtio-scsi-single) controller).
    type: bool
  ssd:
    description:
      - Present the drive to the guest as an SSD rather than a rotational disk. Not available on V(virtio).
    type: bool
  backup:
    description:
      - Include the disk in backups. Proxmox includes disks when it is not set.
    type: bool
  format:
    description:
      - Data format of a new volume on file-based storages. For an existing disk only compared; a different
        format is an error (converting needs a disk move).
    type: str
    choices: [raw, qcow2, vmdk]
  purge:
    description:
      - With O(state=absent), also destroy the volume after detaching it. Its data is lost.
      - If the destroy fails after the detach (for example a snapshot still uses the volume), the error names
        the C(unusedN) entry the volume was left as (RV(unused)); run again with that O(disk) to destroy it.
      - When the VM runs and the removal stays pending until a reboot, the volume is not destroyed;
        run the task again after the reboot.
    type: bool
    default: false
attributes:
  idempotent:
    support: partial
    details: Without O(disk), every run with O(state=present) adds a new disk in the next free slot.
      With O(disk) given, a repeated run changes nothing.
notes:
  - Options not given are never reset, including the ones this module does not manage (C(aio), bandwidth
    limits, C(serial)...).
  - Giving O(disk) is recommended for idempotent playbooks; the RV(disk) result tells which slot was used.
seealso:
  - module: pve.config.guest_info
  - module: pve.config.vm_resources
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Add a 32 GiB data disk with discard and an I/O thread in scsi1
  pve.config.vm_disk:
    api_host: pve1.example.com
    api_token_id: automation
    api_token_secret: "{{ vault_pve_token_secret }}"
    vmid: 100
    disk: scsi1
    storage: local-lvm
    size: 32G
    discard: true
    iothread: true
    ssd: true

- name: Add a disk in the first free virtio slot (not idempotent; register the slot)
  pve.config.vm_disk:
    name: db01
    bus: virtio
    storage: local-lvm
    size: 100
  register: new_disk

- name: Grow that disk to 200 GiB and turn off its backup
  pve.config.vm_disk:
    name: db01
    disk: "{{ new_disk.disk }}"
    size: 200G
    backup: false

- name: Detach scsi1; the volume stays as an unused disk
  pve.config.vm_disk:
    vmid: 100
    disk: scsi1
    state: absent

- name: Detach scsi2 and destroy its volume
  pve.config.vm_disk:
    vmid: 100
    disk: scsi2
    state: absent
    purge: true

- name: Add a disk in scsi3 only if that slot is free (never touches a disk already there)
  pve.config.vm_disk:
    vmid: 100
    disk: scsi3
    storage: local-lvm
    size: 16G
    if_exists: fail

- name: Destroy the volume left behind as unused0
  pve.config.vm_disk:
    vmid: 100
    disk: unused0
    state: absent
    purge: true
"""

RETURN = r"""
disk:
  description: Slot of the disk (picked by the module when O(disk) was not given).
  returned: success
  type: str
  sample: scsi1
volume:
  description:
    - Volume ID of the disk, as read from the config after the change. Not known in check mode for a disk
      that would be created.
    - With O(state=absent), the volume that was (or would be) detached.
  returned: when the slot holds or held a disk
  type: str
  sample: local-lvm:vm-100-disk-1
size:
  description: Size of the disk as Proxmox records it (its C(size=)).
  returned: with O(state=present)
  type: str
  sample: 32G
size_rounded:
  description:
    - V(true) when the disk is larger than O(size) asked only by rounding - to whole MiB by this module, to
      a storage's allocation unit (at most 4 MiB, an LVM extent), or a volume the storage already made larger
      than its recorded size.
  returned: when the disk is larger than asked
  type: bool
  sample: true
unused:
  description:
    - On a failed destroy, the C(unusedN) entry the volume was left as (a string), with RV(volume).
    - With O(purge=true) on an empty O(disk), the VM's unused volumes (C(unusedN) -> volume ID), one of
      which may be left from an earlier detach; name it as O(disk) to destroy it.
  returned: on a failed destroy; with O(purge=true) when O(disk) is empty and the VM has unused volumes
  type: raw
  sample: unused0
destroyed_volume:
  description: Volume ID destroyed by O(purge=true) (or that would be, in check mode).
  returned: when a volume was or would be destroyed
  type: str
  sample: local-lvm:vm-100-disk-1
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
  sample: {"before": {}, "after": {"scsi1": "local-lvm:vm-100-disk-1,iothread=1,size=32G"}}
config:
  description:
    - The guest config after the change (pending values applied), as Proxmox writes it; predicted in check mode.
  returned: always
  type: dict
  sample: {"scsi0": "local-lvm:vm-100-disk-0,size=8G", "scsi1": "local-lvm:vm-100-disk-1,iothread=1,size=32G"}
pending:
  description:
    - Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {"scsi1": null}
reboot_required:
  description: Whether RV(pending) is not empty.
  returned: always
  type: bool
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
  sample: create scsi1 (32G on local-lvm) of QEMU VM 100 on pve1
task:
  description: UPID of the last Proxmox task waited for (volume creation or resize).
  returned: when a task ran
  type: str
  sample: "UPID:pve1:000A1B2C:0012D687:67A0B1C2:qmconfig:100:root@pam!automation:"
"""

from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module
from ansible_collections.pve.config.plugins.module_utils.disk import OPTIONS, check_params, plan


def main():
    run_config_module(OPTIONS, "qemu", plan, prepare=check_params)


if __name__ == "__main__":
    main()
