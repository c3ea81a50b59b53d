# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of option values against ``option_ranges.OPTIONS``, with one wording for every module.

PRIVATE to the pve.config collection.

- ``check(table, key, value, name=None)``: the value to write, or InvalidRequest
  ``"<name> must be <allowed>, got <value>"`` (the engine adds what the failure did: ``outcome.tell``). Integers refuse booleans (Ansible's ``int``
  type keeps ``True`` as ``True``, which would be written as ``1``), numbers refuse booleans, NaN and infinity,
  and ranges, ``also`` values, enums, lengths and patterns come from the table. Patterns match the whole value and are
  ASCII (``vmbr０`` with a full-width zero or ``eth١`` with an Arabic digit fail, issue 9.11).
- ``choices(table, key)``: the enum of an option, for an argument spec's ``choices``.
- ``allowed(table, key)``: the allowed values in words (``1 to 4094``, ``1 or 576 to 65520``), for docs and errors.

``table`` and ``key`` name an entry of ``option_ranges.OPTIONS`` (``check("qemu_net", "tag", 20)``).
"""

from __future__ import annotations

import math
import re

from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import OPTIONS

# How a value of a patterned option looks, for the error message (else the pattern itself is shown).
EXAMPLES = {
    "bridge": "vmbr0 (ASCII letters, digits, - _ .)",
    "name": "eth1 (ASCII letters, digits, - _ .)",
    "trunks": "10;20;30 or 100-110",
}


def option(table, key):
    """The table entry of ``key`` (KeyError for an option nobody tabled: a programming error)."""
    return OPTIONS[table][key]


def choices(table, key):
    return list(option(table, key)["enum"])


def allowed(table, key):
    """The allowed values in words, or None when the entry has no range and no enum."""
    spec = option(table, key)
    if "enum" in spec:
        return "one of " + ", ".join(str(v) for v in spec["enum"])
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is None and high is None:
        return None
    if low is not None and high is not None:
        words = "%s to %s" % (_num(low), _num(high))
    elif low is not None:
        words = "at least %s" % _num(low)
    else:
        words = "at most %s" % _num(high)
    also = spec.get("also")
    if also:
        words = " or ".join(_num(v) for v in also) + " or " + words
    return words


def check(table, key, value, name=None):
    """``value`` if ``OPTIONS[table][key]`` allows it; InvalidRequest naming the option and the value otherwise."""
    name = name or key
    spec = option(table, key)
    kind = spec.get("type")
    if kind == "integer":
        value = strict_int(name, value)
    elif kind == "number":
        if isinstance(value, str):  # a raw option given as text ("12.5" from a template or a quote)
            value = number_text(name, value)
        value = strict_number(name, value)
    if "enum" in spec and str(value) not in [str(v) for v in spec["enum"]]:
        raise InvalidRequest("%s must be %s, got %r" % (name, allowed(table, key), value))
    if kind in ("integer", "number") and not _in_range(spec, value):
        raise InvalidRequest("%s must be %s, got %s" % (name, allowed(table, key), _num(value)))
    if "maxLength" in spec and len(str(value)) > spec["maxLength"]:
        raise InvalidRequest(
            "%s must be at most %d characters long, got %d" % (name, spec["maxLength"], len(str(value)))
        )
    if "pattern" in spec and not re.fullmatch(spec["pattern"], str(value), re.ASCII):
        looks = EXAMPLES.get(key) or "the pattern %s" % spec["pattern"]
        raise InvalidRequest("%s must look like %s, got %r" % (name, looks, value))
    return value


def strict_int(name, value):
    """An integer that is not a boolean (``cores: true`` must not become ``cores: 1``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest("%s must be an integer, got %s" % (name, _shown(value)))
    return value


def number_text(name, text):
    """``"12.5"`` -> 12.5; InvalidRequest naming the option for anything that is not a number."""
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidRequest("%s must be a number, got %r" % (name, text)) from None


def strict_number(name, value):
    """A finite int or float that is not a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequest("%s must be a number, got %s" % (name, _shown(value)))
    return value


def _in_range(spec, value):
    if value in spec.get("also", ()):
        return True
    low, high = spec.get("minimum"), spec.get("maximum")
    return (low is None or value >= low) and (high is None or value <= high)


def _shown(value):
    if isinstance(value, bool):
        return "the boolean %s" % ("true" if value else "false")
    return repr(value)


def _num(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
