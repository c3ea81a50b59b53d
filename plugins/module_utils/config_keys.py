# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which config keys a guest of each kind has, and a check of a whole ``config`` / ``absent`` request.

PRIVATE to the pve.config collection.

- ``key_format(kind, key)``: the property-string table (``schema_formats.FORMATS``) of a config key, or None for
  a scalar key: ``scsi3`` -> ``qemu_scsi``, ``mp2`` -> ``lxc_mp``, ``boot`` -> ``qemu_boot``.
- ``is_volume_key(kind, key)``: QEMU drive slots (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0),
  LXC ``rootfs`` and ``mpN``.
- ``check_keys(kind, config, absent)``: ``errors.InvalidRequest`` before any request for a key the schema does
  not have (naming the closest one), a read-only or meaningless key (saying why), a key both set and absent, and
  a value of the wrong type, out of range, not in the enum, a dict for a scalar key, an unknown sub-key, or a
  ``,``/``=``/control character smuggled into a value.

The keys are those of the API schema's ``/nodes/{node}/qemu|lxc/{vmid}/config`` (``option_ranges.OPTIONS['qemu']``
and ``['lxc']``, generated from it; numbered keys as ``net[n]`` with ``SLOTS`` slots each).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata

from ansible_collections.pve.config.plugins.module_utils import property_string, units, validate
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import OPTIONS, SLOTS
from ansible_collections.pve.config.plugins.module_utils.schema_formats import FORMATS

KINDS = ("qemu", "lxc")

# Volume keys: numbered drive/mount point slots and the single ones.
VOLUME_PREFIXES = {"qemu": ("ide", "sata", "scsi", "virtio"), "lxc": ("mp",)}
VOLUME_SINGLES = {"qemu": ("efidisk0", "tpmstate0"), "lxc": ("rootfs",)}
# Sub-keys a new volume's dict may carry besides its format's: they belong to create/grow, not to the text.
VOLUME_EXTRAS = ("storage", "size")

_READ_ONLY = "read-only: Proxmox writes it itself"
# Keys refused in `config` and `absent`, with the reason. The config GET returns some of them (digest, lock,
# vmstate, parent, snaptime, runningmachine, runningcpu, running-nets-host-mtu, meta: qemu-server
# src/PVE/API2/Qemu.pm vmconfig GET returns, src/PVE/QemuServer.pm $confdesc `meta`, `runningmachine`...), the
# others are parameters of the PUT that steer the request instead of being config (qemu-server
# src/PVE/API2/Qemu.pm update_vm_api: delete, revert, skiplock, force; pve-container src/PVE/API2/LXC/Config.pm).
REFUSED = {
    "digest": "the digest of the config is read, not set: give if_digest to refuse a plan made from another config",
    "lock": "Proxmox sets a lock while a task (backup, migrate, snapshot...) holds the guest; setting or removing "
    "it by hand would hide or fake one (pve.config waits for locks instead)",
    "vmstate": _READ_ONLY + " (the volume with a hibernated VM's RAM; removing it discards that state)",
    "parent": _READ_ONLY + " (the snapshot the current state is based on)",
    "snaptime": _READ_ONLY + " (a snapshot's creation time)",
    "runningmachine": _READ_ONLY + " (the machine type of the running QEMU process)",
    "runningcpu": _READ_ONLY + " (the CPU model of the running QEMU process)",
    "running-nets-host-mtu": _READ_ONLY + " (the host MTUs of the running VM's NICs)",
    "meta": _READ_ONLY + " (creation time and QEMU version, written when the VM is created)",
    "pending": "not a config key: pending changes are read back after a write",
    "delete": "a parameter of the request, not a config key: list the keys to remove in absent",
    "revert": "a parameter of the request, not a config key: give the value to go back to in config",
    "skiplock": "a parameter of the request that bypasses the guest's lock; pve.config waits for locks instead",
    "force": "a parameter of the request (forces deleting a disk): list the disk in absent, with purge to destroy it",
    "node": "selects the guest, it is not a config key: give the module's node option",
    "vmid": "selects the guest, it is not a config key: give the module's vmid option",
    "cdrom": "an alias of ide2 in the API: give ide2 (ide2: {file: local:iso/x.iso, media: cdrom} or none)",
    "lxc": "raw lxc.* lines are not writable through the API (only in the config file, as root)",
    # pve-container src/PVE/LXC/Config.pm update_pct_config: "unable to modify read-only option: 'unprivileged'"
    # and "unable to delete read-only option"
    # qemu-server src/PVE/API2/Qemu.pm `template` (POST .../template) -> QemuServer.pm template_create turns each
    # volume into a base volume (vdisk_create_base) before it sets the flag; pve-container LXC.pm template_create alike
    "template": "a guest becomes a template through POST .../template (qm/pct template), which turns its volumes "
    "into base volumes; writing the flag alone would not",
    "password": "not a config key: a container's root password is set only when it is created, a VM's cloud-init "
    "password is cipassword",
    "unprivileged": "cannot be changed after the container is created (pve-container update_pct_config refuses it)",
}
# unusedN: the slot a detached volume lands in (qemu-server vmconfig_register_unused_drive, pve-guest-common
# src/PVE/AbstractConfig.pm add_unused_volume); refused in `config`, allowed in `absent` (removes the slot, purge
# destroys the volume).
UNUSED_REASON = (
    "unused slots are made by Proxmox when a volume is detached: list the disk or mount point in absent "
    "(purge: true destroys the volume) or give the unused key in absent to drop or purge it"
)
# Keys a container cannot lose: pve-container src/PVE/LXC/Config.pm update_pct_config
# ("unable to delete required option").
REQUIRED = {"lxc": ("memory", "rootfs", "ostype")}

