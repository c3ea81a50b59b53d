# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU disks: slots and drive strings, and the plan of vm_disk (create, grow, tune, detach, destroy).

PRIVATE to the pve.config collection.

``plan(ctx)`` turns vm_disk's params and the guest's parsed config into a ``Change``:

- ``present`` on an empty slot creates ``STORAGE:SIZE_GiB`` (the size rounded up to whole MiB);
  ``if_exists=fail`` refuses a slot that holds anything, before any write;
- ``present`` on a disk grows it and sets the options that differ. Sizes are compared with the drive in
  effect, because ``resize`` rewrites that one and never a pending value (qemu-server ``API2/Qemu.pm``
  resize_vm: ``$conf->{$disk}``), and a disk the storage made larger than asked counts as large enough
  (``storage.py``). Options are compared with the pending-applied drive, which is what the next boot runs;
- ``absent`` detaches (``delete=SLOT``, the volume becomes ``unusedN``), with ``purge`` then destroys that
  ``unusedN`` (``delete=unusedN``); ``absent`` + ``purge`` on ``disk: unusedN`` destroys a volume left
  behind earlier.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import SLOTS
from ansible_collections.pve.config.plugins.module_utils.units import format_size, parse_size
from ansible_collections.pve.config.plugins.module_utils.validate import choices
from ansible_collections.pve.config.plugins.module_utils.volumes import (
    UNUSED,
    after_detach,
    allocation_size,
    check_new_volume_storage,
    check_unused,
    destroy_unused,
    detach,
    empty_slot_result,
    grow_and_set,
    grow_size,
    new_volume_text,
    size_text,
    volume_storage,
)
from ansible_collections.pve.config.plugins.module_utils.volumes import recorded_size as drive_size

# Number of slots per bus (ide0-3, sata0-5, scsi0-30, virtio0-15), from the one table
# (option_ranges.SLOTS: qemu-server QemuServer/Drive.pm $MAX_*_DISKS).
BUS_SLOTS = {bus: SLOTS["qemu"][bus] for bus in ("ide", "sata", "scsi", "virtio")}
SLOT = re.compile(r"^(?P<bus>[a-z]+)(?P<index>\d+)$")
# Formats a volume name can end with (``local:100/vm-100-disk-0.qcow2``); block storages hold raw volumes.
VOLUME_FORMATS = ("raw", "qcow2", "vmdk", "qcow", "qed", "cloop")
# Drive options vm_disk manages, in the order they are written, and what Proxmox does when unset.
DRIVE_OPTIONS = ("cache", "discard", "iothread", "ssd", "backup")
UNSET_MEANS = {"cache": "none", "discard": "ignore", "iothread": False, "ssd": False, "backup": True}

OPTIONS = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    disk=dict(type="str"),
    bus=dict(type="str", choices=sorted(BUS_SLOTS)),
    storage=dict(type="str"),
    size=dict(type="raw"),
    if_exists=dict(type="str", default="update", choices=["update", "fail"]),
    cache=dict(type="str", choices=choices("qemu_scsi", "cache")),
    discard=dict(type="bool"),
    iothread=dict(type="bool"),
    ssd=dict(type="bool"),
    backup=dict(type="bool"),
    format=dict(type="str", choices=["raw", "qcow2", "vmdk"]),
    purge=dict(type="bool", default=False),
)


# --- slots and drive strings -------------------------------------------------------------------------------


def parse_slot(slot, what="disk"):
    """``scsi1`` -> ``("scsi", 1)``; an unknown bus or an index out of the bus's range is an error."""
    match = SLOT.match(str(slot).strip().lower())
    if not match or match.group("bus") not in BUS_SLOTS:
        raise InvalidRequest("%s %r is not a disk slot: use ide0-3, sata0-5, scsi0-30 or virtio0-15" % (what, slot))
    bus, index = match.group("bus"), int(match.group("index"))
    if index >= BUS_SLOTS[bus]:
        raise InvalidRequest(
            "%s %r is out of range: the %s bus has slots %s0 to %s%d" % (what, slot, bus, bus, bus, BUS_SLOTS[bus] - 1)
        )
    return bus, index


def slot_format(slot_or_bus):
    """The property-string format of a slot or bus: ``scsi1`` -> ``qemu_scsi``."""
    bus = SLOT.match(slot_or_bus).group("bus") if SLOT.match(slot_or_bus) else slot_or_bus
    return "qemu_" + bus


