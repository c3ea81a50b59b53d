"""Tasks end to end: the bridge as a process (stdio, and streamable HTTP with two principals' static tokens) driven
by the SDK's own client with the tasks extension (_tasks_client.py), running the real modules against the
simulator. A slow Proxmox task (the simulator's task_fault) keeps add_vm_disk running long enough to cancel it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import test_mcp_e2e
from _tasks_client import TasksClient, cancel_task, get_task, wait_for_task
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult
from mcp_types import INVALID_PARAMS
from test_mcp_e2e import bridge_env, run_dirs_left
from test_mcp_fleet import GUESTS, description
from test_mcp_fleet import PLAN as FLEET_PLAN
from test_mcp_fleet import server as fleet_server

from mcp_bridge.tasks import CreateTaskResult
from mcp_bridge.testing import BridgeProcess
from mcp_bridge.tokens import hash_token

REPO = Path(__file__).resolve().parents[2]
TOKENS = {
    "alice": "alice-token-" + "a" * 32,
    "bob": "bob-token-" + "b" * 32,
}
ADD = {"vmid": 102, "storage": "local-lvm", "size": 2}
WRITES = ("POST", "PUT", "DELETE")

pytestmark = pytest.mark.anyio
sim, fresh_sim = test_mcp_e2e.sim, test_mcp_e2e.fresh_sim  # the module's simulator, reset before each test


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Audit logs, server logs and `tmp/`, the bridges' TMPDIR (where the runs' data dirs go)."""
    path = tmp_path_factory.mktemp("tasks-bridge")
    (path / "tmp").mkdir()
    return path


@pytest.fixture(scope="module")
def http_bridge(sim, base) -> Iterator[BridgeProcess]:
    config = base / "bridge.toml"
    lines = []
    for name, token in TOKENS.items():
        scopes = ["pve:read", "pve:write", "pve:destroy"]
        lines += [
            "[[http.tokens]]",
            f'name = "{name}"',
            f'hash = "{hash_token(token)}"',
            f"scopes = {json.dumps(scopes)}",
        ]
    config.write_text("\n".join(lines) + "\n")
    # Cold runs: then TMPDIR holds no run of this bridge between calls (the stdio bridges are warm, checked after
    # they exit), so a cancelled run's data dir left behind would show.
    args = ["--config", str(config), "--audit-log", str(base / "http-audit.jsonl"), "--no-warm"]
    process = BridgeProcess(args, bridge_env(sim, base), base / "http-server.log", cwd=REPO)
    try:
        yield process
    finally:
        process.stop(timeout=10)


@asynccontextmanager
async def http_client(bridge: BridgeProcess, name: str, tasks: bool = True):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKENS[name]}"})
    extensions = [TasksClient()] if tasks else []
    async with http, Client(streamable_http_client(bridge.url, http_client=http), extensions=extensions) as client:
        yield client


