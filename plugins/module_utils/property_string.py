# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxmox property strings: ``virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1``.

PRIVATE to the pve.config collection.

One codec for every format, driven by the tables generated from the official API schema
(``schema_formats.FORMATS``): ``parse`` fills in the default key and resolves aliases, ``format`` is its
inverse, ``merge`` changes some sub-keys of a current string, ``same_value`` compares two sub-key values the way
Proxmox means them (``on`` = ``1``, MAC addresses case-insensitive, ``1G`` = ``1024M``).

Forward compatible: a sub-key no table knows (a newer Proxmox writes ``cpu: host,guest-phys-bits=40`` or
``net0: ...,host-tunnel=1``) is kept by ``parse`` as it is, in its place, compared as a plain string and
written back unchanged by ``merge`` and by ``format(..., kept=...)``. The grammar is pve-common's
(``src/PVE/JSONSchema.pm`` parse_property_string): parts split on ``,``, ``key=value`` with the key up to the
first ``=``, at most one bare value (the default key), no key twice. Proxmox never returns a string it cannot
parse (qemu-server ``QemuServer.pm`` parse_vm_config drops such a key with "unable to parse value of"), so
those errors only come from hand-made input.

Only values taken from the current config (``kept``) are written as they are. Every other value (what a module
asks for) must not contain ``,`` (it would split the string and smuggle in other sub-keys), ``=`` or control
characters, and only sub-keys of the table may be added.
"""

from __future__ import annotations

import re
import unicodedata

from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.schema_formats import FORMATS
from ansible_collections.pve.config.plugins.module_utils.units import parse_size

TRUE_WORDS = ("1", "on", "yes", "true")
FALSE_WORDS = ("0", "off", "no", "false")
MAC_KEYS = ("macaddr", "hwaddr")
# Sub-keys whose value is a ``;`` list (format_description ``x[;x...]`` in the schema), compared item by item, in
# order: qemu-server src/PVE/QemuServer.pm $boot_fmt (order: pve-qm-bootdev-list, read by device_bootorder with
# PVE::Tools::split_list), src/PVE/QemuServer/CPUConfig.pm $cpu_fmt (flags: +FLAG[;-FLAG...]),
# src/PVE/QemuServer/PCI.pm $hostpci_fmt (host: HOSTPCIID[;HOSTPCIID2...]), src/PVE/QemuServer/Network.pm $net_fmt
# (trunks: vlanid[;vlanid...]), src/PVE/QemuServer/Memory.pm $numa_fmt (cpus, hostnodes: id[-id];...),
# pve-container src/PVE/LXC/Config.pm $rootfs_desc (mountoptions: opt[;opt...]), $netconf_desc (trunks) and
# $features_desc (mount: fstype;fstype;...).
LIST_SUB_KEYS = (
    ("qemu_boot", "order"),
    ("qemu_cpu", "flags"),
    ("qemu_hostpci", "host"),
    ("qemu_net", "trunks"),
    ("qemu_numa", "cpus"),
    ("qemu_numa", "hostnodes"),
    ("lxc_rootfs", "mountoptions"),
    ("lxc_mp", "mountoptions"),
    ("lxc_net", "trunks"),
    ("lxc_features", "mount"),
)
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$", re.IGNORECASE)


def fmt_table(fmt):
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError("unknown property-string format %r" % fmt) from None


def is_known(key, fmt):
    """Whether ``key`` is a sub-key of the format's table (else it is one a newer Proxmox knows)."""
    return key in fmt_table(fmt)["keys"]


def parse(text, fmt):
    """Parse a property string into an ordered dict of sub-key -> string value.

    ``virtio=BC:24:11:00:00:01,bridge=vmbr0`` with format ``qemu_net`` gives
    ``{'model': 'virtio', 'macaddr': 'BC:24:11:00:00:01', 'bridge': 'vmbr0'}``. Sub-keys the table does not know
    are kept with their text, in their place.
    """
    table = fmt_table(fmt)
    result = {}
    if text is None:
        return result
    text = str(text)
    if not text.strip():
        return result
    for part in text.split(","):
        if part == "":
            continue
        if "=" in part:
            key, value = part.split("=", 1)
        elif table["default_key"]:
            key, value = table["default_key"], part
        else:
            raise InvalidRequest(
                "cannot parse %r: %r has no key and this property string has no default key" % (text, part)
            )
        alias = table["aliases"].get(key) or _future_model(key, value, table, result)
        if alias:
            target, key_alias = alias
            if key_alias:
                _put(result, key_alias, key, text)
            key = target
        _put(result, key, value, text)
    return result


def _future_model(key, value, table, result):
    """``(macaddr, model)`` for ``igb=BC:24:...`` when ``igb`` is a NIC model newer than the table.

    Every NIC model is an alias of ``macaddr`` with key alias ``model`` (qemu-server
    ``src/PVE/QemuServer/Network.pm`` $net_fmt), so a newer Proxmox writes a new model the same way.
    """
    model_alias = _model_alias(table)
    if model_alias and key not in table["keys"] and model_alias[1] not in result and _MAC.match(value):
        return model_alias
    return None