# Scalar keys whose text may hold line breaks: description (written as comment lines, qemu-server
# src/PVE/QemuServer.pm write_vm_config / pve-container src/PVE/LXC/Config.pm write_pct_config) and sshkeys
# (one key per line, URL-encoded before it is written: see config_values).
MULTILINE_KEYS = ("description", "sshkeys")
# Keys holding MiB that may be given with a unit (4G, 512M): units.parse_memory_mib. QEMU memory is the property
# string [current=]<MiB> (qemu-server src/PVE/QemuServer/Memory.pm $memory_fmt); zero allowed where the schema's
# minimum is 0 (balloon 0 disables the balloon device, swap 0 no swap).
MIB_KEYS = {"qemu": ("memory", "balloon"), "lxc": ("memory", "swap")}
# Keys given as a list (or as text with separators): see config_values.
LIST_KEYS = ("tags", "nameserver", "searchdomain", "sshkeys", "hotplug", "affinity")
# pve-common src/PVE/JSONSchema.pm $PVE_TAG_RE (pve_verify_tag)
TAG_RE = re.compile(r"^[a-z0-9_][a-z0-9_\-+.]*$", re.IGNORECASE)
# qemu-server src/PVE/QemuServer.pm parse_hotplug_features (1 = the default set, 0 = none)
HOTPLUG_ITEMS = ("network", "disk", "cpu", "memory", "usb", "cloudinit", "0", "1")
# pve-common src/PVE/CpuSet.pm parse_cpuset: N or N-M with M >= N
AFFINITY_ITEM = re.compile(r"^(\d+)(?:-(\d+))?$")
# pve-common src/PVE/JSONSchema.pm pve_verify_dns_name (format dns-name: VM name, container hostname; dns-name-list:
# a container's searchdomain items)
DNS_NAME = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")
DNS_NAME_KEYS = {"qemu": ("name",), "lxc": ("hostname", "searchdomain")}
# pve-common src/PVE/JSONSchema.pm parse_id (storage IDs)
STORAGE_ID = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", re.IGNORECASE)
# sub-key -> (IP version, words allowed instead of an address, address/prefix wanted)
ADDRESS_SUB_KEYS = {
    "ip": (4, ("dhcp", "manual"), True),
    "ip6": (6, ("auto", "dhcp", "manual"), True),
    "gw": (4, (), False),
    "gw6": (6, (), False),
}
_NUMBERED = re.compile(r"^([a-z][a-z0-9_-]*?)(\d+)$")


def schema_name(kind, key):
    """The schema's name of ``key`` (``net3`` -> ``net[n]``), or None when the kind has no such key."""
    table = OPTIONS[_kind(kind)]
    if key in table:
        return key
    match = _NUMBERED.match(str(key))
    if not match or match.group(2) != str(int(match.group(2))):  # net03 is not net3
        return None
    prefix, number = match.group(1), int(match.group(2))
    if prefix + "[n]" in table and number < SLOTS[kind].get(prefix, 0):
        return prefix + "[n]"
    return None


def key_format(kind, key):
    """The property-string table name of ``key`` (see the module doc), or None for a scalar key."""
    name = schema_name(kind, key)
    return OPTIONS[kind][name].get("format") if name else None


