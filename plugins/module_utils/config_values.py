# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text to write for one config key, compared the way Proxmox means it, so a re-run is ``changed: false``.

PRIVATE to the pve.config collection.

- ``wanted_text(kind, key, wanted, current, update_password="on_create")``: the text to write for ``key``, or
  None when ``current`` (the config's text; None when the key is not set) already means ``wanted``.
- ``SECRET_KEYS``: write-only keys, never in a diff, a result or a log; ``masked(config)`` hides them.

``wanted`` is what ``config_keys.check_keys`` accepted: a dict of sub-keys for a property-string key (merged into
``current``: sub-keys not mentioned are kept, unknown ones included; a sub-key given None is removed), or a
scalar / string / list. How each kind of value is compared, with the Proxmox source that makes it so:

- property strings given as text: parsed, sub-key by sub-key (``property_string.same_value``: sizes ``1G`` =
  ``1024M``, MACs in any case, booleans ``1``/``on``/``true``, numbers, the boot order as a list); a sub-key
  Proxmox fills in when it is left out (a NIC's MAC, a volume's size, a container NIC's type) is kept from
  ``current`` (qemu-server src/PVE/QemuServer/Network.pm parse_net and pve-container src/PVE/LXC/Config.pm
  parse_lxc_network give a new random MAC otherwise);
- booleans (pve-common src/PVE/JSONSchema.pm parse_boolean), integers, numbers (``2`` = ``2.0``), MiB keys with
  units (``4G`` = ``4096``);
- ``tags``: a set, compared without case (pve-guest-common src/PVE/GuestHelpers.pm get_unique_tags: split on
  ``;``/``,``/space, lower-cased, sorted, unique, joined with ``;``);
- ``sshkeys``: stored URL-encoded (qemu-server src/PVE/CLI/qm.pm param_mapping: URI::Escape::uri_escape; the API
  checks pve-common JSONSchema.pm pve_verify_urlencoded), compared decoded, one key per line, blank lines
  ignored (qemu-server src/PVE/QemuServer/Cloudinit.pm cloudinit_userdata);
- ``description``: trailing whitespace ignored (qemu-server src/PVE/QemuServer.pm parse_vm_config strips it,
  pve-container src/PVE/LXC/Config.pm parse_pct_config ends it with a newline);
- ``nameserver``/``searchdomain``: a list, in order (pve-container src/PVE/LXC.pm verify_nameserver_list /
  verify_searchdomain_list: split_list, joined with spaces; qemu-server Cloudinit.pm get_dns_conf splits on spaces);
- ``boot``: ``order=`` as a list (a list given for ``boot`` is its order), the legacy ``cdn`` form as
  ``legacy=cdn`` (qemu-server src/PVE/QemuServer.pm $boot_fmt, device_bootorder);
- ``hotplug``: a set of features, ``1`` = ``network,disk,usb``, ``0`` = none (qemu-server QemuServer.pm
  parse_hotplug_features); ``affinity``: a CPU set (pve-common src/PVE/CpuSet.pm parse_cpuset: ``0-3`` =
  ``0,1,2,3``); ``vmgenid: 1`` is met by any generated UUID;
- a key or sub-key not set means the schema's ``default`` (``onboot: false`` on a guest without ``onboot``);
- secrets (``cipassword``): the config GET shows ``**********`` (qemu-server src/PVE/API2/Qemu.pm vm_config), so
  they are written when not set, or with ``update_password: always``.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from ansible_collections.pve.config.plugins.module_utils import config_keys, property_string
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import OPTIONS

SECRET_KEYS = ("cipassword", "password")
MASK = "********"
UPDATE_PASSWORD = ("on_create", "always")
# Sub-keys Proxmox fills in when a write leaves them out, so a string without them keeps the current ones:
# qemu-server src/PVE/QemuServer/Network.pm parse_net (macaddr: a new random MAC), pve-container
# src/PVE/LXC/Config.pm parse_lxc_network (hwaddr: a new random MAC; type: veth), and the size= Proxmox records
# beside a volume (qemu-server src/PVE/API2/Qemu.pm resize_vm writes it, src/PVE/QemuServer.pm update_disk_config ->
# src/PVE/QemuServer/Drive.pm update_disksize rescans it; it belongs to grow, not to set).
FILLED_IN = {
    "qemu_net": ("macaddr",),
    "lxc_net": ("hwaddr", "type"),
}
VOLUME_FILLED_IN = ("size",)
# Drive formats that can be a CD-ROM (qemu-server src/PVE/QemuServer/Drive.pm: media=cdrom on ide, sata, scsi).
CDROM_FORMATS = ("qemu_ide", "qemu_sata", "qemu_scsi")


def wanted_text(kind, key, wanted, current, update_password="on_create"):
    """The text to write for ``key``, or None when ``current`` already means ``wanted`` (see the module doc)."""
    if update_password not in UPDATE_PASSWORD:
        raise ValueError("update_password must be on_create or always, got %r" % (update_password,))
    if wanted is None:
        return None
    if key in SECRET_KEYS:
        if current is None or update_password == "always":
            return property_string.to_text(wanted)
        return None
    name = config_keys.schema_name(kind, key)
    if name is None:
        raise InvalidRequest("%s is not a config key of a %s guest" % (key, kind))
    if key == "vmgenid" and kind == "qemu":
        return _vmgenid_text(wanted, current)
    fmt = config_keys.key_format(kind, key)
    if current is None and not fmt:
        current = OPTIONS[kind][name].get("default")  # a key not set means the schema's default
    special = _SPECIAL.get(key)
    if special:
        text = special(kind, key, wanted)
        return None if current is not None and special(kind, key, current) == text else text
    if key in config_keys.MIB_KEYS[kind] and not isinstance(wanted, dict):
        return _mib_text(kind, key, wanted, current)
    if fmt:
        return _property_text(kind, key, fmt, wanted, current)
    return _scalar_text(OPTIONS[kind][name].get("type"), key, wanted, current)


def masked(config):
    """``config`` with the values of SECRET_KEYS replaced by ``********``."""
    if not isinstance(config, dict):
        return config
    return {key: (MASK if key in SECRET_KEYS and value is not None else value) for key, value in config.items()}


def _property_text(kind, key, fmt, wanted, current):
    if isinstance(wanted, (list, tuple)) and fmt == "qemu_boot":
        wanted = {"order": list(wanted)}
    if not isinstance(wanted, dict):
        return _property_string_text(kind, key, fmt, property_string.to_text(wanted), current)
    desired = {sub: property_string.DELETE if value is None else value for sub, value in wanted.items()}
    if config_keys.is_volume_key(kind, key):
        desired = {sub: value for sub, value in desired.items() if sub not in config_keys.VOLUME_EXTRAS}
    have = property_string.parse(current, fmt) if current is not None else {}
    desired = {sub: value for sub, value in desired.items() if not _is_unset_default(fmt, sub, value, have)}
    if fmt == "qemu_boot" and "order" in desired and "legacy" not in desired:
        # qemu-server src/PVE/QemuServer.pm device_bootorder: a legacy= value still set wins over order=
        desired["legacy"] = property_string.DELETE
    _add_cdrom_media(fmt, desired, have)
    text, changed = property_string.merge(current or "", desired, fmt)
    return text if changed else None


def _add_cdrom_media(fmt, values, current):
    """``media=cdrom`` for a drive whose file is ``none``, ``cdrom`` or an ISO image, when neither the request nor
    the current value says a media: qemu-server src/PVE/API2/Qemu.pm resolve_cdrom_alias adds it to the
    ``cdrom`` alias the same way, and check_drive_param refuses an ISO without it."""
    if fmt not in CDROM_FORMATS or "media" in values or "media" in current:
        return
    file = values.get("file")
    if isinstance(file, str) and (file in ("none", "cdrom") or ":iso/" in file):
        values["media"] = "cdrom"


def _property_string_text(kind, key, fmt, text, current):
    """A property string given whole: the same as ``current`` when every sub-key means the same."""
    wanted = property_string.parse(text, fmt)
    have = property_string.parse(current, fmt) if current is not None else {}
    if config_keys.is_volume_key(kind, key):
        _drop_size(key, fmt, wanted, have)
    _add_cdrom_media(fmt, wanted, {})
    filled = FILLED_IN.get(fmt, ()) + (VOLUME_FILLED_IN if config_keys.is_volume_key(kind, key) else ())
    for sub_key in filled:
        if sub_key not in wanted and sub_key in have and _same_volume(kind, key, fmt, wanted, have, sub_key):
            wanted[sub_key] = have[sub_key]
    if current is not None and _same_parsed(wanted, have, fmt):
        return None
    return property_string.format(wanted, fmt, kept=have)


def _drop_size(key, fmt, wanted, have):
    """A volume's ``size=`` is what Proxmox recorded (grown by resize, read from the storage), never set by a config
    write: text copied from the config (same size) is fine, another size of the same volume asks for a grow that
    only the dict form does."""
    size = wanted.pop("size", None)
    default_key = property_string.fmt_table(fmt)["default_key"]
    same_volume = default_key in have and wanted.get(default_key) == have[default_key]
    if (
        size is not None
        and same_volume
        and "size" in have
        and not property_string.same_value("size", have.get("size"), size, fmt)
    ):
        raise InvalidRequest(
            "%s: size=%s in the text of a volume is not applied; give %s as a dict with size to grow it "
            "(%s: {size: %s, ...})" % (key, size, key, key, size)
        )


def _same_volume(kind, key, fmt, wanted, have, sub_key):
    """A volume's size is kept only for the same volume (another volume has its own size)."""
    if sub_key not in VOLUME_FILLED_IN or not config_keys.is_volume_key(kind, key):
        return True
    default_key = property_string.fmt_table(fmt)["default_key"]
    return wanted.get(default_key) == have.get(default_key)


def _same_parsed(wanted, have, fmt):
    """Every sub-key means the same; one left out on either side means the schema's default."""
    for sub in set(wanted) | set(have):
        mine, theirs = wanted.get(sub, _default(fmt, sub)), have.get(sub, _default(fmt, sub))
        if mine is None or theirs is None or not property_string.same_value(sub, theirs, mine, fmt):
            return False
    return True


def _default(fmt, sub_key):
    """The schema's default of a sub-key (what Proxmox uses when it is not written), or None."""
    return OPTIONS.get(fmt, {}).get(sub_key, {}).get("default")


def _is_unset_default(fmt, sub_key, value, have):
    """A wanted sub-key value that is the schema's default while the current string does not set it: nothing to
    write (``shared: false`` on a mount point without ``shared=``)."""
    default = _default(fmt, sub_key)
    if sub_key in have or default is None or value is property_string.DELETE:
        return False
    return property_string.same_value(sub_key, default, value, fmt)


def _scalar_text(schema_type, key, wanted, current):
    text = _scalar_form(schema_type, key, wanted)
    if current is not None and _scalar_form(schema_type, key, current, strict=False) == text:
        return None
    return text


def _scalar_form(schema_type, key, value, strict=True):
    """The text Proxmox stores for a scalar value (booleans 1/0, numbers without a needless ``.0``)."""
    try:
        typed = config_keys.typed_value(key, schema_type, value)
    except InvalidRequest:
        if strict:
            raise
        return property_string.to_text(value)  # a current value we cannot read is compared as its text
    if schema_type == "boolean":
        return "1" if typed else "0"
    return property_string.to_text(typed)


def _mib_text(kind, key, wanted, current):
    mib = config_keys.mib_value(kind, key, wanted)
    if current is not None:
        try:
            if config_keys.mib_value(kind, key, current) == mib:
                return None
        except InvalidRequest:
            pass
    return str(mib)


def _tags(kind, key, value):
    """pve-guest-common src/PVE/GuestHelpers.pm get_unique_tags (default tag-style: case-insensitive, sorted)."""
    items = _items(value)
    return ";".join(sorted({item.lower() for item in items}))


def _dns_list(kind, key, value):
    """pve-container src/PVE/LXC.pm verify_nameserver_list / verify_searchdomain_list: split_list, joined by a
    space (qemu-server src/PVE/QemuServer/Cloudinit.pm get_dns_conf splits the stored text on whitespace)."""
    return " ".join(_items(value))


def _sshkeys(kind, key, value):
    """The stored (URL-encoded) text of a list of keys; text given encoded or plain is decoded first.

    qemu-server src/PVE/CLI/qm.pm param_mapping stores ``URI::Escape::uri_escape`` of the file (every byte but
    ``A-Za-z0-9-._~`` as %XX: Python's quote with safe=""); src/PVE/QemuServer/Cloudinit.pm cloudinit_userdata
    reads it back with uri_unescape, one key per line, chomped, blank lines dropped.
    """
    lines = value if isinstance(value, (list, tuple)) else unquote(str(value)).split("\n")
    keys = [line.strip() for line in lines if line.strip()]
    return quote("\n".join(keys), safe="")


def _description(kind, key, value):
    """qemu-server src/PVE/QemuServer.pm parse_vm_config strips trailing whitespace (s/\\s+$//); pve-container
    src/PVE/LXC/Config.pm parse_pct_config ends every comment line with a newline."""
    return str(value).rstrip()


def _vmgenid_text(wanted, current):
    """``1`` asks for a generated UUID (qemu-server src/PVE/API2/Qemu.pm update_vm_api: ``vmgenid`` ``1`` is
    replaced by generate_uuid()), so it is met by any UUID already set; ``0`` turns it off."""
    text = "1" if wanted is True else "0" if wanted is False else str(wanted).strip()
    if text == "1":
        return None if current not in (None, "", "0") else "1"
    return None if current is not None and current.strip().lower() == text.lower() else text


# qemu-server src/PVE/QemuServer.pm parse_hotplug_features: the features, in $confdesc's order; "1" is the default
# "network,disk,usb", "0" none.
HOTPLUG_FEATURES = ("network", "disk", "cpu", "memory", "usb", "cloudinit")
HOTPLUG_DEFAULT = ("network", "disk", "usb")


def hotplug_features(value):
    """The set of hotplug features ``value`` (text, list, ``1``/``0``, a boolean) turns on."""
    if value is True or value == 1 or str(value).strip() == "1":
        return set(HOTPLUG_DEFAULT)
    if value is False or value == 0 or str(value).strip() == "0":
        return set()
    return set(_items(value))


def _hotplug(kind, key, value):
    features = hotplug_features(value)
    known = [feature for feature in HOTPLUG_FEATURES if feature in features]
    return ",".join(known + sorted(features - set(HOTPLUG_FEATURES))) or "0"


def cpuset(text):
    """pve-common src/PVE/CpuSet.pm parse_cpuset: ``0-3,8`` -> {0, 1, 2, 3, 8}; ValueError when it is not one."""
    members = set()
    for part in str(text).split(","):
        bounds = part.strip().split("-")
        if len(bounds) > 2 or not all(bound.isdigit() for bound in bounds):
            raise ValueError("invalid range: %s" % part)
        low, high = int(bounds[0]), int(bounds[-1])
        if high < low:
            raise ValueError("invalid range: %s (%d < %d)" % (part, high, low))
        members.update(range(low, high + 1))
    return members


def _affinity(kind, key, value):
    """The CPU set in its short form (``0-3,8``), so ``0,1,2,3,8`` = ``0-3,8``."""
    if isinstance(value, (list, tuple)):
        value = ",".join(str(item) for item in value)
    try:
        members = sorted(cpuset(value))
    except ValueError:
        return str(value)
    ranges, start = [], None
    for index, cpu in enumerate(members):
        start = cpu if start is None else start
        if index + 1 == len(members) or members[index + 1] != cpu + 1:
            ranges.append(str(start) if start == cpu else "%d-%d" % (start, cpu))
            start = None
    return ",".join(ranges)


def _items(value):
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if str(item).strip()]
    return property_string.split_list(value)


_SPECIAL = {
    "tags": _tags,
    "nameserver": _dns_list,
    "searchdomain": _dns_list,
    "sshkeys": _sshkeys,
    "description": _description,
    "hotplug": _hotplug,
    "affinity": _affinity,
}