def _put(result, key, value, text):
    if key in result:
        raise InvalidRequest("cannot parse %r: option %r given twice" % (text, key))
    result[key] = value


def format(values, fmt, kept=None):
    """Write ``values`` (ordered dict) as a property string; ``None`` values are left out.

    The default key comes first without ``key=``; a NIC's model and MAC are written in Proxmox's own
    ``virtio=BC:24:...`` form. ``kept``: the parsed current string; a value equal to its value there is written
    as it is (also for a sub-key the table does not know). Any other value is checked (``checked_text``).
    """
    table = fmt_table(fmt)
    kept = kept or {}
    values = {k: _written(k, v, table, kept, fmt) for k, v in values.items() if v is not None}
    parts = []
    default_key = table["default_key"]
    model_alias = _model_alias(table)
    if model_alias and default_key in values and model_alias[0] in values:
        parts.append("%s=%s" % (values.pop(default_key), values.pop(model_alias[0])))
    elif default_key in values:
        value = values.pop(default_key)
        # a bare value must not look like "key=value" and must not be blank, or it would not parse back
        parts.append(value if value.strip() and "=" not in value else "%s=%s" % (default_key, value))
    for key, value in values.items():
        parts.append("%s=%s" % (key, value))
    return ",".join(parts)


def _written(key, value, table, kept, fmt):
    """The text of one sub-key value: as it is when it comes from the current string, else checked."""
    if key in kept and str(value) == kept[key]:
        return kept[key]
    if key not in table["keys"]:
        raise InvalidRequest("%r is not an option of this property string" % key)
    return checked_text(key, value, equals=(fmt, key) in EQUALS_SUB_KEYS)


def checked_text(key, value, equals=False):
    """``to_text(value)`` for a new value: no ``,`` (it would split the property string and smuggle in other
    options), no ``=`` (unless ``equals``: a sub-key of EQUALS_SUB_KEYS) and no control characters (the config file
    is line based)."""
    text = to_text(value)
    if "," in text:
        raise InvalidRequest("%s %r must not contain a comma" % (key, text))
    if "=" in text and not equals:
        raise InvalidRequest("%s %r must not contain '='" % (key, text))
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise InvalidRequest("%s %r must not contain control characters" % (key, text))
    return text


def _model_alias(table):
    """(target, default key) when values of the default key are alias names (NIC model=MAC)."""
    for _alias, (target, key_alias) in table["aliases"].items():
        if key_alias and key_alias == table["default_key"]:
            return target, key_alias
    return None


# Sub-keys whose values may hold "=": Base64 text padded with "=" (qemu-server src/PVE/QemuServer.pm $smbios1_fmt,
# "Base64 encoded string" with base64=1). Safe because pve-common src/PVE/JSONSchema.pm parse_property_string reads
# a part as /^([^=]+)=(.+)$/: the key ends at the first "=", and these are never the default key.
EQUALS_SUB_KEYS = tuple(
    ("qemu_smbios1", key) for key in ("family", "manufacturer", "product", "serial", "sku", "version")
)


def split_list(text):
    """pve-common src/PVE/ParseUtils.pm split_list: items separated by ``,``, ``;`` or whitespace (or NUL)."""
    text = "" if text is None else str(text)
    if "\0" in text:
        return text.split("\0")
    return re.sub(r"[,;]", " ", text).split()


def to_text(value):
    """A Python value as Proxmox writes it in a property string (booleans as 1/0, a list as ``a;b``)."""
    if isinstance(value, (list, tuple)):
        return ";".join(to_text(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise(key, value, fmt):
    """A comparable form of one sub-key value."""
    if value is None:
        return None
    table = fmt_table(fmt)
    if key not in table["keys"]:
        return to_text(value)  # a sub-key of a newer Proxmox: compared as the string it is
    kind = table["keys"][key]
    text = to_text(value).strip()
    if (fmt, key) in LIST_SUB_KEYS:
        return tuple(split_list(text))
    if kind == "boolean":
        low = text.lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
        return low
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if key in MAC_KEYS:
        return text.upper()
    if key == "size":
        try:
            return parse_size(text, default_unit="")
        except InvalidRequest:
            return text
    return text


def same_value(key, current, desired, fmt):
    return normalise(key, current, fmt) == normalise(key, desired, fmt)


def merge(current_text, desired, fmt):
    """Apply ``desired`` sub-keys to the property string ``current_text``.

    Returns ``(new_text, changed_keys)``. Sub-keys not in ``desired`` (or desired ``None``) are kept as they
    are, in their order; a sub-key whose desired value is the marker ``DELETE`` is removed. ``new_text`` is
    ``current_text`` unchanged when nothing differs, so untouched strings never show up in a diff.
    """
    current = parse(current_text, fmt)
    merged = dict(current)
    changed = []
    for key, value in desired.items():
        if value is None:
            continue
        if value is DELETE:
            if key in merged:
                del merged[key]
                changed.append(key)
            continue
        if key in current and same_value(key, current[key], value, fmt):
            continue
        merged[key] = to_text(value)
        changed.append(key)
    if not changed:
        return current_text, []
    return format(merged, fmt, kept=current), changed


class _Delete(object):
    def __repr__(self):
        return "DELETE"


DELETE = _Delete()
