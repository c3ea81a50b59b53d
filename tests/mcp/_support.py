"""Shared helpers of the bridge tests (importable from test modules; conftest.py holds the fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
MODULES = ("vm_resources", "container_resources", "vm_disk", "vm_nic", "container_nic", "guest_info")
SECRET = "stub-token-secret-4f9c2a"
INJECTION = "{{ lookup('pipe', 'touch /tmp/x') }}"


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


def audit_entries(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
