# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_info's ``desired``: the ``config`` for guest_config that reproduces a guest as it is.

PRIVATE to the pve.config collection. Used by guest_info.

``desired_config(kind, config)`` takes the config with pending values applied (what guest_config compares with)
and returns a dict that guest_config accepts and finds already in place (``changed: false``):

- left out: keys guest_config refuses in ``config`` (``config_keys.REFUSED``: ``digest``, ``lock``, ``meta``,
  ``parent``, ``unprivileged``...; ``unusedN``), keys the schema tables do not know (a newer Proxmox's), and the
  write-only secrets (``config_values.SECRET_KEYS``; the config read shows only ``**********`` for them);
- a volume on a storage (a QEMU drive, LXC ``rootfs`` or ``mpN`` whose volume is ``STORAGE:NAME`` with a
  ``size``): ``{storage, size, <its other sub-keys>}``, the form guest_config creates a volume from; on this guest
  the size matches (no grow) and the sub-keys are merged (no change). The volume name is left out: on a guest
  without the key Proxmox picks one when it allocates the volume;
- a CD-ROM drive (``media=cdrom``: an ISO, ``none``, the cloud-init drive), a bind or device mount, a
  pass-through disk or a volume without a size: its sub-keys as they are (``file``/``volume`` included), without
  ``size`` (a size would ask guest_config to create or grow it);
- a NIC (``netN``): its sub-keys, the MAC included, so a re-created NIC keeps its address;
- every other key as Proxmox stores it (a property string as its text; guest_config compares it parsed).
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import config_keys, config_values, property_string, volumes

UNUSED = re.compile(r"^unused\d+$")
NIC = re.compile(r"^net\d+$")
# A volume ID on a storage: pve-storage src/PVE/Storage.pm parse_volume_id (STORAGE_ID:VOLNAME, the storage ID
# being pve-common JSONSchema.pm pve-storage-id); anything else (an absolute path, ``none``, ``cdrom``) is not.
STORAGE_VOLUME = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$", re.IGNORECASE)


def left_out(kind, key):
    """True for a key guest_info's ``desired`` does not carry (see the module doc)."""
    return (
        key in config_keys.REFUSED
        or UNUSED.match(key) is not None
        or key in config_values.SECRET_KEYS
        or config_keys.schema_name(kind, key) is None
    )


def desired_config(kind, config):
    """The ``config`` option of guest_config that reproduces ``config`` (pending values applied) of a ``kind``
    guest; keys in the config's order."""
    desired = {}
    for key, value in config.items():
        if value is None or left_out(kind, key):
            continue
        if config_keys.is_volume_key(kind, key):
            desired[key] = volume_value(kind, key, value)
        elif NIC.match(key):
            desired[key] = property_string.parse(value, config_keys.key_format(kind, key))
        else:
            desired[key] = value
    return desired


def volume_value(kind, key, text):
    """``{storage, size, <options>}`` for a storage volume with a size, else its sub-keys without ``size``."""
    values = property_string.parse(text, config_keys.key_format(kind, key))
    volume_key = volumes.VOLUME_KEY[kind]
    volid = values.get(volume_key) or ""
    size = values.pop("size", None)
    if values.get("media") == "cdrom" or size is None or not STORAGE_VOLUME.match(volid):
        return values
    options = {sub: value for sub, value in values.items() if sub != volume_key}
    return dict(storage=volumes.volume_storage(volid), size=size, **options)
