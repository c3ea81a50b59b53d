"""Shared by the generators in tools/: load the Proxmox VE API schema and reach a guest's config parameters.

The schema is proxmox/pve-docs api-viewer/apidata.js (commit a8736b6d6169ea9679ee02285ea36fdab42e85c3,
PVE 9.1), AGPL-3.0-or-later, (c) Proxmox Server Solutions GmbH; ../shared/pve-api/SOURCE.md says how it was made.
Every generated file keeps that note (LICENCE_NOTE).
"""

import json
import pprint
import re

DEFAULT_PATH = "../shared/pve-api/apidoc.json"
CONFIG_PATHS = {"qemu": "/nodes/{node}/qemu/{vmid}/config", "lxc": "/nodes/{node}/lxc/{vmid}/config"}

# Property-string formats of the guest config keys: table name -> (guest kind, config parameter). Most are
# expanded in the dump; the named formats it does not expand (QEMU `boot`, `ipconfig[n]`, `hostpci[n]`, `startup`...)
# are read from the parameter's typetext (typetext_format), QEMU `cpu` is QEMU_CPU below.
FORMAT_PARAMS = {
    "qemu_net": ("qemu", "net[n]"),
    "qemu_scsi": ("qemu", "scsi[n]"),
    "qemu_sata": ("qemu", "sata[n]"),
    "qemu_virtio": ("qemu", "virtio[n]"),
    "qemu_ide": ("qemu", "ide[n]"),
    "qemu_memory": ("qemu", "memory"),
    "qemu_unused": ("qemu", "unused[n]"),
    "qemu_efidisk": ("qemu", "efidisk0"),
    "qemu_tpmstate": ("qemu", "tpmstate0"),
    "qemu_cpu": ("qemu", "cpu"),
    "qemu_agent": ("qemu", "agent"),
    "qemu_amd_sev": ("qemu", "amd-sev"),
    "qemu_audio": ("qemu", "audio0"),
    "qemu_boot": ("qemu", "boot"),
    "qemu_cicustom": ("qemu", "cicustom"),
    "qemu_hostpci": ("qemu", "hostpci[n]"),
    "qemu_intel_tdx": ("qemu", "intel-tdx"),
    "qemu_ipconfig": ("qemu", "ipconfig[n]"),
    "qemu_ivshmem": ("qemu", "ivshmem"),
    "qemu_machine": ("qemu", "machine"),
    "qemu_numa": ("qemu", "numa[n]"),
    "qemu_rng": ("qemu", "rng0"),
    "qemu_smbios1": ("qemu", "smbios1"),
    "qemu_spice_enhancements": ("qemu", "spice_enhancements"),
    "qemu_startup": ("qemu", "startup"),
    "qemu_usb": ("qemu", "usb[n]"),
    "qemu_vga": ("qemu", "vga"),
    "qemu_virtiofs": ("qemu", "virtiofs[n]"),
    "qemu_watchdog": ("qemu", "watchdog"),
    "lxc_net": ("lxc", "net[n]"),
    "lxc_rootfs": ("lxc", "rootfs"),
    "lxc_mp": ("lxc", "mp[n]"),
    "lxc_unused": ("lxc", "unused[n]"),
    "lxc_dev": ("lxc", "dev[n]"),
    "lxc_features": ("lxc", "features"),
    "lxc_startup": ("lxc", "startup"),
}

# Numbered config keys (net[n], scsi[n]...): kind -> prefix -> number of slots, and where Proxmox defines them.
SLOTS = {
    "qemu": {
        "hostpci": 16,
        "ide": 4,
        "ipconfig": 32,
        "net": 32,
        "numa": 8,
        "parallel": 3,
        "sata": 6,
        "scsi": 31,
        "serial": 4,
        "unused": 256,
        "usb": 14,
        "virtio": 16,
        "virtiofs": 10,
    },
    "lxc": {"dev": 256, "mp": 256, "unused": 256, "net": 32},
}
SLOT_SOURCES = {
    "qemu": "qemu-server src/PVE/QemuServer/Drive.pm $MAX_IDE_DISKS/$MAX_SATA_DISKS/$MAX_SCSI_DISKS/"
    "$MAX_VIRTIO_DISKS/$MAX_UNUSED_DISKS; src/PVE/QemuServer.pm $MAX_NETS (also the ipconfig[n] count), "
    "$MAX_SERIAL_PORTS, $MAX_PARALLEL_PORTS; src/PVE/QemuServer/PCI.pm $MAX_HOSTPCI_DEVICES; "
    "src/PVE/QemuServer/USB.pm $MAX_USB_DEVICES; src/PVE/QemuServer/Memory.pm $MAX_NUMA; "
    "src/PVE/QemuServer/Virtiofs.pm $MAX_VIRTIOFS",
    "lxc": "pve-container src/PVE/LXC/Config.pm $MAX_MOUNT_POINTS, $MAX_UNUSED_DISKS, $MAX_LXC_NETWORKS, $MAX_DEVICES",
}

