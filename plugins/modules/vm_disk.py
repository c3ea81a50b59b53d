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
    updated only where it differs. Options that are not given are kept as they are.
  - A larger O(size) grows the disk (the volume is resized); a smaller one is an error, disks never shrink.
  - With O(state=absent), detaches the disk; its volume stays on the storage as an unused disk (C(unusedN)).
    With O(purge=true) the volume is destroyed as well.
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
    type: raw
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
  description: Size of the disk as Proxmox records it.
  returned: with O(state=present)
  type: str
  sample: 32G
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

from ansible_collections.pve.config.plugins.module_utils import disk as disks
from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.storage import check_storage
from ansible_collections.pve.config.plugins.module_utils.units import format_size, gib_for_allocation, parse_size

NOTHING = "nothing was changed"
# Drive options this module manages, in the order they are written, and what Proxmox does when unset.
DRIVE_OPTIONS = ("cache", "discard", "iothread", "ssd", "backup")
UNSET_MEANS = {"cache": "none", "discard": "ignore", "iothread": False, "ssd": False, "backup": True}

OPTIONS = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    disk=dict(type="str"),
    bus=dict(type="str", choices=sorted(disks.BUS_SLOTS)),
    storage=dict(type="str"),
    size=dict(type="raw"),
    cache=dict(type="str", choices=["none", "writethrough", "writeback", "unsafe", "directsync"]),
    discard=dict(type="bool"),
    iothread=dict(type="bool"),
    ssd=dict(type="bool"),
    backup=dict(type="bool"),
    format=dict(type="str", choices=["raw", "qcow2", "vmdk"]),
    purge=dict(type="bool", default=False),
)


def prepare(params):
    """Check the arguments on their own, before any request."""
    if params["disk"] is not None:
        bus, index = disks.parse_slot(params["disk"])
        if params["bus"] and params["bus"] != bus:
            raise InvalidRequest(
                "disk %s is on the %s bus, not on bus %s; omit bus or pick a %s slot; %s"
                % (params["disk"], bus, params["bus"], params["bus"], NOTHING)
            )
        params["disk"], params["bus"] = "%s%d" % (bus, index), bus
    elif params["state"] == "absent":
        raise InvalidRequest("state=absent needs disk (the slot to detach, such as scsi1); %s" % NOTHING)
    params["bus"] = params["bus"] or "scsi"
    if params["state"] == "absent":
        return
    if params["purge"]:
        raise InvalidRequest("purge only applies with state=absent; %s" % NOTHING)
    if params["size"] is not None:
        parse_size(params["size"])
    allowed = disks.bus_options(params["bus"])
    for key in DRIVE_OPTIONS:
        if params[key] is not None and key not in allowed:
            raise InvalidRequest(
                "%s is not an option of %s disks (%s); %s"
                % (key, params["bus"], params["disk"] or "bus " + params["bus"], NOTHING)
            )


def wanted_options(params):
    """Drive sub-keys the user asked for, as Proxmox writes them."""
    values = {key: params[key] for key in DRIVE_OPTIONS if params[key] is not None}
    if "discard" in values:
        values["discard"] = "on" if values["discard"] else "ignore"
    return values


def plan(ctx):
    params = ctx.params
    slot = params["disk"] or ctx.memory.get("disk")
    if params["state"] == "absent":
        return plan_absent(ctx, slot)
    if slot is None:
        slot = disks.first_free_slot(params["bus"], ctx.config, ctx.state.current)
        return plan_create(ctx, slot, remember={"disk": slot})
    if slot not in ctx.config:
        return plan_create(ctx, slot)
    return plan_update(ctx, slot)


def inspect(ctx, slot):
    """The parsed drive in ``slot``; refuses CD-ROM drives and passed-through host devices."""
    values = disks.parse_drive(slot, ctx.config[slot])
    kind = disks.drive_kind(values)
    if kind == "cdrom":
        raise InvalidRequest(
            "%s of VM %d holds a CD-ROM drive (%s), not a disk; %s" % (slot, ctx.guest.vmid, ctx.config[slot], NOTHING)
        )
    if kind == "passthrough":
        raise InvalidRequest(
            "%s of VM %d holds the passed-through device %s, not a storage volume; %s"
            % (slot, ctx.guest.vmid, values.get("file"), NOTHING)
        )
    return values


