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
from ansible_collections.pve.config.plugins.module_utils.storage import (
    LARGEST_UNIT,
    check_storage,
    round_up,
    volume_size,
)
from ansible_collections.pve.config.plugins.module_utils.units import MIB, format_size, gib_for_allocation, parse_size
from ansible_collections.pve.config.plugins.module_utils.validate import choices

# Number of slots per bus (ide0-3, sata0-5, scsi0-30, virtio0-15) and of unusedN entries, from the one table
# (option_ranges.SLOTS: qemu-server QemuServer/Drive.pm $MAX_*_DISKS).
BUS_SLOTS = {bus: SLOTS["qemu"][bus] for bus in ("ide", "sata", "scsi", "virtio")}
MAX_UNUSED = SLOTS["qemu"]["unused"]
SLOT = re.compile(r"^(?P<bus>[a-z]+)(?P<index>\d+)$")
UNUSED = re.compile(r"^unused(?P<index>\d+)$")
# Formats a volume name can end with (``local:100/vm-100-disk-0.qcow2``); block storages hold raw volumes.
VOLUME_FORMATS = ("raw", "qcow2", "vmdk", "qcow", "qed", "cloop")
# The owner of a volume, as pve-storage's parse_volname reads it from the last part of the name.
OWNER = re.compile(r"^(?:vm|base|subvol|basevol)-(\d+)-")
# qemu-server QemuServer.pm try_deallocate_drive refuses to free a volume that a snapshot still uses.
IN_USE = "volume is still in use"
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


def volume_storage(volid):
    """``local-lvm:vm-100-disk-1`` -> ``local-lvm``."""
    return volid.split(":", 1)[0]


def volume_owner(volid):
    """The vmid owning a volume (``local:100/vm-100-disk-0.qcow2`` -> 100), or None for other names."""
    match = OWNER.match(volid.split(":", 1)[-1].split("/")[-1])
    return int(match.group(1)) if match else None


def volume_format(values):
    """The data format of a drive: its ``format`` sub-key, else the volume name's extension, else raw."""
    if values.get("format"):
        return values["format"]
    name = values.get("file", "")
    extension = name.rsplit(".", 1)[-1] if "." in name.split(":", 1)[-1] else ""
    return extension if extension in VOLUME_FORMATS else "raw"


def drive_size(values):
    """Size of a drive in bytes from its ``size=`` sub-key (bare numbers are bytes), or None."""
    if not values.get("size"):
        return None
    try:
        return parse_size(values["size"], default_unit="")
    except InvalidRequest:
        return None


def size_text(size_bytes):
    return None if size_bytes is None else format_size(size_bytes)


def unused_volumes(config):
    """``{unusedN: volid}`` of ``config``, in index order."""
    keys = sorted((int(m.group("index")), key) for key, m in ((k, UNUSED.match(k)) for k in config) if m)
    return {key: property_string.parse(config[key], "qemu_unused").get("file") for _index, key in keys}


def find_unused(config, volid):
    """The ``unusedN`` key whose volume is ``volid``, or None."""
    for key, value in unused_volumes(config).items():
        if value == volid:
            return key
    return None


# --- arguments ---------------------------------------------------------------------------------------------


def check_params(params):
    """Check and normalise vm_disk's arguments on their own, before any request; ``size`` becomes bytes."""
    if params["disk"] is not None and UNUSED.match(str(params["disk"]).strip().lower()):
        params["disk"] = _check_unused(params)
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


