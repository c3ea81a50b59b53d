"""A stdio bridge stopped during a run (SIGTERM, SIGINT, stdin closed, SIGKILL), driven by the SDK's own client.

The bridge runs as a process with the stub collection (tests/mcp/fixtures/stub_module.py, its settings baked in:
a bridge's runs get no STUB_* environment); the stub module sleeps, then writes. Stopped like a cancel: the run's
process tree is gone, its data dir removed, the module never writes, and the audit log has an "interrupted" line
with a re-read of the guest. Then every file the bridge left behind is scanned for secrets.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from _support import SECRET, Stub, process_with_args
from conftest import build_stub_collection
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from test_mcp_runner import files_holding, processes_using

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "stub-password-91be"
HTTP_TOKEN = "stub-http-token-5d20"  # PVE_MCP_TOKEN: a bridge-only secret, in the bridge's environment
SLEEP = 4.0

pytestmark = pytest.mark.anyio


class ProcessStub(Stub):
    """The stub's state plus a collection whose modules read their settings from a file (no environment)."""

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.base = base
        self.settings = base / "stub-settings.json"
        self.settings.write_text(json.dumps({"STUB_STATE": str(self.state_dir), "STUB_RECORD": str(self.record_path)}))
        self.root = build_stub_collection(base / "collection", self.settings)
        self.audit = base / "audit.jsonl"
        self.errlog = base / "bridge-stderr.log"

    def sleep(self, seconds: float) -> None:
        self.settings.write_text(json.dumps({**json.loads(self.settings.read_text()), "STUB_SLEEP": str(seconds)}))

    def audit_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()] if self.audit.exists() else []

    def bridge_pid(self) -> int | None:
        return process_with_args("--audit-log", str(self.audit))


@pytest.fixture
def pstub(tmp_path: Path) -> ProcessStub:
    return ProcessStub(tmp_path)


def bridge_env(pstub: ProcessStub) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_"))}
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        TMPDIR=str(pstub.tmp_root),  # the runs' data dirs
        PROXMOX_HOST="127.0.0.1:9",  # nothing listens there (the stub modules never connect)
        PROXMOX_USER="stub@pve",
        PROXMOX_TOKEN_ID="stub",
        PROXMOX_TOKEN_SECRET=SECRET,
        PROXMOX_PASSWORD=PASSWORD,
        PROXMOX_TIMEOUT="3",
        PVE_MCP_TOKEN=HTTP_TOKEN,
    )
    return env


@asynccontextmanager
async def stdio_bridge(pstub: ProcessStub):
    env = bridge_env(pstub)
    args = ["-m", "mcp_bridge", "--collections-path", str(pstub.root), "--audit-log", str(pstub.audit)]
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(REPO))
    with pstub.errlog.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


async def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await anyio.sleep(0.1)


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]


def assert_nothing_left(pstub: ProcessStub) -> None:
    """No process of a run, no data dir, no write by the module (after its sleep), no secret in any file; and
    the runs got the Proxmox credentials but never the bridge-only PVE_MCP_TOKEN."""
    for call in pstub.calls():
        assert "PROXMOX_TOKEN_SECRET" in call["env"] and "PVE_MCP_TOKEN" not in call["env"]
    assert processes_using(pstub.tmp_root) == []
    assert os.listdir(pstub.tmp_root) == []
    time.sleep(SLEEP + 1)
    assert pstub.state() == {}
    assert files_holding(pstub.base, SECRET, PASSWORD, HTTP_TOKEN) == []


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "stdin closed"])
async def test_a_stopped_bridge_stops_its_runs_like_a_cancel(pstub, how):
    pstub.sleep(SLEEP)
    answers: list[Any] = []
    async with stdio_bridge(pstub) as client:
        pid = pstub.bridge_pid()
        assert pid is not None

        async def call() -> None:
            try:
                answers.append(await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 512}))
            except Exception as exc:  # noqa: BLE001 - the connection may end before the answer
                answers.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await wait_for(pstub.calls)  # the module runs (and sleeps before it writes)
            if how == "stdin closed":
                tg.cancel_scope.cancel()  # leaving the client closes the bridge's stdin
            else:
                os.kill(pid, getattr(signal, how))
                await wait_for(lambda: answers)
    await wait_for(lambda: gone(pid), timeout=10)
    lines = pstub.audit_lines()
    assert [(e["tool"], e["outcome"]) for e in lines] == [("update_vm_resources", "interrupted")]
    assert "reread" in lines[0]  # what the guest looks like now (a guest_info run, here the stub's)
    if how != "stdin closed":
        assert answers[0].is_error and f"shutting down ({how})" in answers[0].content[0].text
    assert_nothing_left(pstub)


async def test_a_killed_bridge_leaves_no_run_and_no_secret(pstub):
    pstub.sleep(SLEEP)
    async with stdio_bridge(pstub) as client:
        pid = pstub.bridge_pid()
        assert not (await client.call_tool("get_guest_config", {"vmid": 100})).is_error  # a whole run first

        async with anyio.create_task_group() as tg:

            async def call() -> None:
                try:
                    await client.call_tool("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 4})
                except Exception:  # noqa: BLE001 - the bridge dies under it
                    pass

            tg.start_soon(call)
            await wait_for(lambda: len(pstub.calls()) == 2)
            os.kill(pid, signal.SIGKILL)
            await wait_for(lambda: gone(pid), timeout=10)
            await wait_for(lambda: not processes_using(pstub.tmp_root), timeout=5)
            tg.cancel_scope.cancel()
    assert_nothing_left(pstub)


async def test_a_cancelled_call_is_audited_with_a_reread_and_leaves_nothing(pstub):
    pstub.sleep(SLEEP)
    async with stdio_bridge(pstub) as client:
        with anyio.move_on_after(2.5):  # the SDK client sends notifications/cancelled
            await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 512})
        await wait_for(pstub.audit_lines, timeout=20)  # after the re-read, a guest_info run
        assert not (await client.call_tool("get_guest_config", {"vmid": 100})).is_error  # still serving
    lines = pstub.audit_lines()
    assert [(e["tool"], e["outcome"]) for e in lines] == [
        ("update_vm_resources", "cancelled"),
        ("get_guest_config", "ok"),
    ]
    assert "reread" in lines[0] and "reread" not in lines[1]
    assert_nothing_left(pstub)


async def test_an_http_bridge_stopped_by_sigterm_stops_its_runs_like_a_cancel(pstub):
    """The same through streamable HTTP: uvicorn's SIGTERM handling interrupts the bridge instead of waiting for
    the runs to finish."""
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    from mcp_bridge.testing import BridgeProcess

    pstub.sleep(SLEEP)
    env = {**bridge_env(pstub)}
    args = ["--collections-path", str(pstub.root), "--audit-log", str(pstub.audit)]
    bridge = BridgeProcess(args, env, pstub.errlog, cwd=REPO)
    answers: list[Any] = []
    try:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
        async with http, Client(streamable_http_client(bridge.url, http_client=http)) as client:
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    answers.append(await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 512}))

                tg.start_soon(call)
                await wait_for(pstub.calls)
                bridge.proc.send_signal(signal.SIGTERM)
                await wait_for(lambda: answers, timeout=15)
        assert bridge.proc.wait(timeout=15) is not None
    finally:
        bridge.stop()
    assert answers[0].is_error and "shutting down (SIGTERM)" in answers[0].content[0].text
    lines = pstub.audit_lines()
    assert [(e["tool"], e["outcome"]) for e in lines] == [("update_vm_resources", "interrupted")]
    assert "reread" in lines[0]
    assert_nothing_left(pstub)