def bus_options(bus):
    """Sub-keys the schema allows on drives of ``bus`` (``ssd`` is not one of virtio, ``iothread`` only
    exists on scsi and virtio)."""
    return property_string.fmt_table(slot_format(bus))["keys"]


def first_free_slot(bus, *configs):
    """The lowest slot of ``bus`` that no key of ``configs`` uses (pass the config and the current values
    so a slot whose removal is still pending counts as used)."""
    for index in range(BUS_SLOTS[bus]):
        slot = "%s%d" % (bus, index)
        if not any(slot in config for config in configs):
            return slot
    raise InvalidRequest("all %d %s slots are in use" % (BUS_SLOTS[bus], bus))


def parse_drive(slot, text):
    """The drive string of ``slot`` as an ordered dict (``file``, ``size``, ``cache``...)."""
    return property_string.parse(text, slot_format(slot))


def drive_kind(values):
    """``cdrom``, ``passthrough`` (a host path or device) or ``disk`` (a storage volume)."""
    if values.get("media") == "cdrom":
        return "cdrom"
    volume = values.get("file", "")
    if volume.startswith("/") or ":" not in volume:
        return "passthrough"
    return "disk"


def volume_format(values):
    """The data format of a drive: its ``format`` sub-key, else the volume name's extension, else raw."""
    if values.get("format"):
        return values["format"]
    name = values.get("file", "")
    extension = name.rsplit(".", 1)[-1] if "." in name.split(":", 1)[-1] else ""
    return extension if extension in VOLUME_FORMATS else "raw"


# --- arguments ---------------------------------------------------------------------------------------------


def check_params(params):
    """Check and normalise vm_disk's arguments on their own, before any request; ``size`` becomes bytes."""
    if params["disk"] is not None and UNUSED.match(str(params["disk"]).strip().lower()):
        params["disk"] = check_unused(params, "disk", "qemu")
        return
    if params["disk"] is not None:
        bus, index = parse_slot(params["disk"])
        if params["bus"] and params["bus"] != bus:
            raise InvalidRequest(
                "disk %s is on the %s bus, not on bus %s; omit bus or pick a %s slot"
                % (params["disk"], bus, params["bus"], params["bus"])
            )
        params["disk"], params["bus"] = "%s%d" % (bus, index), bus
    elif params["state"] == "absent":
        raise InvalidRequest("state=absent needs disk (the slot to detach, such as scsi1)")
    params["bus"] = params["bus"] or "scsi"
    if params["state"] == "absent":
        return
    if params["purge"]:
        raise InvalidRequest("purge only applies with state=absent")
    if params["size"] is not None:
        params["size"] = parse_size(params["size"])
    allowed = bus_options(params["bus"])
    for key in DRIVE_OPTIONS:
        if params[key] is not None and key not in allowed:
            raise InvalidRequest(
                "%s is not an option of %s disks (%s)" % (key, params["bus"], params["disk"] or "bus " + params["bus"])
            )


def wanted_options(params):
    """Drive sub-keys the user asked for, as Proxmox writes them."""
    values = {key: params[key] for key in DRIVE_OPTIONS if params[key] is not None}
    if "discard" in values:
        values["discard"] = "on" if values["discard"] else "ignore"
    return values


# --- the plan ----------------------------------------------------------------------------------------------


def plan(ctx):
    """The ``Change`` that brings the slot to what vm_disk's params ask for (see the module docstring)."""
    params = ctx.params
    slot = params["disk"] or ctx.memory.get("disk")
    if params["state"] == "absent":
        if UNUSED.match(slot):
            return plan_destroy_unused(ctx, slot)
        return plan_absent(ctx, slot)
    if slot is None:
        slot = first_free_slot(params["bus"], ctx.config, ctx.state.current)
        return plan_create(ctx, slot, remember={"disk": slot})
    in_use = slot in ctx.config or slot in ctx.state.current
    if in_use and params["if_exists"] == "fail" and ctx.memory.get("created") != slot:
        raise InvalidRequest(
            "slot %s of %s is in use (%s); if_exists=fail creates disks only"
            % (slot, ctx.guest.label, describe_slot(ctx, slot))
        )
    if slot not in ctx.config:
        return plan_create(ctx, slot)
    return plan_update(ctx, slot)


def describe_slot(ctx, slot):
    """What a slot holds, for messages: ``local-lvm:vm-100-disk-0, 32G`` (a pending removal said so)."""
    text = ctx.config.get(slot, ctx.state.current.get(slot))
    values = parse_drive(slot, text)
    words = values.get("file") or text
    if drive_kind(values) == "cdrom":
        words = "CD-ROM drive %s" % words
    elif values.get("size"):
        words = "%s, %s" % (words, values["size"])
    if slot not in ctx.config:
        words += ", its removal pending until the VM reboots"
    return words


