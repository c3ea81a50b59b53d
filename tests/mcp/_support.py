"""Shared helpers of the bridge tests (importable from test modules; conftest.py holds the fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
MODULES = (
    "vm_resources",
    "container_resources",
    "vm_disk",
    "vm_nic",
    "container_nic",
    "container_mountpoint",
    "guest_info",
    "guest_config",
)
# A plan id of the right form (plans.PLAN_ID_PATTERN) that no bridge signed.
FORGED_PLAN = "pvecfg-plan-1.e30." + "A" * 43
SECRET = "stub-token-secret-4f9c2a"
# What the injection would create if it ran (a name no other test or user of /tmp picks by chance).
INJECTED = Path("/tmp/pve-config-mcp-injected-7f3a")
INJECTION = f"{{{{ lookup('pipe', 'touch {INJECTED}') }}}}"

# A valid call per tool: the base that the table tests change one argument of.
VALID: dict[str, dict[str, Any]] = {
    "update_vm_resources": {"vmid": 100, "memory": 2048},
    "update_container_resources": {"vmid": 200, "swap": 512},
    "add_vm_disk": {"vmid": 100, "storage": "local-lvm", "size": "32G"},
    "resize_vm_disk": {"vmid": 100, "disk_id": "scsi0", "size": 64},
    "remove_vm_disk": {"vmid": 100, "disk_id": "scsi1"},
    "add_vm_network": {"vmid": 100},
    "remove_vm_network": {"vmid": 100, "interface_id": "net1"},
    "add_container_network": {"vmid": 200},
    "remove_container_network": {"vmid": 200, "interface_id": "net1"},
    "add_container_mountpoint": {"vmid": 200, "storage": "local-lvm", "size": "8G", "path": "/srv/data"},
    "resize_container_disk": {"vmid": 200, "disk_id": "rootfs", "size": 16},
    "remove_container_mountpoint": {"vmid": 200, "mountpoint_id": "mp0"},
    "plan_guest_config": {"vmid": 100, "config": {"memory": 2048}},
    "apply_guest_config": {"plan_id": FORGED_PLAN},
    "plan_fleet_config": {"select": {"tags": ["web"]}, "config": {"memory": 2048}},
    "apply_fleet_config": {"plan_id": FORGED_PLAN},
    "get_guest_config": {"vmid": 100},
}


def string_fields(spec) -> list[str]:
    """Argument names whose schema admits a string."""
    names = []
    for name, prop in spec.args.model_json_schema()["properties"].items():
        variants = prop.get("anyOf", [prop])
        if any(v.get("type") == "string" and "enum" not in v for v in variants):
            names.append(name)
    return names


class Stub:
    """The stub modules' state and the arguments they received."""

    def __init__(self, base: Path) -> None:
        self.state_dir = base / "state"
        self.state_dir.mkdir()
        self.record_path = base / "record.jsonl"
        self.record_path.touch()
        self.tmp_root = base / "runs"  # the runner's private data dirs (must be empty after every call)
        self.tmp_root.mkdir()

    @property
    def env(self) -> dict[str, str]:
        return {
            "STUB_STATE": str(self.state_dir),
            "STUB_RECORD": str(self.record_path),
            "PROXMOX_HOST": "pve.invalid",
            "PROXMOX_TOKEN_SECRET": SECRET,
        }

    def state(self) -> dict[str, Any]:
        return {p.stem: json.loads(p.read_text()) for p in self.state_dir.glob("*.json")}

    def guest(self, vmid: int) -> dict[str, Any]:
        return self.state().get(str(vmid), {})

    def seed(self, vmid: int, config: dict[str, Any]) -> None:
        (self.state_dir / f"{vmid}.json").write_text(json.dumps(config))

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record_path.read_text().splitlines()]

    def changes(self) -> list[dict[str, Any]]:
        """The calls of changing modules: without the guest_info reads (a destructive call reads the guest's
        protection first, access.py)."""
        return [call for call in self.calls() if call["module"] != "guest_info"]


def process_with_args(*args: str) -> int | None:
    """The pid of the process whose command line holds `args` in this order (e.g. a bridge's unique audit path)."""
    needle = ("\0".join(args) + "\0").encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    return None


def audit_entries(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
