"""Shared by the generators in tools/: load the Proxmox VE API schema and reach a guest's config parameters.

The schema is proxmox/pve-docs api-viewer/apidata.js (commit a8736b6d6169ea9679ee02285ea36fdab42e85c3,
PVE 9.1), AGPL-3.0-or-later, (c) Proxmox Server Solutions GmbH; ../shared/pve-api/SOURCE.md says how it was made.
Every generated file keeps that note (LICENCE_NOTE).
"""

import json
import pprint

DEFAULT_PATH = "../shared/pve-api/apidoc.json"
CONFIG_PATHS = {"qemu": "/nodes/{node}/qemu/{vmid}/config", "lxc": "/nodes/{node}/lxc/{vmid}/config"}

# Property-string formats the collection reads: table name -> (guest kind, config parameter). QEMU `cpu` is
# QEMU_CPU below (the dump does not expand its format).
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
    "lxc_net": ("lxc", "net[n]"),
    "lxc_rootfs": ("lxc", "rootfs"),
    "lxc_mp": ("lxc", "mp[n]"),
    "lxc_unused": ("lxc", "unused[n]"),
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


def write_assignment(out, name, value):
    """``NAME = {...}`` formatted as ruff would keep it (continuation lines under the opening brace)."""
    prefix = f"{name} = "
    text = pprint.pformat(value, width=120 - len(prefix), sort_dicts=True)
    out.write(prefix + text.replace("\n", "\n" + " " * len(prefix)) + "\n")