def is_volume_key(kind, key):
    if key in VOLUME_SINGLES[_kind(kind)]:
        return True
    name = schema_name(kind, key)
    return bool(name) and name[: -len("[n]")] in VOLUME_PREFIXES[kind]


def known_keys(kind):
    """Every key a guest of ``kind`` can have (numbered ones spelled out), for the closest-key hint."""
    keys = []
    for name in OPTIONS[_kind(kind)]:
        if name.endswith("[n]"):
            prefix = name[: -len("[n]")]
            keys.extend("%s%d" % (prefix, n) for n in range(SLOTS[kind].get(prefix, 0)))
        else:
            keys.append(name)
    return [key for key in keys if key not in REFUSED]


def closest_key(kind, key):
    matches = difflib.get_close_matches(str(key), known_keys(kind), n=1, cutoff=0.6)
    return matches[0] if matches else None


def check_keys(kind, config, absent):
    """InvalidRequest for the first key of ``config`` (dict) or ``absent`` (list) that cannot be written."""
    kind = _kind(kind)
    config = config or {}
    absent = list(absent or [])
    if not isinstance(config, dict):
        raise InvalidRequest("config must be a dict of config keys, got %s" % type(config).__name__)
    both = sorted(set(config) & set(absent))
    if both:
        raise InvalidRequest("%s given both in config and in absent: give each key in one of them" % ", ".join(both))
    for key in absent:
        _check_key(kind, key, "absent")
        if key in REQUIRED.get(kind, ()):
            raise InvalidRequest("absent: %s cannot be removed from a container (Proxmox requires it)" % key)
    for key, value in config.items():
        _check_key(kind, key, "config")
        check_value(kind, key, value)


def _check_key(kind, key, where):
    if not isinstance(key, str):
        raise InvalidRequest("%s: config keys are strings, got %r" % (where, key))
    if key in REFUSED:
        raise InvalidRequest("%s: %s cannot be managed: %s" % (where, key, REFUSED[key]))
    name = schema_name(kind, key)
    if name is None:
        hint = closest_key(kind, key)
        raise InvalidRequest(
            "%s: %s is not a config key of a %s%s"
            % (where, key, _KIND_WORDS[kind], "; did you mean %s?" % hint if hint else "")
        )
    if where == "config" and name == "unused[n]":
        raise InvalidRequest("config: %s cannot be set: %s" % (key, UNUSED_REASON))


def check_value(kind, key, value):
    """InvalidRequest when ``value`` cannot be the value of ``key`` (a known key of ``kind``)."""
    name = schema_name(kind, key)
    spec = OPTIONS[kind][name]
    fmt = spec.get("format")
    if value is None:
        raise InvalidRequest("config: %s has no value: list the key in absent to remove it" % key)
    if isinstance(value, dict):
        if not fmt:
            raise InvalidRequest("config: %s takes a single value, not a dict of sub-keys" % key)
        _check_sub_keys(kind, key, fmt, value)
        return
    if isinstance(value, (list, tuple)):
        _check_list(kind, key, fmt, value)
        return
    if key in MIB_KEYS[kind]:
        validate.check(kind, name, mib_value(kind, key, value), name=key)
        return
    if fmt:
        _check_property_text(key, fmt, value)
        return
    _check_scalar(kind, key, name, spec, value)


def _check_sub_keys(kind, key, fmt, value):
    table = FORMATS[fmt]
    extras = VOLUME_EXTRAS if is_volume_key(kind, key) else ()
    for sub_key, sub_value in value.items():
        if sub_key in extras:
            _check_volume_extra(key, sub_key, sub_value)
            continue
        if sub_key not in table["keys"]:
            hint = difflib.get_close_matches(str(sub_key), list(table["keys"]), n=1, cutoff=0.6)
            raise InvalidRequest(
                "config: %s has no sub-key %r%s"
                % (key, sub_key, "; did you mean %s?" % hint[0] if hint else " (known: %s)" % ", ".join(table["keys"]))
            )
        if sub_value is None:  # removes the sub-key
            continue
        _check_sub_value(key, fmt, sub_key, sub_value)


