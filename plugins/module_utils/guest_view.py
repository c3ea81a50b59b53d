# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A read-only view of a guest config: its disks and NICs as parsed property strings.

PRIVATE to the pve.config collection. Used by guest_info.

``disks(config, kind)`` and ``nics(config, kind)`` pick the slots of a QEMU VM (``scsi0``, ``efidisk0``,
``tpmstate0``, ``unused0``...) or of an LXC container (``rootfs``, ``mp0``, ``unused0``...) and parse each
with the schema table of its slot (the one codec, ``property_string.parse``). A disk with a ``size=`` also gets
``size_bytes``. A sub-key that a newer Proxmox writes but the schema tables do not know yet is kept as it is.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.units import parse_size

# (slot pattern, property-string format), per guest kind. Index ranges are not checked: a read shows what is there.
DISK_SLOTS = {
    "qemu": [
        (re.compile(r"^ide\d+$"), "qemu_ide"),
        (re.compile(r"^sata\d+$"), "qemu_sata"),
        (re.compile(r"^scsi\d+$"), "qemu_scsi"),
        (re.compile(r"^virtio\d+$"), "qemu_virtio"),
        (re.compile(r"^efidisk\d+$"), "qemu_efidisk"),
        (re.compile(r"^tpmstate\d+$"), "qemu_tpmstate"),
        (re.compile(r"^unused\d+$"), "qemu_unused"),
    ],
    "lxc": [
        (re.compile(r"^rootfs$"), "lxc_rootfs"),
        (re.compile(r"^mp\d+$"), "lxc_mp"),
        (re.compile(r"^unused\d+$"), "lxc_unused"),
    ],
}
NIC_SLOT = re.compile(r"^net\d+$")
NIC_FORMATS = {"qemu": "qemu_net", "lxc": "lxc_net"}


def disk_format(kind, key):
    """The property-string format of config key ``key`` when it is a disk slot of a ``kind`` guest, else None."""
    for pattern, fmt in DISK_SLOTS.get(kind, []):
        if pattern.match(key):
            return fmt
    return None


def nic_format(kind, key):
    """The property-string format of ``key`` when it is a NIC slot (``netN``), else None."""
    return NIC_FORMATS.get(kind) if NIC_SLOT.match(key) else None


def parsed(key, text, fmt):
    """``property_string.parse`` of config key ``key``; a sub-key no table knows is kept as it is.

    Proxmox only returns strings its own parser accepts (qemu-server ``QemuServer.pm`` parse_vm_config drops a
    value it cannot parse), so a failure here names the key of a hand-made config.
    """
    try:
        return property_string.parse(text, fmt)
    except InvalidRequest as exc:
        raise InvalidRequest("cannot read %s: %s" % (key, exc.msg)) from None


def size_bytes(size):
    """Bytes in a ``size=`` value (``32G``; a bare number is bytes, as Proxmox writes it), or None."""
    if size in (None, ""):
        return None
    try:
        return parse_size(size, default_unit="")
    except InvalidRequest:
        return None


def slot_order(key):
    """Sort key: letters, then the number (``scsi2`` before ``scsi10``)."""
    match = re.match(r"^(\D*)(\d+)$", key)
    return (match.group(1), int(match.group(2))) if match else (key, -1)


def disks(config, kind):
    """slot -> parsed disk dict for every disk slot of ``config`` (CD-ROM drives and unused volumes included)."""
    result = {}
    for key in sorted((k for k in config if disk_format(kind, k)), key=slot_order):
        fmt = disk_format(kind, key)
        if config[key] is None:
            continue
        values = parsed(key, config[key], fmt)
        if "size" in values:
            values["size_bytes"] = size_bytes(values["size"])
        result[key] = values
    return result


def nics(config, kind):
    """``netN`` -> parsed NIC dict (QEMU: ``model``, ``macaddr``, ``bridge``...; LXC: ``name``, ``hwaddr``...)."""
    result = {}
    for key in sorted((k for k in config if nic_format(kind, k)), key=slot_order):
        if config[key] is None:
            continue
        result[key] = parsed(key, config[key], nic_format(kind, key))
    return result
