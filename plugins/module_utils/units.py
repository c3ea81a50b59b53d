# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size units as Proxmox writes them: ``32G``, ``512M``, ``1T``, ``1024K``, bare numbers.

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

import decimal
import math
import re
from fractions import Fraction

from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest

KIB = 1024
MIB = KIB * 1024
GIB = MIB * 1024
TIB = GIB * 1024
UNITS = {"": 1, "K": KIB, "M": MIB, "G": GIB, "T": TIB}
MAX_BYTES = 2**63 - 1  # Proxmox stores sizes as 64-bit integers
# number, then a unit letter (optionally followed by B or iB), or B alone for bytes, or nothing
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:I?B)?|(B))?\s*$", re.IGNORECASE)


def _unit(match, default_unit):
    """The unit letter of a ``_SIZE`` match: ``""`` for plain bytes (``4096B``), ``default_unit`` when none."""
    if match.group(2):
        return match.group(2).upper()
    return "" if match.group(3) else default_unit


def parse_size(value, default_unit="G", what="size"):
    """Return the number of bytes in ``value``.

    ``value`` is an int/float (counted in ``default_unit``) or a string such as ``32G``, ``512M``, ``1.5T``,
    ``32GiB``; a string without unit also counts in ``default_unit``. Proxmox itself writes sizes with a
    single-letter binary unit (``K``, ``M``, ``G``, ``T``) and treats a bare number in a config as bytes,
    callers choose ``default_unit=''`` for that case. Arithmetic is exact (fractions, no float rounding).
    """
    if isinstance(value, bool) or value is None:
        raise InvalidRequest("%s must be a size such as 32G or 512M, got %r" % (what, value))
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest("%s %r is not a number" % (what, value))
    if isinstance(value, (int, float)):
        number, unit = Fraction(value), default_unit
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise InvalidRequest("%s must be a size such as 32G, 512M or a number of GiB, got %r" % (what, value))
        number, unit = Fraction(match.group(1)), _unit(match, default_unit)
    size = number * UNITS[unit.upper()]
    if size > MAX_BYTES:
        raise InvalidRequest("%s %r is too large" % (what, value))
    if size.denominator != 1:
        raise InvalidRequest("%s %r is not a whole number of bytes" % (what, value))
    if size <= 0:
        raise InvalidRequest("%s must be positive, got %r" % (what, value))
    return int(size)


def format_size(size_bytes):
    """Format bytes the way Proxmox writes ``size=``: the largest unit that divides evenly (``32G``)."""
    for unit in ("T", "G", "M", "K"):
        if size_bytes and size_bytes % UNITS[unit] == 0:
            return "%d%s" % (size_bytes // UNITS[unit], unit)
    return str(size_bytes)


def gib_for_allocation(size_bytes):
    """The size in GiB as Proxmox's ``STORAGE:SIZE`` allocation syntax takes it (``4``, ``0.5``, ``0.09765625``).

    Proxmox turns that number into KiB (``convert_size`` gb -> kb), so every whole number of KiB has an exact
    decimal form (at most 20 decimals: a KiB is 2**-20 GiB); anything finer cannot be allocated as asked.
    """
    if size_bytes % KIB:
        raise InvalidRequest(
            "size %s cannot be written as GiB for a new disk: Proxmox allocates whole KiB" % format_size(size_bytes)
        )
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        text = format(decimal.Decimal(size_bytes) / decimal.Decimal(GIB), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_memory_mib(value, what="memory", allow_zero=False):
    """Return memory in MiB: an int is MiB, a string may carry a unit (``4G``, ``512M``, ``2048``).

    ``allow_zero`` accepts ``0`` (container swap); otherwise the amount must be positive.
    """
    positive = "a whole number of MiB of at least 0" if allow_zero else "a positive whole number of MiB"
    if isinstance(value, bool) or value is None:
        raise InvalidRequest("%s must be %s, got %r" % (what, positive, value))
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise InvalidRequest("%s must be %s, got %r" % (what, positive, value))
        value = int(value)
    if isinstance(value, int):
        mib = value
    else:
        text = str(value).strip()
        match = _SIZE.match(text)
        if re.match(r"^-?\d+$", text):
            mib = int(text)
        elif not match:
            raise InvalidRequest("%s must be %s or a size such as 4G, got %r" % (what, positive, value))
        else:
            size = Fraction(match.group(1)) * UNITS[_unit(match, "M")]
            if size.denominator != 1 or int(size) % MIB:
                raise InvalidRequest("%s %r is not a whole number of MiB" % (what, value))
            mib = int(size) // MIB
    if mib > MAX_BYTES // MIB:
        raise InvalidRequest("%s %r is too large" % (what, value))
    if mib < 0 or (mib == 0 and not allow_zero):
        raise InvalidRequest("%s must be %s, got %r" % (what, "at least 0" if allow_zero else "positive", value))
    return mib