@asynccontextmanager
async def stdio_client_of(sim, base: Path, name: str, *args: str):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_bridge", "--audit-log", str(base / f"{name}-audit.jsonl"), *args],
        env=bridge_env(sim, base),
        cwd=str(REPO),
    )
    with (base / f"{name}-server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), extensions=[TasksClient()]) as client:
            yield client


def audit(base: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (base / f"{name}-audit.jsonl").read_text().splitlines()]


def disks(sim, vmid: int) -> set[str]:
    current = sim.simulator.guest_config(vmid)
    return {k for k in {**current["config"], **current["pending"]} if k.startswith(("scsi", "virtio", "sata", "ide"))}


async def start_task(client: Client, tool: str, args: dict[str, Any]) -> CreateTaskResult:
    handle = await client.session.call_tool(tool, args, allow_claimed=True)
    assert isinstance(handle, CreateTaskResult), handle
    return handle


async def wait_for_writes(sim) -> None:
    with anyio.fail_after(60):
        while not [r for r in sim.simulator.requests() if r["method"] in WRITES]:
            await anyio.sleep(0.1)


async def cancel_mid_run(sim, client: Client) -> tuple[CreateTaskResult, dict[str, Any], set[str]]:
    """add_vm_disk as a task, cancelled while the module waits for its slow Proxmox task; the finished task and
    the guest's disks before the call."""
    sim.simulator.task_fault(type="any", exitstatus="OK", seconds=8)
    before = disks(sim, 102)
    handle = await start_task(client, "add_vm_disk", ADD)
    await wait_for_writes(sim)  # the module sent its write and now waits for the task
    await anyio.sleep(1)
    await cancel_task(client.session, handle.task_id)
    return handle, await wait_for_task(client.session, handle.task_id, timeout=60), before


def assert_reread_is_the_guest(sim, task: dict[str, Any]) -> None:
    """The cancelled task's re-read is the guest as Proxmox has it (the allocation may finish in Proxmox after
    the module stopped waiting; the re-read says which)."""
    assert task["status"] == "cancelled" and "guest 102 re-read after the stop" in task["statusMessage"]
    reread = task["_meta"]["pve.config/reread"]["102"]
    current = sim.simulator.guest_config(102)
    assert reread["guest_type"] == "qemu" and "scsi0" in reread["config"]
    assert set(reread["config"]) - {"digest"} <= set(current["config"]) | set(current["pending"])


async def test_http_task_survives_a_reconnect_and_is_invisible_to_another_principal(http_bridge, sim):
    before = disks(sim, 102)
    async with http_client(http_bridge, "alice") as client:
        handle = await start_task(client, "add_vm_disk", ADD)
        assert handle.status == "working"
    async with http_client(http_bridge, "bob") as client:
        with pytest.raises(MCPError) as refused:
            await get_task(client.session, handle.task_id)
        assert refused.value.error.code == INVALID_PARAMS and "not found" in refused.value.error.message
        with pytest.raises(MCPError):
            await cancel_task(client.session, handle.task_id)
    async with http_client(http_bridge, "alice") as client:  # a new session of the same principal
        task = await wait_for_task(client.session, handle.task_id)
    assert task["status"] == "completed", task
    result = CallToolResult.model_validate(task["result"])
    assert not result.is_error and result.structured_content["vmid"] == 102
    added = result.structured_content["disk"]
    assert disks(sim, 102) == before | {added}
    async with http_client(http_bridge, "alice", tasks=False) as client:  # no extension: the plain call
        plain = await client.call_tool("add_vm_disk", ADD)
    assert isinstance(plain, CallToolResult) and not plain.is_error
    assert set(plain.structured_content) == set(result.structured_content)


async def test_http_cancel_stops_the_run_and_the_task_says_what_persisted(http_bridge, sim, base):
    async with http_client(http_bridge, "alice") as client:
        handle, task, before = await cancel_mid_run(sim, client)
    assert_reread_is_the_guest(sim, task)
    [entry] = [e for e in audit(base, "http") if e.get("task") == handle.task_id]
    assert (entry["tool"], entry["outcome"], entry["principal"]) == ("add_vm_disk", "cancelled", "alice")
    assert entry["reread"] == task["_meta"]["pve.config/reread"]["102"]
    assert run_dirs_left(base) == []


async def test_stdio_task_polled_to_completion_then_expired(sim, base):
    async with stdio_client_of(sim, base, "stdio-expiry", "--task-ttl", "3") as client:
        handle = await start_task(client, "resize_vm_disk", {"vmid": 102, "disk_id": "scsi0", "size": 40})
        assert handle.ttl_ms == 3000
        task = await wait_for_task(client.session, handle.task_id)
        assert task["status"] == "completed" and not task["result"]["isError"], task
        assert task["result"]["structuredContent"]["changed"] is True
        with anyio.fail_after(15):
            while True:
                try:
                    await get_task(client.session, handle.task_id)
                except MCPError as exc:
                    assert exc.error.code == INVALID_PARAMS
                    break
                await anyio.sleep(0.5)
    assert "size=40G" in sim.simulator.guest_config(102)["config"]["scsi0"]
    [entry] = audit(base, "stdio-expiry")
    assert (entry["tool"], entry["outcome"], entry["task"]) == ("resize_vm_disk", "ok", handle.task_id)


async def test_stdio_cancel_stops_the_run(sim, base):
    async with stdio_client_of(sim, base, "stdio-cancel") as client:
        handle, task, before = await cancel_mid_run(sim, client)
    assert_reread_is_the_guest(sim, task)
    [entry] = audit(base, "stdio-cancel")
    assert (entry["outcome"], entry["task"]) == ("cancelled", handle.task_id)
    assert run_dirs_left(base) == []


async def test_fleet_plan_and_apply_as_tasks_and_a_cancelled_fleet_rereads_every_guest(sim, tmp_path):
    """In process (test_mcp_fleet.server: the real collection against the simulator)."""
    async with Client(fleet_server(sim, tmp_path), extensions=[TasksClient()]) as client:
        planning = await start_task(client, "plan_fleet_config", FLEET_PLAN)
        planned = await wait_for_task(client.session, planning.task_id)
        assert planned["status"] == "completed", planned
        plan = planned["result"]["structuredContent"]
        assert plan["vmids"] == GUESTS and plan["dry_run"] is True
        sim.simulator.set_latency(0.3)  # a slow cluster: the fleet takes seconds
        applying = await start_task(client, "apply_fleet_config", {"plan_id": plan["plan_id"]})
        await wait_for_writes(sim)
        await cancel_task(client.session, applying.task_id)
        task = await wait_for_task(client.session, applying.task_id, timeout=90)
    assert task["status"] == "cancelled", task
    rereads = task["_meta"]["pve.config/reread"]
    assert sorted(rereads) == sorted(str(vmid) for vmid in GUESTS)
    for vmid in GUESTS:  # the re-read says which guests got the change before the stop
        assert rereads[str(vmid)]["config"].get("description") == description(sim, vmid)
    assert any(description(sim, vmid) != "fleet via mcp" for vmid in GUESTS), "stopped before the last guest"
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["tool"], e["outcome"], e["task"]) for e in lines] == [
        ("plan_fleet_config", "ok", planning.task_id),
        ("apply_fleet_config", "cancelled", applying.task_id),
    ]
    assert lines[1]["rereads"] == rereads
