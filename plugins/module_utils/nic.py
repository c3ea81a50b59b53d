# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network interfaces of guests: ``netN`` slots, option checks and the plan shared by vm_nic and container_nic.

PRIVATE to the pve.config collection.

A module describes its NIC with a ``NicKind`` (property-string format, option table, what a new NIC gets by
default, extra checks on the resulting NIC); ``NicKind.plan`` turns the module's params and the parsed
current config into a ``Change``:

- ``state: absent`` deletes the slot (nothing to do when it is empty);
- ``state: present`` on an empty slot writes a new NIC (defaults first, Proxmox's key order);
- ``state: present`` on a NIC merges only the given sub-keys into it (``property_string.merge``), so the MAC
  address and every option not given are kept;
- ``if_exists: fail`` adds NICs only: an occupied ``interface`` (also one whose removal is pending), or a
  ``match_key`` value (vm_nic's MAC, container_nic's name) that an existing NIC has, is refused before any
  write, naming that NIC (issue 9.5's defect for disks, here for NICs).

The slot of a new NIC is remembered (``Change.remember``) so the engine's re-plan after the write looks at
the same NIC and reports the MAC address Proxmox generated.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.pve.config.plugins.module_utils import property_string, validate
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import OPTIONS, SLOTS

MAX_NICS = SLOTS["qemu"]["net"]  # = SLOTS["lxc"]["net"]
_SLOT = re.compile(r"^net(0|[1-9][0-9]*)$")
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$", re.IGNORECASE)
# Sub-keys whose absence means the same as this value, so asking for it on a NIC without the key is no change.
ABSENT_MEANS = {"firewall": False, "link_down": False}


# --- slots -----------------------------------------------------------------------------------------------


def slot_index(slot, inside_name="the name inside the guest"):
    """The number N of the slot ``netN``; InvalidRequest for anything else."""
    text = str(slot).strip()
    match = _SLOT.match(text)
    if not match:
        raise InvalidRequest(
            "interface must be a config slot net0 to net%d, got %r: interface is the key netN of "
            "the NIC in the guest config, not %s" % (MAX_NICS - 1, slot, inside_name)
        )
    index = int(match.group(1))
    if index >= MAX_NICS:
        raise InvalidRequest(
            "interface %s is out of range: Proxmox has the NIC slots net0 to net%d" % (text, MAX_NICS - 1)
        )
    return index


def nic_slots(config):
    """The ``netN`` keys of ``config``, in slot order."""
    found = [(int(m.group(1)), key) for key, m in ((k, _SLOT.match(k)) for k in config) if m]
    return [key for _index, key in sorted(found)]


def first_free_slot(config, label="the guest", current=None):
    """The lowest ``netN`` used neither in ``config`` nor in ``current`` (the values in effect now): a NIC whose
    removal is still pending keeps its slot, as a disk does (disk.first_free_slot), because writing that key would
    cancel the pending removal and replace the NIC (qemu-server PVE::QemuConfig remove_from_pending_delete in
    src/PVE/API2/Qemu.pm $update_vm_api)."""
    current = current or {}
    for index in range(MAX_NICS):
        slot = "net%d" % index
        if slot not in config and slot not in current:
            return slot
    raise InvalidRequest("all %d NIC slots of %s are in use (net0 to net%d)" % (MAX_NICS, label, MAX_NICS - 1))


# --- value checks (each returns the value to write, or raises naming the option and the value) ------------


def mac_address(name, value):
    """A unicast MAC address (``XX:XX:XX:XX:XX:XX``, first byte even, not all zero), written upper-case."""
    text = str(value).strip()
    if not _MAC.match(text):
        raise InvalidRequest("%s must be a MAC address such as BC:24:11:12:34:56, got %r" % (name, value))
    if int(text[:2], 16) & 1:
        raise InvalidRequest(
            "%s %s is a multicast address (odd first byte); a NIC needs a unicast MAC address" % (name, text)
        )
    if text.replace(":", "").strip("0") == "":
        raise InvalidRequest("%s must not be 00:00:00:00:00:00" % name)
    return text.upper()


def ip_config(version, words):
    """``dhcp``/``manual``(/``auto``) or an address with prefix length (``10.0.0.5/24``).

    As pve-common ``src/PVE/JSONSchema.pm`` pve_verify_ipv4_config / pve_verify_ipv6_config: a CIDR is an address
    as ``ip_address`` takes it, ``/`` and a prefix length of 8 to 32 (IPv4) or 8 to 128 (IPv6), in ASCII digits
    (pve_verify_cidrv4 / pve_verify_cidrv6); no netmask form (``/255.255.255.0``).
    """

    def check(name, value):
        text = str(value).strip()
        if text.lower() in words:
            return text.lower()
        address, _slash, prefix = text.partition("/")
        if not (_is_address(address, version) and _PREFIX.fullmatch(prefix) and 8 <= int(prefix) <= _BITS[version]):
            raise InvalidRequest(
                "%s must be %s or an IPv%d address with prefix length such as %s, got %r (prefix length 8 to %d)"
                % (name, ", ".join(words), version, _EXAMPLE[version], value, _BITS[version])
            )
        return text

    return check


def ip_address(version):
    """An IPv4/IPv6 address as pve-common's ``ipv4``/``ipv6`` formats take it (pve_verify_ipv4/pve_verify_ipv6:
    ``$IPV4RE``/``$IPV6RE`` of ``src/PVE/ParseUtils.pm``): ASCII digits and hex only, no zone or scope id
    (``fe80::1%eth0``, which Python's ``ipaddress`` would accept)."""

    def check(name, value):
        text = str(value).strip()
        if not _is_address(text, version):
            raise InvalidRequest("%s must be an IPv%d address, got %r" % (name, version, value))
        return text

    return check


def _is_address(text, version):
    if not text.isascii() or not _ADDRESS_CHARS.fullmatch(text):
        return False
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


# What $IPV4RE / $IPV6RE are made of: ASCII digits, hex, '.' and ':'. Everything else (a '%' scope id, '/') fails.
_ADDRESS_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
_PREFIX = re.compile(r"[0-9]{1,3}")
_BITS = {4: 32, 6: 128}
_EXAMPLE = {4: "192.0.2.10/24", 6: "2001:db8::10/64"}


def same_ip(current, desired):
    """Addresses compare by meaning (``2001:DB8::1/64`` = ``2001:db8:0::1/64``); words case-insensitively."""
    try:
        if "/" in str(current) or "/" in str(desired):
            return ipaddress.ip_interface(str(current)) == ipaddress.ip_interface(str(desired))
        return ipaddress.ip_address(str(current)) == ipaddress.ip_address(str(desired))
    except ValueError:
        return str(current).lower() == str(desired).lower()


# --- the option table ------------------------------------------------------------------------------------


class Field(object):
    """One module option that is a sub-key of the NIC property string (same name).

    Its type, range and choices are checked against ``option_ranges.OPTIONS[fmt]`` (``NicKind.check_params``);
    ``check`` adds what the table cannot say (MAC addresses, IP configs, ASCII names).
    """

    def __init__(self, name, type, check=None, choices=None, same=None):
        self.name = name
        self.type = type
        self.check = check
        self.choices = choices
        self.same = same  # (current text, desired) -> bool, when plain comparison is not enough

    def argspec(self):
        spec = dict(type=self.type)
        if self.choices:
            spec["choices"] = list(self.choices)
        return spec


BRIDGE = Field("bridge", "str")  # ASCII pattern of pve-bridge-id from the table
TAG = Field("tag", "int")
FIREWALL = Field("firewall", "bool")
LINK_DOWN = Field("link_down", "bool")
RATE = Field("rate", "raw")  # not float: Ansible's float type turns a boolean into 1.0; validate.check refuses it


class NicKind(object):
    """What differs between QEMU and LXC NICs.

    ``fmt``: property-string format. ``fields``: the option table. ``mac_key``: ``macaddr``/``hwaddr``.
    ``match_key``: the option that finds an existing NIC when no interface is given (its MAC or name).
    ``first_key``: written first in a new NIC (the required key). ``new_defaults(index)``: sub-keys of a new NIC
    when not given. ``check_nic(ctx, slot, values)``: checks of the resulting NIC that need the config.
    ``result_keys``: sub-keys reported in the result. ``inside_name``: words for the in-guest name (errors).
    """

    def __init__(
        self,
        fmt,
        fields,
        mac_key,
        match_key,
        first_key,
        new_defaults,
        check_nic=None,
        result_keys=(),
        inside_name="the name inside the guest",
    ):
        self.fmt = fmt
        self.fields = list(fields)
        self.by_name = {f.name: f for f in self.fields}
        self.mac_key = mac_key
        self.match_key = match_key
        self.first_key = first_key
        self.new_defaults = new_defaults
        self.check_nic = check_nic
        self.result_keys = tuple(result_keys) or (mac_key,)
        self.inside_name = inside_name

    def options(self):
        """The module's argument spec (without the shared auth and guest options)."""
        spec = dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            interface=dict(type="str"),
            if_exists=dict(type="str", default="update", choices=["update", "fail"]),
        )
        for field in self.fields:
            spec[field.name] = field.argspec()
        return spec

    def check_params(self, params):
        """Validate and normalise the params before any request."""
        if params.get("interface") is not None:
            index = slot_index(params["interface"], self.inside_name)
            params["interface"] = "net%d" % index
        elif params.get("state") == "absent":
            raise InvalidRequest("state=absent needs interface (the slot net0 to net%d to remove)" % (MAX_NICS - 1))
        for field in self.fields:
            if params.get(field.name) is None:
                continue
            if field.name in OPTIONS[self.fmt]:  # type, range and choices from the one table (option_ranges)
                params[field.name] = validate.check(self.fmt, field.name, params[field.name])
            if field.check:
                params[field.name] = field.check(field.name, params[field.name])

    def desired(self, params):
        """Sub-key -> value of every option given."""
        return {f.name: params[f.name] for f in self.fields if params.get(f.name) is not None}

    def plan(self, ctx):
        """The ``Change`` that brings the NIC to what ``ctx.params`` asks for."""
        params, config, label = ctx.params, ctx.config, ctx.guest.label
        slot = params.get("interface") or ctx.memory.get("interface")
        if params.get("state") == "absent":
            if slot not in config:  # also the re-plan after the removal: report the NIC that was removed
                return Change(result=self._result(slot, ctx.memory.get("removed", {})))
            current = property_string.parse(config[slot], self.fmt)
            return Change(
                delete=[slot],
                summary="remove %s" % slot,
                remember={"removed": current},
                result=self._result(slot, current),
            )
        desired = self.desired(params)
        if params.get("if_exists") == "fail" and "added" not in ctx.memory:  # not the re-plan after our own add
            self.refuse_existing(ctx, slot, desired)
        slot = slot or self.find(config, desired) or first_free_slot(config, label, ctx.state.current)
        if slot not in config:
            values = self.new_nic(slot, desired)
            self._check(ctx, slot, values, desired)
            return Change(
                set={slot: property_string.format(values, self.fmt)},
                remember={"interface": slot, "added": slot},
                summary="add %s" % slot,
                result=self._result(slot, values),
            )
        current = property_string.parse(config[slot], self.fmt)
        desired = self.unchanged_dropped(current, desired)
        text, changed = property_string.merge(config[slot], desired, self.fmt)
        values = property_string.parse(text, self.fmt)
        self._check(ctx, slot, values, desired)
        if not changed:
            return Change(result=self._result(slot, values), remember={"interface": slot})
        return Change(
            set={slot: text},
            remember={"interface": slot},
            summary="update %s (%s)" % (slot, ", ".join(changed)),
            result=self._result(slot, values),
        )

    def find(self, config, desired):
        """The slot of the NIC whose ``match_key`` (MAC or name) is the one asked for, if any."""
        wanted = desired.get(self.match_key)
        if wanted is None:
            return None
        for slot in nic_slots(config):
            value = property_string.parse(config[slot], self.fmt).get(self.match_key)
            if value is not None and property_string.same_value(self.match_key, value, wanted, self.fmt):
                return slot
        return None

    def refuse_existing(self, ctx, slot, desired):
        """``if_exists=fail``: InvalidRequest when ``slot`` holds a NIC (in the config or, its removal pending,
        still in effect) or when an existing NIC already has the ``match_key`` value asked for."""
        label = ctx.guest.label
        if slot is not None and (slot in ctx.config or slot in ctx.state.current):
            raise InvalidRequest(
                "interface %s of %s is in use (%s); if_exists=fail adds NICs only" % (slot, label, describe(ctx, slot))
            )
        found = self.find(ctx.config, desired)
        if found is not None:
            raise InvalidRequest(
                "%s %s is already used by %s of %s (%s); if_exists=fail adds NICs only"
                % (self.match_key, desired[self.match_key], found, label, describe(ctx, found))
            )

    def new_nic(self, slot, desired):
        """Sub-keys of a new NIC: the required key first, then the others sorted, as Proxmox writes them."""
        values = dict(self.new_defaults(slot_index(slot)))
        values.update(self.unchanged_dropped({}, desired))
        ordered = {self.first_key: values.pop(self.first_key)}
        for key in sorted(values):
            ordered[key] = property_string.to_text(values[key])
        return ordered

    def unchanged_dropped(self, current, desired):
        """``desired`` without the values that already hold (also by meaning: absent = off, same address)."""
        kept = {}
        for key, value in desired.items():
            field = self.by_name.get(key)
            if key not in current:
                if key in ABSENT_MEANS and property_string.same_value(key, ABSENT_MEANS[key], value, self.fmt):
                    continue
            elif field is not None and field.same is not None and field.same(current[key], value):
                continue
            kept[key] = value
        return kept

    def _check(self, ctx, slot, values, desired):
        if self.check_nic:
            self.check_nic(ctx, slot, values, desired)

    def _result(self, slot, values):
        result = {"interface": slot}
        for key in self.result_keys:
            result[key] = values.get(key)
        return result


def describe(ctx, slot):
    """What a slot holds, for messages: its NIC string (a pending removal said so)."""
    if slot in ctx.config:
        return ctx.config[slot]
    return "%s, its removal pending until the guest reboots" % ctx.state.current[slot]


def other_nics(config, slot, fmt):
    """``{slot: parsed values}`` of the NICs in ``config`` other than ``slot``."""
    return {s: property_string.parse(config[s], fmt) for s in nic_slots(config) if s != slot}