def _check_sub_value(key, fmt, sub_key, sub_value):
    name = "%s %s" % (key, sub_key)
    kind = FORMATS[fmt]["keys"][sub_key]
    if isinstance(sub_value, dict):
        raise InvalidRequest("config: %s must be a single value, not a dict" % name)
    if isinstance(sub_value, (list, tuple)):
        if (fmt, sub_key) not in property_string.LIST_SUB_KEYS:
            raise InvalidRequest("config: %s must be a single value, not a list" % name)
        for item in sub_value:
            property_string.checked_text(name, item)
            if ";" in property_string.to_text(item):
                raise InvalidRequest("config: %s item %r must not contain ';'" % (name, item))
        if sub_key in OPTIONS.get(fmt, {}):
            validate.check(fmt, sub_key, property_string.to_text(sub_value), name=name)
        return
    property_string.checked_text(name, sub_value, equals=(fmt, sub_key) in property_string.EQUALS_SUB_KEYS)
    _check_address_sub_key(name, fmt, sub_key, sub_value)
    typed = typed_value(name, kind, sub_value)
    if sub_key in OPTIONS.get(fmt, {}) and kind != "boolean":
        validate.check(fmt, sub_key, typed, name=name)


def _check_volume_extra(key, sub_key, value):
    """``storage`` and ``size`` of a new or grown volume: a storage ID (pve-common src/PVE/JSONSchema.pm parse_id)
    and a size (``10G``, ``512M``, a number of GiB)."""
    if sub_key == "storage":
        if not isinstance(value, str) or not STORAGE_ID.match(value):
            raise InvalidRequest(
                "config: %s storage must be a storage ID (letters, digits, - _ ., at least 2), got %r" % (key, value)
            )
    else:
        units.parse_size(value, default_unit="G", what="config: %s size" % key)


def _check_list(kind, key, fmt, value):
    if key == "boot" and kind == "qemu":  # a list is the boot order
        _check_sub_value(key, fmt, "order", value)
        return
    if key not in LIST_KEYS:
        raise InvalidRequest(
            "config: %s takes a single value, not a list (lists: %s, boot as its order)" % (key, ", ".join(LIST_KEYS))
        )
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise InvalidRequest("config: %s items must be non-empty strings, got %r" % (key, item))
        _check_item(kind, key, item)


def _check_item(kind, key, item):
    """One item of a list key: no separator or control character inside it, and the item's own syntax."""
    if key == "sshkeys":
        _no_control(key, item, allow="")
        return
    if re.search(r"[\s,;]", item) or any(unicodedata.category(char) == "Cc" for char in item):
        raise InvalidRequest("config: %s item %r must not contain spaces, ',', ';' or control characters" % (key, item))
    if key == "tags" and not TAG_RE.match(item):
        raise InvalidRequest(
            "config: tag %r must start with a letter, digit or _ and hold only letters, digits and _ - + ." % item
        )
    if key == "nameserver":
        _check_address(kind, item)
    if key in DNS_NAME_KEYS[kind] and not DNS_NAME.match(item):
        raise InvalidRequest("config: %s %r is not a DNS name (letters, digits and -, dot separated)" % (key, item))
    if key == "hotplug" and item not in HOTPLUG_ITEMS:
        raise InvalidRequest("config: hotplug feature %r must be one of %s" % (item, ", ".join(HOTPLUG_ITEMS)))
    match = AFFINITY_ITEM.match(item) if key == "affinity" else None
    if key == "affinity" and (not match or int(match.group(2) or match.group(1)) < int(match.group(1))):
        raise InvalidRequest("config: affinity item %r must be a CPU number or a rising range such as 0-3" % item)


def _list_items(key, text):
    # affinity is split on "," only (parse_cpuset); the others with pve-common split_list
    return [part.strip() for part in text.split(",")] if key == "affinity" else property_string.split_list(text)


def _check_address(kind, item):
    """One nameserver. A ``-list`` format checks each split_list item (pve-common src/PVE/JSONSchema.pm
    check_format): QEMU's ``address-list`` an IP address or a DNS name (pve_verify_address), a container's
    ``lxc-ip-with-ll-iface-list`` an IP address, a link-local IPv6 one may name its interface ``fe80::1%eth0``
    (pve-container src/PVE/LXC/Config.pm verify_ip_with_ll_iface)."""
    address, scope = item.split("%", 1) if kind == "lxc" and item.lower().startswith("fe80:") else (item, None)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if kind == "qemu" and DNS_NAME.match(item):
            return
        what = "an IP address or a DNS name" if kind == "qemu" else "an IP address"
        raise InvalidRequest("config: nameserver %r is not %s" % (item, what)) from None
    if scope is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,20}", scope):
        raise InvalidRequest("config: nameserver %r names no interface after %%" % item)


