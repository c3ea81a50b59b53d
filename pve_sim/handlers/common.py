# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Helpers shared by the guest handlers: typed output, pending arrays, drive/NIC strings."""

import itertools
import re

from .. import schema
from ..errors import HandlerError, ParamError
from ..validation import (
    find_default_key,
    format_size,
    parse_property_string,
    parse_size,
    print_property_string,
    split_list,
)

MiB = 1024**2
MAC_PREFIX = "BC:24:11"  # datacenter.cfg mac_prefix default since PVE 8.1

QEMU_CONFIG = "/nodes/{node}/qemu/{vmid}/config"
LXC_CONFIG = "/nodes/{node}/lxc/{vmid}/config"

# NEW_DISK_RE of qemu-server (Drive.pm) and pve-container (LXC.pm)
QEMU_NEW_DISK_RE = re.compile(r"^(([^/:\s]+):)?(\d+(\.\d+)?)$")
LXC_NEW_DISK_RE = re.compile(r"^([^:\s]+):(\d+(\.\d+)?)$")
DRIVE_RE = re.compile(r"^(ide|sata|scsi|virtio)(\d+)$|^(efidisk0|tpmstate0)$")


def clamp_cpu_shares(value):
    """``cpuunits`` as the update API stores it on a cgroup v2 node (the PVE 8/9 default).

    pve-common src/PVE/CGroup.pm clamp_cpu_shares, called from qemu-server src/PVE/API2/Qemu.pm update_vm_api and
    pve-container src/PVE/API2/LXC/Config.pm update_vm: v2 caps at 10000 and keeps lower values as they are
    ("v2 can be lower"); only v1 raises values below 2.
    """
    return str(min(int(value), 10000))


def true(value):
    """Perl truthiness of a parameter value."""
    return value not in (None, "", "0", 0, False)


def is_valid_drivename(key):
    if key in ("efidisk0", "tpmstate0"):
        return True
    m = re.match(r"^(ide|sata|scsi|virtio)(\d+)$", key)
    if not m:
        return False
    limits = schema.INDEX_LIMITS["qemu"]
    return int(m.group(2)) < limits[m.group(1)]


def typed_value(kind, key, value):
    """A config value as the JSON answer carries it: integers and booleans as numbers (parsed
    by ``check_type`` when the config is read), everything else as the raw string."""
    prop = schema.config_properties(kind).get(key)
    if prop is None or value is None:
        return value
    t = prop.get("type")
    if t == "integer" and re.match(r"^\d+$", str(value)):
        return int(value)
    if t == "boolean":
        if str(value).lower() in ("1", "on", "yes", "true"):
            return 1
        if str(value).lower() in ("0", "off", "no", "false"):
            return 0
    return value


def typed_config(kind, conf):
    return {k: typed_value(kind, k, v) for k, v in conf.items()}


def pending_array(guest):
    """``PVE::GuestHelpers::config_with_pending_array`` (digest included as a key)."""
    kind = guest.kind
    conf = dict(guest.config)
    conf["digest"] = guest.digest
    pending = dict(guest.pending)
    deletes = dict(guest.pending_delete)
    if kind == "qemu":
        if "cipassword" in conf:
            conf["cipassword"] = "**********"
        if "cipassword" in pending:
            pending["cipassword"] = "********** "
    res = []
    for key, value in conf.items():
        item = {"key": key, "value": typed_value(kind, key, value)}
        if key in pending:
            item["pending"] = typed_value(kind, key, pending.pop(key))
        if key in deletes:
            item["delete"] = 2 if deletes.pop(key) else 1
        res.append(item)
    for key, value in pending.items():
        res.append({"key": key, "pending": typed_value(kind, key, value)})
    for key in deletes:
        # the last loop of config_with_pending_array: the hash value is always true there
        res.append({"key": key, "delete": 2})
    return res


def check_lock(guest):
    """``PVE::AbstractConfig::check_lock``: ``VM is locked (backup)`` / ``CT is locked (...)``."""
    if guest.lock:
        raise HandlerError("%s is locked (%s)" % (guest.type_label, guest.lock))


def check_protection(guest, msg):
    if true(guest.config.get("protection")):
        raise HandlerError("%s - protection mode enabled" % msg)


