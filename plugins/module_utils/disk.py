# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU disk slots and drive strings: bus/slot parsing, the first free slot of a bus, what a slot holds.

PRIVATE to the pve.config collection. Used by vm_disk (and usable by guest_info for its disk view).
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.units import format_size, parse_size

# Number of slots per bus, as the API schema lists them (ide0-3, sata0-5, scsi0-30, virtio0-15).
BUS_SLOTS = {"ide": 4, "sata": 6, "scsi": 31, "virtio": 16}
SLOT = re.compile(r"^(?P<bus>[a-z]+)(?P<index>\d+)$")
UNUSED = re.compile(r"^unused\d+$")
# Formats a volume name can end with (``local:100/vm-100-disk-0.qcow2``); block storages hold raw volumes.
VOLUME_FORMATS = ("raw", "qcow2", "vmdk", "qcow", "qed", "cloop")


def parse_slot(slot, what="disk"):
    """``scsi1`` -> ``("scsi", 1)``; an unknown bus or an index out of the bus's range is an error."""
    match = SLOT.match(str(slot).strip().lower())
    if not match or match.group("bus") not in BUS_SLOTS:
        raise InvalidRequest(
            "%s %r is not a disk slot: use ide0-3, sata0-5, scsi0-30 or virtio0-15; nothing was changed" % (what, slot)
        )
    bus, index = match.group("bus"), int(match.group("index"))
    if index >= BUS_SLOTS[bus]:
        raise InvalidRequest(
            "%s %r is out of range: the %s bus has slots %s0 to %s%d; nothing was changed"
            % (what, slot, bus, bus, bus, BUS_SLOTS[bus] - 1)
        )
    return bus, index


def is_disk_slot(key):
    """Whether a config key is a drive slot of one of the four buses (``scsi1``, ``ide2``...)."""
    match = SLOT.match(key)
    return bool(match) and match.group("bus") in BUS_SLOTS and int(match.group("index")) < BUS_SLOTS[match.group("bus")]


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
    raise InvalidRequest("all %d %s slots are in use; nothing was changed" % (BUS_SLOTS[bus], bus))


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


def find_unused(config, volid):
    """The ``unusedN`` key whose volume is ``volid``, or None."""
    for key in sorted(config, key=_unused_order):
        if UNUSED.match(key) and property_string.parse(config[key], "qemu_unused").get("file") == volid:
            return key
    return None


def _unused_order(key):
    return (0, int(key[6:])) if UNUSED.match(key) else (1, 0)


def disks(config):
    """slot -> parsed drive dict for every drive slot of ``config`` (CD-ROMs and passthrough included)."""
    return {key: parse_drive(key, value) for key, value in config.items() if is_disk_slot(key)}