def _check_address_sub_key(name, fmt, sub_key, value):
    """IP settings of cloud-init (qemu-server src/PVE/QemuServer/Network.pm $ipconfig_fmt) and container NICs
    (pve-container src/PVE/LXC/Config.pm $netconf_desc): pve-common src/PVE/JSONSchema.pm pve_verify_ipv4_config
    (dhcp, manual or an IPv4 CIDR), pve_verify_ipv6_config (auto, dhcp, manual or an IPv6 CIDR), gw/gw6 an address."""
    rule = ADDRESS_SUB_KEYS.get(sub_key) if fmt in ("qemu_ipconfig", "lxc_net") else None
    if rule is None:
        return
    version, words, network = rule
    text = property_string.to_text(value).strip()
    if text in words:
        return
    try:
        parsed = ipaddress.ip_interface(text) if network else ipaddress.ip_address(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.version != version or (network and "/" not in text):
        shown = " or ".join(words + ("an IPv%d address/prefix" % version if network else "an IPv%d address" % version,))
        raise InvalidRequest("config: %s must be %s, got %r" % (name, shown, text))


def _check_property_text(key, fmt, value):
    default_key = FORMATS[fmt]["default_key"]
    boolean_default = default_key is not None and FORMATS[fmt]["keys"][default_key] == "boolean"
    if (isinstance(value, bool) and not boolean_default) or not isinstance(value, (str, int, float)):
        raise InvalidRequest("config: %s must be a property string or a dict of sub-keys, got %r" % (key, value))
    text = property_string.to_text(value)
    _no_control(key, text, allow="")
    parsed = property_string.parse(text, fmt)
    for sub_key, sub_value in parsed.items():
        if sub_key in FORMATS[fmt]["keys"] and sub_key in OPTIONS.get(fmt, {}):
            kind = FORMATS[fmt]["keys"][sub_key]
            if (fmt, sub_key) in property_string.LIST_SUB_KEYS:
                continue
            _check_address_sub_key("%s %s" % (key, sub_key), fmt, sub_key, sub_value)
            typed = typed_value("%s %s" % (key, sub_key), kind, sub_value)
            if kind != "boolean":
                validate.check(fmt, sub_key, typed, name="%s %s" % (key, sub_key))


def _check_scalar(kind, key, name, spec, value):
    what = "config: %s" % key
    if isinstance(value, str):
        _no_control(key, value, allow="\n\t" if key in MULTILINE_KEYS else "")
    typed = typed_value(what, spec.get("type"), value)
    if spec.get("type") != "boolean":
        validate.check(kind, name, typed, name=key)
    if key in DNS_NAME_KEYS[kind] and key not in LIST_KEYS and not DNS_NAME.match(typed):
        raise InvalidRequest("config: %s %r is not a DNS name (letters, digits and -, dot separated)" % (key, typed))
    if key in LIST_KEYS and isinstance(value, str):
        for item in value.split("\n") if key == "sshkeys" else _list_items(key, value):
            _check_item(kind, key, item)


def mib_value(kind, key, value):
    """MiB of a MIB_KEYS value: an integer is MiB, text may carry a unit (``4G``); QEMU memory also as
    ``current=4096``."""
    if isinstance(value, str) and key_format(kind, key):
        value = property_string.parse(value, key_format(kind, key)).get("current", value)
    minimum = OPTIONS[kind][schema_name(kind, key)].get("minimum")
    return units.parse_memory_mib(value, what=key, allow_zero=minimum == 0)


def typed_value(name, schema_type, value):
    """``value`` as the schema type says: an integer or number from its text (``"4"``, ``"2.5"``), a boolean from
    ``true``/``1``/``on``... (pve-common src/PVE/JSONSchema.pm parse_boolean), a string from a number."""
    if schema_type == "integer":
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        return validate.strict_int(name, value)
    if schema_type == "number":
        if isinstance(value, str):
            value = validate.number_text(name, value)
        return validate.strict_number(name, value)
    if schema_type == "boolean":
        word = property_string.to_text(value).strip().lower() if isinstance(value, (bool, int, str)) else None
        if word in property_string.TRUE_WORDS:
            return True
        if word in property_string.FALSE_WORDS:
            return False
        raise InvalidRequest("%s must be a boolean (true/false, 1/0, on/off, yes/no), got %r" % (name, value))
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidRequest("%s must be a string, got %r" % (name, value))
    return property_string.to_text(value)


def _no_control(key, text, allow):
    if any(unicodedata.category(char) == "Cc" and char not in allow for char in str(text)):
        raise InvalidRequest("config: %s %r must not contain control characters" % (key, text))


_KIND_WORDS = {"qemu": "VM", "lxc": "container"}


def _kind(kind):
    if kind not in KINDS:
        raise ValueError("guest kind must be qemu or lxc, got %r" % (kind,))
    return kind