LICENCE_NOTE = """# Source: proxmox/pve-docs api-viewer/apidata.js, commit a8736b6d6169ea9679ee02285ea36fdab42e85c3
# (Proxmox VE 9.1 API schema). Licence of that data: AGPL-3.0-or-later,
# (c) Proxmox Server Solutions GmbH. See ../shared/pve-api/SOURCE.md in the development tree."""

# QEMU `cpu` uses the named format pve-vm-cpu-conf, which the dump does not expand (only its typetext lists the
# keys). Its sub-keys as qemu-server 9.2.6 defines them: src/PVE/QemuServer/CPUConfig.pm, $cpu_fmt (`level`
# is newer than the 9.1 schema dump; `reported-model` is refused in a VM's own cpu by validate_vm_cpu_conf).
QEMU_CPU = {
    "cputype": {"type": "string", "default_key": 1, "default": "kvm64"},
    "flags": {"type": "string", "pattern": r"[+-][a-zA-Z0-9\-_\.]+(;[+-][a-zA-Z0-9\-_\.]+)*"},
    "guest-phys-bits": {"type": "integer", "minimum": 32, "maximum": 64},
    "hidden": {"type": "boolean", "default": 0},
    "hv-vendor-id": {"type": "string", "pattern": r"[a-zA-Z0-9]{1,12}"},
    "level": {"type": "integer", "minimum": 0, "maximum": 4294967295},
    "phys-bits": {"type": "string"},
    "reported-model": {"type": "string"},
}


# One sub-key of a typetext: ``[[legacy=]<[acdn]{1,4}>]``, ``[,order=<device[;device...]>]``, ``[,up=\\d+]``.
# ``key=]`` marks the default key (written without ``key=``).
_TYPETEXT_PART = re.compile(r"(?:^|\[|,)(?P<key>[a-z][a-z0-9_-]*)=(?P<bare>\])?(?P<value><[^<>]*>|\\d\+)")


def typetext_format(typetext):
    """The sub-keys of a named format the dump does not expand, from the parameter's typetext (pve-common
    src/PVE/JSONSchema.pm generate_typetext writes it from the format): ``<1|0>`` is a boolean, ``<integer>``
    and ``\\d+`` integers, ``<a|b>`` of plain words an enum, anything else a string."""
    fmt = {}
    for match in _TYPETEXT_PART.finditer(typetext):
        value = match.group("value")
        inner = value[1:-1] if value.startswith("<") else value
        if inner == "1|0":
            spec = {"type": "boolean"}
        elif inner in ("integer", r"\d+"):
            spec = {"type": "integer"}
        elif "|" in inner and all(re.fullmatch(r"[A-Za-z0-9_./]+", word) for word in inner.split("|")):
            spec = {"type": "string", "enum": inner.split("|")}
        else:
            spec = {"type": "string"}
        if match.group("bare"):
            spec["default_key"] = 1
        fmt[match.group("key")] = spec
    return fmt


def format_spec(props, kind, param):
    """The sub-key schema of a property-string config parameter (see FORMAT_PARAMS)."""
    if (kind, param) == ("qemu", "cpu"):
        return QEMU_CPU
    spec = props[kind][param]
    if isinstance(spec.get("format"), dict):
        return spec["format"]
    return typetext_format(spec["typetext"])


def format_names():
    """(kind, parameter) -> the name of its property-string table."""
    return {param: name for name, param in FORMAT_PARAMS.items()}


def index(nodes, out=None):
    """API path -> schema node, for the whole tree."""
    out = {} if out is None else out
    for node in nodes:
        out[node["path"]] = node
        index(node.get("children", []), out)
    return out


def config_properties(path):
    """kind ('qemu'/'lxc') -> the PUT parameters of that guest kind's config endpoint."""
    with open(path, encoding="utf-8") as handle:
        paths = index(json.load(handle))
    return {kind: paths[api]["info"]["PUT"]["parameters"]["properties"] for kind, api in CONFIG_PATHS.items()}


class _Printer(pprint.PrettyPrinter):
    """pprint, and a long string without spaces (QEMU ``machine`` type pattern) cut into pieces, so no line of
    the generated file is longer than ansible-test's pep8 limit (pprint only cuts strings at whitespace)."""

    _dispatch = dict(pprint.PrettyPrinter._dispatch)

    def _pprint_unspaced_str(self, text, stream, indent, allowance, context, level):
        room = self._width - indent - allowance - 2
        if re.search(r"\s", text) or len(repr(text)) <= room:
            return self._pprint_str(text, stream, indent, allowance, context, level)
        pieces = [text[i : i + room // 2] for i in range(0, len(text), room // 2)]
        stream.write(("\n" + " " * indent).join(repr(piece) for piece in pieces))
        return None

    _dispatch[str.__repr__] = _pprint_unspaced_str


def write_assignment(out, name, value):
    """``NAME = {...}`` formatted as ruff would keep it (continuation lines under the opening brace)."""
    prefix = f"{name} = "
    text = _Printer(width=120 - len(prefix), sort_dicts=True).pformat(value)
    out.write(prefix + text.replace("\n", "\n" + " " * len(prefix)) + "\n")
