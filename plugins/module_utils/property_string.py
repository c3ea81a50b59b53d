# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxmox property strings: ``virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1``.

PRIVATE to the pve.config collection.

One codec for every format, driven by the tables generated from the official API schema
(``schema_formats.FORMATS``): ``parse`` fills in the default key and resolves aliases, ``format`` is its
inverse, ``same_value`` compares two sub-key values the way Proxmox means them (``on`` = ``1``, MAC
addresses case-insensitive, ``1G`` = ``1024M``).
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.schema_formats import FORMATS
from ansible_collections.pve.config.plugins.module_utils.units import parse_size

TRUE_WORDS = ("1", "on", "yes", "true")
FALSE_WORDS = ("0", "off", "no", "false")
MAC_KEYS = ("macaddr", "hwaddr")


def fmt_table(fmt):
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError("unknown property-string format %r" % fmt) from None


def parse(text, fmt):
    """Parse a property string into an ordered dict of sub-key -> string value.

    ``virtio=BC:24:11:00:00:01,bridge=vmbr0`` with format ``qemu_net`` gives
    ``{'model': 'virtio', 'macaddr': 'BC:24:11:00:00:01', 'bridge': 'vmbr0'}``.
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
        else:
            key, value = None, part
        if key is None or (key not in table["keys"] and key not in table["aliases"]):
            if key is None and table["default_key"]:
                key = table["default_key"]
            else:
                raise InvalidRequest("cannot parse %r: unknown option %r" % (text, key if key is not None else part))
        if key in table["aliases"]:
            target, key_alias = table["aliases"][key]
            if key_alias:
                result[key_alias] = key
            key = target
        if key in result:
            raise InvalidRequest("cannot parse %r: option %r given twice" % (text, key))
        result[key] = value
    return result


def format(values, fmt):
    """Write ``values`` (ordered dict) as a property string; ``None`` values are left out.

    The default key comes first without ``key=``; a NIC's model and MAC are written in Proxmox's own
    ``virtio=BC:24:...`` form.
    """
    table = fmt_table(fmt)
    values = {k: _checked_text(k, v) for k, v in values.items() if v is not None}
    parts = []
    default_key = table["default_key"]
    model_alias = _model_alias(table)
    if model_alias and default_key in values and model_alias[0] in values and values[default_key] in table["aliases"]:
        parts.append("%s=%s" % (values.pop(default_key), values.pop(model_alias[0])))
    elif default_key in values:
        value = values.pop(default_key)
        # a bare value must not look like "key=value" and must not be blank, or it would not parse back
        parts.append(value if value.strip() and "=" not in value else "%s=%s" % (default_key, value))
    for key, value in values.items():
        if key not in table["keys"]:
            raise InvalidRequest("%r is not an option of this property string" % key)
        parts.append("%s=%s" % (key, value))
    return ",".join(parts)


def _checked_text(key, value):
    """``to_text(value)``; a comma would split the property string (and could smuggle in other options)."""
    text = to_text(value)
    if "," in text:
        raise InvalidRequest("%s %r must not contain a comma" % (key, text))
    return text


def _model_alias(table):
    """(target, default key) when values of the default key are alias names (NIC model=MAC)."""
    for _alias, (target, key_alias) in table["aliases"].items():
        if key_alias and key_alias == table["default_key"]:
            return target, key_alias
    return None


def to_text(value):
    """A Python value as Proxmox writes it in a property string (booleans as 1/0)."""
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
    kind = table["keys"].get(key, "string")
    text = to_text(value).strip()
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
    return format(merged, fmt), changed


class _Delete(object):
    def __repr__(self):
        return "DELETE"


DELETE = _Delete()