def cleanup_pending(guest):
    """``PVE::AbstractConfig::cleanup_pending``."""
    changes = False
    for key in list(guest.pending):
        if key in guest.config and guest.pending[key] == guest.config[key]:
            del guest.pending[key]
            changes = True
    for key in list(guest.pending_delete):
        if key not in guest.config:
            del guest.pending_delete[key]
            changes = True
    return changes


def add_unused_volume(guest, volid, max_unused=256):
    """``PVE::AbstractConfig::add_unused_volume``: the lowest free ``unusedN``."""
    key = None
    for ind in range(max_unused - 1, -1, -1):
        test = "unused%d" % ind
        vid = guest.config.get(test)
        if vid:
            if vid == volid:
                return None
        else:
            key = test
    if key is None:
        raise HandlerError("Too many unused volumes - please delete them first.")
    guest.config[key] = volid
    return key


_mac_counter = itertools.count(0xA00000)


def random_mac():
    """A new unicast MAC with the Proxmox prefix (deterministic sequence, unique per process)."""
    n = next(_mac_counter) & 0xFFFFFF
    return "%s:%02X:%02X:%02X" % (MAC_PREFIX, n >> 16, (n >> 8) & 0xFF, n & 0xFF)


def parse_split_list(value):
    return split_list(value)


def param_format(template, key):
    props = schema.parameters(template, "PUT")[0]
    prop = props.get(key)
    return prop.get("format") if prop else None


# -- QEMU drives --------------------------------------------------------------------------------


def parse_drive(key, value):
    """``PVE::QemuServer::Drive::parse_drive`` (with-alloc schema); ``size`` becomes bytes."""
    fmt = param_format(QEMU_CONFIG, key)
    drive = parse_property_string(fmt, value, key)
    if drive.get("size") is not None:
        size = parse_size(drive["size"])
        if size is None:
            raise ParamError({key: "unable to parse drive options"})
        drive["size"] = size
    return drive


def print_drive(key, drive):
    return print_property_string(drive, param_format(QEMU_CONFIG, key))


def drive_is_cdrom(drive):
    return drive.get("media") == "cdrom"


def drive_is_cloudinit(drive):
    return bool(re.search(r"[:/]vm-\d+-cloudinit", drive.get("file", "")))


# -- QEMU NICs ----------------------------------------------------------------------------------


def parse_net(key, value, autogen=True):
    net = parse_property_string(param_format(QEMU_CONFIG, key), value, key)
    if autogen and not net.get("macaddr"):
        net["macaddr"] = random_mac()
    return net


def print_net(key, net):
    return print_property_string(net, param_format(QEMU_CONFIG, key))


# -- LXC ----------------------------------------------------------------------------------------


def parse_lxc_net(key, value):
    net = parse_property_string(param_format(LXC_CONFIG, key), value, key)
    net["type"] = "veth"
    if not net.get("hwaddr"):
        net["hwaddr"] = random_mac()
    return net


def print_lxc_net(key, net):
    return print_property_string(net, param_format(LXC_CONFIG, key))


def parse_mountpoint(key, value):
    """``parse_volume`` for rootfs/mpN/unusedN; ``size`` as bytes."""
    fmt = param_format(LXC_CONFIG, key)
    mp = parse_property_string(fmt, value or "")  # no path, like parse_ct_mountpoint_full
    if mp.get("size") is not None:
        size = parse_size(mp["size"])
        if size is None:
            raise HandlerError("invalid size: %s" % mp["size"])
        mp["size"] = size
    if key == "rootfs":
        mp["mp"] = "/"
    volume = mp.get("volume", "")
    if volume.startswith("/dev/"):
        mp["type"] = "device"
    elif volume.startswith("/"):
        mp["type"] = "bind"
    else:
        mp["type"] = "volume"
    return mp


def print_mountpoint(key, mp):
    skip = ["type"]
    if key == "rootfs":
        skip.append("mp")
    return print_property_string(mp, param_format(LXC_CONFIG, key), skip=skip)


def disk_size_str(size):
    return format_size(size)


def default_key(fmt):
    return find_default_key(fmt)


def unique_tags(value):
    """pve-guest-common ``PVE::GuestHelpers::get_unique_tags`` with the default datacenter ``tag-style``
    (not case-sensitive, ordering by name): lowercased, sorted, duplicates dropped, joined with ``;``."""
    res = []
    for tag in sorted(split_list(value), key=str.lower):
        tag = tag.lower()
        if tag not in res:
            res.append(tag)
    return ";".join(res)