def inspect(ctx, slot):
    """The parsed drive in ``slot``; refuses CD-ROM drives and passed-through host devices."""
    values = parse_drive(slot, ctx.config[slot])
    kind = drive_kind(values)
    if kind == "cdrom":
        raise InvalidRequest(
            "%s of VM %d holds a CD-ROM drive (%s), not a disk" % (slot, ctx.guest.vmid, ctx.config[slot])
        )
    if kind == "passthrough":
        raise InvalidRequest(
            "%s of VM %d holds the passed-through device %s, not a storage volume"
            % (slot, ctx.guest.vmid, values.get("file"))
        )
    return values


def plan_create(ctx, slot, remember=None):
    params = ctx.params
    missing = [key for key in ("storage", "size") if params[key] is None]
    if missing:
        raise InvalidRequest(
            "%s is empty on VM %d: creating a disk there needs %s" % (slot, ctx.guest.vmid, " and ".join(missing))
        )
    check_new_volume_storage(ctx.api, ctx.guest.node, "qemu", params["storage"])
    size = allocation_size(params["size"])
    options = {"format": params["format"]} if params["format"] else {}
    for key, value in wanted_options(params).items():
        if not property_string.same_value(key, UNSET_MEANS[key], value, slot_format(slot)):
            options[key] = value
    result = {"disk": slot, "size": format_size(size)}
    rounded = ""
    if size != params["size"]:
        result["size_rounded"] = True
        rounded = ", %s rounded up to whole MiB" % format_size(params["size"])
    return Change(
        set={slot: new_volume_text("qemu", slot, params["storage"], size, options)},
        remember=dict(remember or {}, created=slot),
        result=result,
        summary="create %s (%s on %s%s)" % (slot, format_size(size), params["storage"], rounded),
    )


def plan_update(ctx, slot):
    params = ctx.params
    fmt = slot_format(slot)
    values = inspect(ctx, slot)
    volid = values["file"]
    where = "%s (%s) of VM %d" % (slot, volid, ctx.guest.vmid)
    if params["storage"] and params["storage"] != volume_storage(volid):
        raise InvalidRequest(
            "%s is on storage %s, not %s; moving disks is not done by this module"
            % (where, volume_storage(volid), params["storage"])
        )
    if params["format"] and params["format"] != volume_format(values):
        raise InvalidRequest(
            "%s has format %s, not %s; converting needs a disk move" % (where, volume_format(values), params["format"])
        )
    in_effect = current_drive(ctx, slot, volid)
    result = {"disk": slot, "volume": volid, "size": size_text(drive_size(in_effect or values))}
    grow = None if params["size"] is None else grow_to(ctx, where, volid, values, in_effect, result)
    desired = {}
    for key, value in wanted_options(params).items():
        if not property_string.same_value(key, values.get(key, UNSET_MEANS[key]), value, fmt):
            desired[key] = value
    return grow_and_set(ctx, slot, fmt, values, grow, desired, result)


def current_drive(ctx, slot, volid):
    """The parsed drive in effect now, or None when the slot is only pending or a pending value swaps its
    volume: resize_vm reads ``$conf->{$disk}``, the current value, and writes ``size=`` there only."""
    text = ctx.state.current.get(slot)
    if text is None:
        return None
    values = parse_drive(slot, text)
    return values if values.get("file") == volid else None


def grow_to(ctx, where, volid, values, in_effect, result):
    """The size to grow the disk to, or None when it is already as large as asked (``volumes.grow_size``)."""
    recorded = drive_size(in_effect or values)
    return grow_size(ctx.api, ctx.guest, where, volid, ctx.params["size"], recorded, in_effect is not None, result)


def plan_absent(ctx, slot):
    """Detach the disk in ``slot`` (``volumes.detach``), then with ``purge`` destroy its ``unusedN``."""
    if slot in ctx.config:
        volid = inspect(ctx, slot)["file"]
        return detach(slot, volid, ctx.params["purge"], {"disk": slot, "volume": volid})
    change = after_detach(ctx, slot, "disk")
    return change if change is not None else Change(result=empty_slot_result(ctx, slot, "disk"))


def plan_destroy_unused(ctx, slot):
    """``disk: unusedN`` with ``purge``: destroy that volume."""
    return destroy_unused(ctx, slot, "disk")
