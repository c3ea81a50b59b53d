# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Access to the vendored subset of the Proxmox VE API schema.

``pve_api_subset.json`` holds, per path template and HTTP method, the schema dumped by
``PVE::RESTHandler::api_dump`` (see SOURCE.md).  This module loads it once and expands
the collapsed indexed keys (``net[n]`` -> ``net0`` .. ``net31``) with the limits the
Proxmox sources use, so the validator can treat every concrete key like PVE does.
"""

import copy
import functools
import json
import os
import re

_HERE = os.path.dirname(os.path.abspath(__file__))
SUBSET_FILE = os.path.join(_HERE, "pve_api_subset.json")

# Index ranges of collapsed keys (exclusive upper bound), from the Proxmox sources:
# qemu-server Drive.pm ($MAX_IDE_DISKS 4, $MAX_SCSI_DISKS 31, $MAX_VIRTIO_DISKS 16, $MAX_SATA_DISKS 6,
# $MAX_UNUSED_DISKS 256), QemuServer.pm ($MAX_NETS 32, $MAX_SERIAL_PORTS 4, $MAX_PARALLEL_PORTS 3),
# PCI.pm ($MAX_HOSTPCI_DEVICES 16), USB.pm ($MAX_USB_DEVICES 14), Memory.pm ($MAX_NUMA 8),
# Virtiofs.pm ($MAX_VIRTIOFS 10); pve-container LXC/Config.pm ($MAX_LXC_NETWORKS 32,
# $MAX_MOUNT_POINTS 256, $MAX_UNUSED_DISKS 256, $MAX_DEVICES 256).
INDEX_LIMITS = {
    "qemu": {
        "net": 32,
        "ipconfig": 32,
        "scsi": 31,
        "sata": 6,
        "ide": 4,
        "virtio": 16,
        "unused": 256,
        "hostpci": 16,
        "serial": 4,
        "parallel": 3,
        "usb": 14,
        "numa": 8,
        "virtiofs": 10,
    },
    "lxc": {"net": 32, "mp": 256, "unused": 256, "dev": 256},
}

_INDEXED = re.compile(r"^(?P<base>[a-z][a-z_-]*)\[n\]$")


# Sub-keys a newer qemu-server accepts than the vendored schema dump lists (real PVE 9 writes them, so seeded
# guests carry them and a client that keeps them verbatim must be able to write them back):
# qemu-server src/PVE/QemuServer/Network.pm $net_fmt 'host-tunnel' (boolean, VirtIO only).
NEWER_QEMU_NET_KEYS = {"host-tunnel": {"type": "boolean", "optional": 1}}


def _add_newer_keys(data):
    for template, methods in data["paths"].items():
        if guest_kind(template) != "qemu":
            continue
        for info in methods.values():
            for where in ("parameters", "returns"):
                prop = ((info.get(where) or {}).get("properties") or {}).get("net[n]")
                if prop and isinstance(prop.get("format"), dict):
                    prop["format"].update(copy.deepcopy(NEWER_QEMU_NET_KEYS))
    return data


@functools.lru_cache(maxsize=1)
def _load():
    with open(SUBSET_FILE, encoding="utf-8") as fh:
        return _add_newer_keys(json.load(fh))


def paths():
    """All path templates of the subset."""
    return sorted(_load()["paths"])


def method_info(template, method):
    """The schema entry (name, proxyto, parameters, returns ...) of one method, or None."""
    return _load()["paths"].get(template, {}).get(method)


def guest_kind(template):
    if "/qemu" in template:
        return "qemu"
    if "/lxc" in template:
        return "lxc"
    return None


def _expand(props, template):
    limits = INDEX_LIMITS.get(guest_kind(template) or "", {})
    out = {}
    for name, prop in props.items():
        m = _INDEXED.match(name)
        if m:
            base = m.group("base")
            count = limits.get(base)
            if count is None:
                raise KeyError("no index limit known for %s in %s" % (name, template))
            for i in range(count):
                out["%s%d" % (base, i)] = prop
        else:
            out[name] = prop
    return out


@functools.cache
def parameters(template, method):
    """Parameter properties of a method with indexed keys expanded to concrete keys.

    Returns ``(properties, additional_properties)``.
    """
    info = method_info(template, method)
    if info is None:
        raise KeyError("%s %s is not in the schema subset" % (method, template))
    params = info.get("parameters") or {}
    return _expand(params.get("properties") or {}, template), params.get("additionalProperties", 1)


@functools.cache
def config_properties(kind):
    """Schema of every config key of a guest kind (``PVE::QemuServer::json_config_properties``),
    taken from the GET config ``returns``; ``digest`` and LXC's raw ``lxc`` list are left out."""
    template = "/nodes/{node}/%s/{vmid}/config" % kind
    props = _expand(method_info(template, "GET")["returns"]["properties"], template)
    return {k: v for k, v in props.items() if k not in ("digest", "lxc")}


def option_exists(kind, key):
    return key in config_properties(kind)


def returns(template, method):
    info = method_info(template, method)
    return copy.deepcopy(info.get("returns")) if info else None