def plan_create(ctx, slot, remember=None):
    params = ctx.params
    missing = [key for key in ("storage", "size") if params[key] is None]
    if missing:
        raise InvalidRequest(
            "%s is empty on VM %d: creating a disk there needs %s; %s"
            % (slot, ctx.guest.vmid, " and ".join(missing), NOTHING)
        )
    check_storage(ctx.api, ctx.guest.node, params["storage"], "images")
    size = parse_size(params["size"])
    try:
        gib = gib_for_allocation(size)
    except InvalidRequest as exc:
        raise InvalidRequest("%s (new disks are allocated in GiB); %s" % (exc.msg, NOTHING)) from None
    values = {"file": "%s:%s" % (params["storage"], gib)}
    if params["format"]:
        values["format"] = params["format"]
    for key, value in wanted_options(params).items():
        if not property_string.same_value(key, UNSET_MEANS[key], value, disks.slot_format(slot)):
            values[key] = value
    return Change(
        set={slot: property_string.format(values, disks.slot_format(slot))},
        remember=remember,
        result={"disk": slot, "size": format_size(size)},
        summary="create %s (%s on %s)" % (slot, format_size(size), params["storage"]),
    )


def plan_update(ctx, slot):
    params = ctx.params
    fmt = disks.slot_format(slot)
    values = inspect(ctx, slot)
    volid = values["file"]
    where = "%s (%s) of VM %d" % (slot, volid, ctx.guest.vmid)
    if params["storage"] and params["storage"] != disks.volume_storage(volid):
        raise InvalidRequest(
            "%s is on storage %s, not %s; moving disks is not done by this module; %s"
            % (where, disks.volume_storage(volid), params["storage"], NOTHING)
        )
    if params["format"] and params["format"] != disks.volume_format(values):
        raise InvalidRequest(
            "%s has format %s, not %s; converting needs a disk move; %s"
            % (where, disks.volume_format(values), params["format"], NOTHING)
        )
    current_size = disks.drive_size(values)
    result = {"disk": slot, "volume": volid, "size": disks.size_text(current_size)}
    text = ctx.config[slot]
    resize = {}
    if params["size"] is not None:
        size = parse_size(params["size"])
        if current_size is None:
            raise InvalidRequest(
                "%s has no recorded size (size= missing), cannot compare it with %s; %s"
                % (where, format_size(size), NOTHING)
            )
        if size < current_size:
            raise InvalidRequest(
                "%s is %s; shrinking it to %s is not supported; %s"
                % (where, format_size(current_size), format_size(size), NOTHING)
            )
        if size > current_size:
            resize = {slot: format_size(size)}
            text = property_string.format(dict(values, size=format_size(size)), fmt)
    desired = {}
    for key, value in wanted_options(params).items():
        if not property_string.same_value(key, values.get(key, UNSET_MEANS[key]), value, fmt):
            desired[key] = value
    merged, changed = property_string.merge(text, desired, fmt)
    options = ", ".join("%s=%s" % (key, property_string.to_text(desired[key])) for key in changed)
    if resize:
        summary = "grow %s from %s to %s" % (slot, format_size(current_size), resize[slot])
        # One step per write: the engine sends the resize, re-plans and then sends the options.
        return Change(
            resize=resize,
            set={slot: merged} if changed else None,
            disk_formats={slot: fmt},
            result=result,
            summary=summary + (", then set " + options if changed else ""),
        )
    if changed:
        return Change(set={slot: merged}, result=result, summary="set %s of %s" % (options, slot))
    return Change(result=result)


def plan_absent(ctx, slot):
    params = ctx.params
    if slot in ctx.config:
        volid = inspect(ctx, slot)["file"]
        result = {"disk": slot, "volume": volid}
        if not params["purge"]:
            return Change(
                delete=[slot],
                remember={"detached": volid},
                result=result,
                summary="detach %s (volume %s)" % (slot, volid),
            )
        return Change(
            delete=[slot],
            remember={"detached": volid, "purge": True},
            result=dict(result, destroyed_volume=volid),
            summary="detach %s and destroy its volume %s" % (slot, volid),
        )
    volid = ctx.memory.get("detached")
    if volid is None:
        return Change(result={"disk": slot})
    result = {"disk": slot, "volume": volid}
    if not ctx.memory.get("purge"):
        return Change(result=result)
    unused = disks.find_unused(ctx.config, volid)
    if unused:
        return Change(
            delete=[unused],
            remember={"destroyed": volid},
            result=dict(result, destroyed_volume=volid),
            summary="destroy volume %s (%s)" % (volid, unused),
        )
    if ctx.memory.get("destroyed") == volid:
        return Change(result=dict(result, destroyed_volume=volid))
    if slot in ctx.state.pending:
        return Change(
            result=dict(
                result,
                msg="detached %s of %s on %s, but the removal is pending until the VM "
                "reboots; volume %s was not destroyed, run again after the reboot"
                % (slot, ctx.guest.label, ctx.guest.node, volid),
            )
        )
    raise InvalidRequest(
        "detached %s of %s, but its volume %s did not become an unused disk, so it was not "
        "destroyed" % (slot, ctx.guest.label, volid)
    )


def main():
    run_config_module(OPTIONS, "qemu", plan, prepare=prepare)


if __name__ == "__main__":
    main()