def _check_unused(params):
    """``disk: unusedN`` names a volume left unused: it can only be destroyed (``state=absent``, ``purge``)."""
    slot = "unused%d" % int(UNUSED.match(str(params["disk"]).strip().lower()).group("index"))
    if int(slot[6:]) >= MAX_UNUSED:
        raise InvalidRequest(
            "disk %r is out of range: unused volumes are unused0 to unused%d" % (params["disk"], MAX_UNUSED - 1)
        )
    if params["state"] != "absent":
        raise InvalidRequest(
            "disk %s is an unused volume, not a disk slot: it can only be destroyed (state=absent, purge=true); "
            "to attach it again, edit the VM config" % slot
        )
    if not params["purge"]:
        raise InvalidRequest(
            "removing %s destroys its volume (Proxmox frees the volume of a deleted unusedN entry): "
            "set purge=true to destroy it" % slot
        )
    return slot


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
    check_storage(ctx.api, ctx.guest.node, params["storage"], "images")
    # qemu-server API2/Qemu.pm create_disks takes STORAGE:SIZE in GiB (decimals allowed) and turns it into
    # KiB rounded up (pve-common Tools.pm convert_size); whole MiB suit every storage (storage.py).
    size = round_up(params["size"], MIB)
    values = {"file": "%s:%s" % (params["storage"], gib_for_allocation(size))}
    if params["format"]:
        values["format"] = params["format"]
    for key, value in wanted_options(params).items():
        if not property_string.same_value(key, UNSET_MEANS[key], value, slot_format(slot)):
            values[key] = value
    result = {"disk": slot, "size": format_size(size)}
    rounded = ""
    if size != params["size"]:
        result["size_rounded"] = True
        rounded = ", %s rounded up to whole MiB" % format_size(params["size"])
    return Change(
        set={slot: property_string.format(values, slot_format(slot))},
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
    text = ctx.config[slot]
    if grow:
        text = property_string.format(dict(values, size=format_size(grow)), fmt, kept=values)
    desired = {}
    for key, value in wanted_options(params).items():
        if not property_string.same_value(key, values.get(key, UNSET_MEANS[key]), value, fmt):
            desired[key] = value
    merged, changed = property_string.merge(text, desired, fmt)
    options = ", ".join("%s=%s" % (key, property_string.to_text(desired[key])) for key in changed)
    if grow:
        summary = "grow %s from %s to %s" % (slot, result["size"], format_size(grow))
        # One step per write: the engine sends the resize, re-plans and then sends the options (a change of
        # its own, with its own summary: a failure of that write never reports the options as applied).
        return Change(
            resize={slot: format_size(grow)},
            set={slot: merged} if changed else None,
            # the predicted config shows the new size= only where resize_vm writes it: a pending drive keeps its own
            disk_formats={} if slot in ctx.state.pending else {slot: fmt},
            result=result,
            summary=summary,
            preview=summary + (", then set " + options if changed else ""),
        )
    if changed:
        return Change(set={slot: merged}, result=result, summary="set %s of %s" % (options, slot))
    return Change(result=result)


def current_drive(ctx, slot, volid):
    """The parsed drive in effect now, or None when the slot is only pending or a pending value swaps its
    volume: resize_vm reads ``$conf->{$disk}``, the current value, and writes ``size=`` there only."""
    text = ctx.state.current.get(slot)
    if text is None:
        return None
    values = parse_drive(slot, text)
    return values if values.get("file") == volid else None


def grow_to(ctx, where, volid, values, in_effect, result):
    """The size to grow the disk to, or None when it is already as large as asked.

    Adds ``size_rounded`` to ``result`` when the disk is larger than asked only by rounding: whole MiB asked
    by this module, a storage's unit (up to ``storage.LARGEST_UNIT``), or a volume the storage already made
    larger than its ``size=`` (resize_vm compares with ``volume_size_info``: an equal size is a no-op there and a smaller
    one "shrinking disks is not supported").
    """
    requested = ctx.params["size"]
    recorded = drive_size(in_effect or values)
    if recorded is None:
        raise InvalidRequest(
            "%s has no recorded size (size= missing), cannot compare it with %s" % (where, format_size(requested))
        )
    if recorded >= requested:
        if recorded > round_up(requested, LARGEST_UNIT):
            raise InvalidRequest(
                "%s is %s; shrinking it to %s is not supported" % (where, format_size(recorded), format_size(requested))
            )
        if recorded > requested:
            result["size_rounded"] = True
        return None
    if in_effect is None:
        raise InvalidRequest(
            "%s is pending until the VM reboots, and Proxmox resizes only the disk in effect (resize_vm); "
            "grow it to %s after the reboot" % (where, format_size(requested))
        )
    actual = volume_size(ctx.api, ctx.guest.node, volid, ctx.guest.vmid)
    if actual is not None and actual >= requested:
        result["size_rounded"] = True
        return None
    return round_up(requested, MIB)


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
            summary="detach %s (volume %s)" % (slot, volid),
            preview="detach %s and destroy its volume %s" % (slot, volid),
        )
    volid = ctx.memory.get("detached")
    if volid is None:
        return Change(result=empty_slot_result(ctx, slot))
    result = {"disk": slot, "volume": volid}
    if not ctx.memory.get("purge"):
        return Change(result=result)
    unused = find_unused(ctx.config, volid)
    if unused:
        return destroy(ctx, unused, volid, result)
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


def empty_slot_result(ctx, slot):
    """An empty slot with ``purge``: name the VM's unused volumes, one may be left from an earlier detach."""
    result = {"disk": slot}
    unused = unused_volumes(ctx.config)
    if ctx.params["purge"] and unused:
        result["unused"] = unused
        result["msg"] = (
            "%s of %s on %s is empty, nothing to detach; the VM keeps the unused volumes %s: to destroy one, "
            "run with disk: unusedN, state: absent, purge: true"
            % (slot, ctx.guest.label, ctx.guest.node, ", ".join("%s (%s)" % item for item in unused.items()))
        )
    return result


def plan_destroy_unused(ctx, slot):
    """``disk: unusedN`` with ``purge``: destroy that volume (a re-plan after it reports what was destroyed)."""
    if slot in ctx.config:
        volid = unused_volumes(ctx.config)[slot]
        return destroy(ctx, slot, volid, {"disk": slot, "volume": volid})
    volid = ctx.memory.get("destroyed")
    if volid is None:
        return Change(result={"disk": slot})
    return Change(result={"disk": slot, "volume": volid, "destroyed_volume": volid})


def destroy(ctx, unused, volid, result):
    """``delete=unusedN``: qemu-server (API2/Qemu.pm update_vm_api, QemuServer.pm try_deallocate_drive) frees
    the volume when the VM owns it, else only drops the entry. A failure names the volume left behind."""
    if volume_owner(volid) != ctx.guest.vmid:
        return Change(
            delete=[unused],
            result=result,
            summary="remove %s (volume %s is not owned by VM %d, so Proxmox keeps it)"
            % (unused, volid, ctx.guest.vmid),
        )
    return Change(
        delete=[unused],
        remember={"destroyed": volid},
        result=dict(result, destroyed_volume=volid),
        summary="destroy volume %s (%s)" % (volid, unused),
        on_failure=lambda exc: left_behind(ctx, unused, volid, exc),
    )


def left_behind(ctx, unused, volid, exc):
    """What to tell when ``delete=unusedN`` failed: the volume is (or may still be) there as ``unusedN``."""
    again = "run again with disk: %s, state: absent, purge: true" % unused
    if IN_USE in exc.msg:
        note = "volume %s stays as %s of %s: a snapshot still uses it; delete the snapshots that hold it, then %s" % (
            volid,
            unused,
            ctx.guest.label,
            again,
        )
    else:
        note = "volume %s (%s of %s) was not confirmed destroyed: to destroy it, %s" % (
            volid,
            unused,
            ctx.guest.label,
            again,
        )
    return note, {"volume": volid, "unused": unused}
