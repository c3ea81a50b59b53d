"""Fixtures for the bridge tests.

Unit and wiring tests run the real ansible-runner path against a stub collection (tests/mcp/fixtures/
stub_module.py copied once per module name into a temporary ``ansible_collections/pve/config``); the
end-to-end tests run the real collection against the simulator.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _support import FIXTURES, MODULES, SECRET, Stub

from mcp_bridge.audit import AuditLog
from mcp_bridge.config import load
from mcp_bridge.runner import ModuleRunner
from mcp_bridge.server import Bridge, build_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def build_stub_collection(root: Path, settings: Path | str = "") -> Path:
    """``root/ansible_collections/pve/config`` with the stub as every module; `settings`: see stub_module.py."""
    collection = root / "ansible_collections" / "pve" / "config"
    (collection / "plugins" / "modules").mkdir(parents=True)
    shutil.copy(Path(__file__).parents[2] / "galaxy.yml", collection / "galaxy.yml")
    source = "#!/usr/bin/python\n" + (FIXTURES / "stub_module.py").read_text().replace("@SETTINGS@", str(settings))
    for name in MODULES:
        (collection / "plugins" / "modules" / f"{name}.py").write_text(source.replace("@MODULE@", name))
    return root


@pytest.fixture(scope="session")
def stub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_stub_collection(tmp_path_factory.mktemp("stub-collections"))


@pytest.fixture
def stub(tmp_path: Path) -> Stub:
    return Stub(tmp_path)


@pytest.fixture
def make_bridge(stub_root: Path, stub: Stub, tmp_path: Path) -> Callable[..., Bridge]:
    """Bridge(bridge settings...) running the stub collection; audit log at tmp_path/audit.jsonl."""

    def make(*, env: dict[str, str] | None = None, pool_of=None, plans=None, **bridge: Any) -> Bridge:
        config = load(None, environ={}, overrides={"bridge": bridge})
        runner = ModuleRunner(stub_root, {**stub.env, **(env or {})}, secrets=[SECRET], tmp_root=stub.tmp_root)
        audit = AuditLog(tmp_path / "audit.jsonl", secrets=[SECRET])
        return Bridge(config, runner=runner, audit=audit, pool_of=pool_of, plans=plans)

    return make


@pytest.fixture
def make_server(make_bridge: Callable[..., Bridge]):
    def make(**kwargs: Any):
        return build_server(make_bridge(**kwargs))

    return make
