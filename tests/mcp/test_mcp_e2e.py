"""End to end: the bridge as a real process (stdio and streamable HTTP) driven by the SDK's own client, running
the real pve.config modules against the HTTPS simulator.

One simulator and one HTTP bridge serve the whole module (each test resets the simulator); stdio tests start
their own bridge process (that is the point of stdio).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from _support import INJECTED, INJECTION, VALID, process_with_args, string_fields
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import ElicitResult

from mcp_bridge.testing import BridgeProcess
from mcp_bridge.tools import TOOLS

pve_sim_testing = pytest.importorskip("pve_sim.testing")

REPO = Path(__file__).resolve().parents[2]
HTTP_TOKEN = "bridge-http-token-7d1e0b"
WRITES = ("POST", "PUT", "DELETE")

pytestmark = pytest.mark.anyio


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with pve_sim_testing.running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    sim.simulator.reset(realism=False)  # the ideal case unless a test turns realism on
    sim.simulator.clear_requests()
    yield
    sim.simulator.clear_faults()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    """Audit logs and captured server logs of every bridge process of this module (scanned for secrets), and
    `tmp/`, the bridges' TMPDIR: where their per-call data dirs and every temporary file of a run go."""
    path = tmp_path_factory.mktemp("bridge-artifacts")
    (path / "tmp").mkdir()
    return path


def bridge_env(sim, artifacts: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_"))}
    env.update({k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(artifacts / "tmp")
    return env


class HttpBridge:
    def __init__(self, sim, artifacts: Path, name: str = "http", args: tuple[str, ...] = ()) -> None:
        """`name`: the prefix of its audit log and server log in `artifacts`; `args`: more command-line flags."""
        self.audit = artifacts / f"{name}-audit.jsonl"
        self.log = artifacts / f"{name}-server.log"
        env = {**bridge_env(sim, artifacts), "PVE_MCP_TOKEN": HTTP_TOKEN}
        self.process = BridgeProcess(
            ["--audit-log", str(self.audit), "--max-parallel", "4", *args], env, self.log, cwd=REPO, start_timeout=60
        )
        self.proc = self.process.proc
        self.url = self.process.url

    def stop(self) -> None:
        self.process.stop(timeout=10)

    @asynccontextmanager
    async def client(self, **kwargs: Any):
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {HTTP_TOKEN}"})
        async with http, Client(streamable_http_client(self.url, http_client=http), **kwargs) as client:
            yield client


@pytest.fixture(scope="module")
def http_bridge(sim, artifacts) -> Iterator[HttpBridge]:
    bridge = HttpBridge(sim, artifacts)
    try:
        yield bridge
    finally:
        bridge.stop()


@asynccontextmanager
async def stdio_bridge(sim, artifacts: Path, name: str, *args: str, **client_kwargs: Any):
    audit = artifacts / f"{name}-audit.jsonl"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_bridge", "--audit-log", str(audit), *args],
        env=bridge_env(sim, artifacts),
        cwd=str(REPO),
    )
    with (artifacts / f"{name}-server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), **client_kwargs) as client:
            yield client


def run_dirs_left(artifacts: Path) -> list[str]:
    """What the bridges left in their TMPDIR besides the checkout's collection symlink dir of a running bridge
    (a stdio bridge removes its own when it exits): no data dir or temp file of any run."""
    return [p.name for p in (artifacts / "tmp").iterdir() if not p.name.startswith("pve-config-collections-")]


def text(result) -> str:
    return "\n".join(c.text for c in result.content)


def writes(sim) -> list[dict[str, Any]]:
    return [r for r in sim.simulator.requests() if r["method"] in WRITES]


def config(sim, vmid: int) -> dict[str, Any]:
    return sim.simulator.guest_config(vmid)


# -------------------------------------------------------------------------------------------------------- stdio


async def test_stdio_lists_tools_and_calls_every_tool(sim, artifacts):
    before_100 = config(sim, 100)
    async with stdio_bridge(sim, artifacts, "stdio") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {spec.name for spec in TOOLS}
        for spec in TOOLS:
            assert tools[spec.name].annotations == spec.annotations
            assert tools[spec.name].input_schema["additionalProperties"] is False
            assert tools[spec.name].output_schema["type"] == "object"

        # A dry run predicts and changes nothing.
        dry = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": "4G", "cores": 4, "dry_run": True})
        assert not dry.is_error, text(dry)
        assert dry.structured_content["changed"] is True and dry.structured_content["dry_run"] is True
        assert dry.structured_content["diff"]["after"]["cores"] in (4, "4")
        assert config(sim, 100) == before_100 and writes(sim) == []

        calls = [
            ("get_guest_config", {"vmid": 100}),
            ("update_vm_resources", {"vmid": 100, "memory": "4G", "cores": 4}),
            ("update_container_resources", {"vmid": 200, "memory": 1024, "swap": 256}),
            ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": "4G"}),
            ("resize_vm_disk", {"vmid": 100, "disk_id": "scsi1", "size": 8}),
            ("remove_vm_disk", {"vmid": 100, "disk_id": "scsi1"}),
            ("add_vm_network", {"vmid": 100, "bridge": "vmbr0", "tag": 20}),
            ("remove_vm_network", {"vmid": 100, "interface_id": "net1"}),
            ("add_container_network", {"vmid": 200}),
            ("remove_container_network", {"vmid": 200, "interface_id": "net1"}),
            ("add_container_mountpoint", {"vmid": 201, "storage": "local-lvm", "size": "1G", "path": "/srv/data"}),
            ("resize_container_disk", {"vmid": 201, "disk_id": "mp0", "size": 2}),
            (
                "remove_container_mountpoint",
                {"vmid": 201, "mountpoint_id": "mp0", "delete_volume": True, "confirm": True},
            ),
        ]
        results = {}
        for tool, args in calls:
            result = await client.call_tool(tool, args)
            assert not result.is_error, (tool, text(result))
            results[tool] = result.structured_content
            assert result.content[0].text == result.structured_content["summary"]

        # The same change again is a no-op.
        again = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": "4G", "cores": 4})
        assert again.structured_content["changed"] is False

    assert results["get_guest_config"]["name"] == "web01" and "scsi0" in results["get_guest_config"]["disks"]
    assert results["update_vm_resources"]["changed"] is True
    assert results["add_vm_disk"]["disk"] == "scsi1" and results["add_vm_disk"]["volume"]
    assert results["add_vm_network"]["interface"] == "net1" and results["add_vm_network"]["macaddr"]
    assert results["add_container_network"]["interface"] == "net1" and results["add_container_network"]["hwaddr"]
    assert (
        results["add_container_mountpoint"]["mountpoint"] == "mp0"
        and results["add_container_mountpoint"]["size"] == "1G"
    )
    assert results["resize_container_disk"]["size"] == "2G" and results["resize_container_disk"]["task"]
    destroyed = results["remove_container_mountpoint"]["destroyed_volume"]
    assert destroyed == results["add_container_mountpoint"]["volume"] and "mp0" not in config(sim, 201)["config"]
    after = config(sim, 100)
    merged = {**after["config"], **after["pending"]}
    assert merged["cores"] in ("4", 4) and "scsi1" not in merged and "net1" not in merged
    assert any(key.startswith("unused") for key in merged)  # detached, not destroyed
    ct = config(sim, 200)
    assert {**ct["config"], **ct["pending"]}["swap"] in ("256", 256)
    audit = [json.loads(line) for line in (artifacts / "stdio-audit.jsonl").read_text().splitlines()]
    assert [e["tool"] for e in audit] == ["update_vm_resources"] + [call[0] for call in calls] + ["update_vm_resources"]
    assert all(e["outcome"] == "ok" for e in audit)
    assert audit[0]["arguments"]["dry_run"] is True and audit[-1]["changed"] is False


async def test_stdio_read_only_mode(sim, artifacts):
    async with stdio_bridge(sim, artifacts, "stdio-ro", "--read-only") as client:
        assert [t.name for t in (await client.list_tools()).tools] == [
            "plan_guest_config",
            "get_guest_config",
            "plan_fleet_config",
        ]
        refused = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 512})
        assert refused.is_error
        assert not (await client.call_tool("get_guest_config", {"vmid": 101})).is_error
        planned = await client.call_tool("plan_guest_config", {"vmid": 101, "config": {"cores": 8}})
        assert not planned.is_error and planned.structured_content["changed"] is True, text(planned)
        applied = await client.call_tool("apply_guest_config", {"plan_id": planned.structured_content["plan_id"]})
        assert applied.is_error  # not offered in read-only mode
    assert writes(sim) == []


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_stdio_elicitation_guards_volume_destruction(sim, artifacts, answer):
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"destroy": True})
        return ElicitResult(action="decline")

    args = {"vmid": 101, "disk_id": "scsi1", "delete_volume": True}
    async with stdio_bridge(sim, artifacts, f"stdio-elicit-{answer}", elicitation_callback=elicit) as client:
        result = await client.call_tool("remove_vm_disk", args)
    assert len(asked) == 1 and "scsi1" in asked[0]
    remaining = {**config(sim, 101)["config"], **config(sim, 101)["pending"]}
    if answer == "accept":
        assert not result.is_error, text(result)
        assert result.structured_content["destroyed_volume"] == "local-lvm:vm-101-disk-1"
        assert "scsi1" not in remaining and "local-lvm:vm-101-disk-1" not in json.dumps(remaining)
    else:
        assert result.is_error and "did not confirm" in text(result)
        assert remaining["scsi1"].startswith("local-lvm:vm-101-disk-1") and writes(sim) == []


async def test_stdio_sigterm_during_a_disk_task_stops_the_run_and_audits_a_reread(sim, artifacts):
    """Issue 9.1: SIGTERM while add_vm_disk waits for its Proxmox task. The run's tree is stopped, its data dir
    removed, and the audit line says "interrupted" with what the bridge's own re-read of the guest shows."""
    sim.simulator.task_fault(type="any", exitstatus="OK", seconds=8)  # a slow allocation task
    audit = artifacts / "stdio-sigterm-audit.jsonl"
    answers = []
    async with stdio_bridge(sim, artifacts, "stdio-sigterm") as client:
        pid = process_with_args("--audit-log", str(audit))

        async def add_disk() -> None:
            answers.append(await client.call_tool("add_vm_disk", {"vmid": 102, "storage": "local-lvm", "size": 2}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(add_disk)
            deadline = time.monotonic() + 60
            while not writes(sim):  # the module sent its write and now waits for the task
                assert time.monotonic() < deadline
                await anyio.sleep(0.1)
            await anyio.sleep(1)
            os.kill(pid, signal.SIGTERM)
    assert answers[0].is_error and "shutting down (SIGTERM)" in text(answers[0])
    [entry] = [json.loads(line) for line in audit.read_text().splitlines()]
    assert (entry["tool"], entry["outcome"]) == ("add_vm_disk", "interrupted")
    reread = entry["reread"]
    assert reread["node"] in ("pve1", "pve2") and reread["guest_type"] == "qemu" and "scsi0" in reread["config"]
    current = config(sim, 102)
    assert set(reread["config"]) - {"digest"} <= set(current["config"]) | set(current["pending"])
    assert run_dirs_left(artifacts) == []


async def test_stdio_bridge_ignores_a_planted_collection_directory(sim, artifacts):
    """Issue 9.2: a directory another local user planted at the old predictable staging path (with a fake
    guest_info) must not be used; the bridge stages the checkout in a new private directory of its own."""
    planted = artifacts / "tmp" / f"pve-config-collections-{hashlib.sha1(str(REPO).encode()).hexdigest()[:10]}"
    modules = planted / "ansible_collections" / "pve" / "config" / "plugins" / "modules"
    modules.mkdir(parents=True)
    shutil.copy(REPO / "galaxy.yml", modules.parents[1] / "galaxy.yml")
    fake = "#!/usr/bin/python\nimport json\nprint(json.dumps({'changed': False, 'vmid': 100, 'name': 'planted'}))\n"
    (modules / "guest_info.py").write_text(fake)
    planted.chmod(0o777)
    try:
        async with stdio_bridge(sim, artifacts, "stdio-planted") as client:
            result = await client.call_tool("get_guest_config", {"vmid": 100})
    finally:
        shutil.rmtree(planted)
    assert not result.is_error, text(result)
    assert result.structured_content["name"] == "web01"


# --------------------------------------------------------------------------------------------------------- HTTP


async def test_http_add_vm_disk_refuses_an_occupied_slot_and_writes_nothing(http_bridge, sim):
    """Issue 9.5: {vmid: 101, storage: local-lvm, size: 64, disk_id: scsi0} grew the 32G boot disk to 64G (growth
    cannot be undone); with scsi1 it rewrote its cache and backup options. Now: refused, nothing written."""
    before = config(sim, 101)
    async with http_bridge.client() as client:
        for slot in ("scsi0", "scsi1"):
            args = {"vmid": 101, "storage": "local-lvm", "size": 64, "disk_id": slot, "cache": "writeback"}
            result = await client.call_tool("add_vm_disk", args)
            assert result.is_error and "in use" in text(result), text(result)
    assert writes(sim) == [] and config(sim, 101) == before


async def test_http_add_network_tools_refuse_an_existing_nic_and_write_nothing(http_bridge, sim):
    """The NIC side of issue 9.5: add_vm_network with interface_id net0 rewrote the VM's NIC (tag, bridge), and
    add_container_network with a name in use changed that interface. Now: refused, naming the NIC, nothing
    written; a free slot is still added."""
    before = {vmid: config(sim, vmid) for vmid in (101, 200)}
    calls = [
        ("add_vm_network", {"vmid": 101, "interface_id": "net0", "bridge": "vmbr1", "tag": 20}),
        ("add_vm_network", {"vmid": 101, "macaddr": "BC:24:11:00:01:01"}),
        ("add_container_network", {"vmid": 200, "interface_id": "net0", "ip": "10.0.0.5/24"}),
        ("add_container_network", {"vmid": 200, "name": "eth0", "bridge": "vmbr1"}),
    ]
    async with http_bridge.client() as client:
        refused = [await client.call_tool(tool, args) for tool, args in calls]
        assert writes(sim) == [] and {vmid: config(sim, vmid) for vmid in (101, 200)} == before
        added = await client.call_tool("add_vm_network", {"vmid": 101, "interface_id": "net1", "bridge": "vmbr1"})
    words = [
        "interface net0 of QEMU VM 101 is in use (virtio=BC:24:11:00:01:01,bridge=vmbr0",
        "macaddr BC:24:11:00:01:01 is already used by net0 of QEMU VM 101",
        "interface net0 of LXC container 200 is in use (name=eth0,",
        "name eth0 is already used by net0 of LXC container 200",
    ]
    for result, expected in zip(refused, words, strict=True):
        assert result.is_error and expected in text(result), text(result)
        assert "if_exists=fail adds NICs only; nothing was changed" in text(result)
    assert not added.is_error and added.structured_content["interface"] == "net1", text(added)
    assert config(sim, 101)["config"]["net0"] == before[101]["config"]["net0"]


async def test_http_results_carry_warnings_normalised_and_disk_rounding(http_bridge, sim):
    """Issue 13.8 wants the clamp warning "in the bridge's result": with realism on (cgroup v2 node), cpuunits
    20000 is stored as 10000 and the result says so in `warnings`, `normalised` and the summary, for the preview,
    the change and the no-op re-run. A disk size that is not whole MiB comes back with `size_rounded` and its
    `volume`."""
    sim.simulator.realism = True
    note = "cpuunits 20000 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"
    async with http_bridge.client() as client:
        preview, change, rerun = [
            await client.call_tool("update_vm_resources", {"vmid": 100, "cpuunits": 20000, "dry_run": dry_run})
            for dry_run in (True, False, False)
        ]
        disk = await client.call_tool("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": "4097K"})
    for result, changed in ((preview, True), (change, True), (rerun, False)):
        data = result.structured_content
        assert not result.is_error and data["changed"] is changed, text(result)
        assert data["warnings"] == [note] and data["normalised"] == [note], data
        assert data["summary"].endswith(f" [warning: {note}]") and data["summary"].count(note) == 1
    assert str(config(sim, 100)["config"]["cpuunits"]) == "10000"
    data = disk.structured_content
    assert not disk.is_error and data["size_rounded"] is True, text(disk)
    assert data["volume"] == config(sim, 100)["config"][data["disk"]].split(",")[0]
    assert data["volume"].startswith("local-lvm:vm-100-disk-") and "rounded up" in data["summary"]


async def test_http_refuses_requests_without_the_right_token_or_host(http_bridge):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.post(http_bridge.url, json=body, headers=headers)
        wrong = await http.post(http_bridge.url, json=body, headers={**headers, "Authorization": "Bearer nope"})
        basic = await http.post(http_bridge.url, json=body, headers={**headers, "Authorization": HTTP_TOKEN})
        auth = {**headers, "Authorization": f"Bearer {HTTP_TOKEN}"}
        rebound = await http.post(http_bridge.url, json=body, headers={**auth, "Host": "evil.example:80"})
        foreign = await http.post(http_bridge.url, json=body, headers={**auth, "Origin": "http://evil.example"})
    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert rebound.status_code == 421 and foreign.status_code == 403
    async with http_bridge.client() as client:  # and the right token works
        assert len((await client.list_tools()).tools) == len(TOOLS)


async def test_http_bad_input_is_a_tool_error_and_writes_nothing(http_bridge, sim):
    bad = [
        ("update_vm_resources", {"vmid": 100}),  # no option
        ("update_vm_resources", {"vmid": 100, "memory": 4}),  # schema range
        ("update_vm_resources", {"vmid": 100, "cores": "many"}),
        ("update_vm_resources", {"vmid": 100, "memory": 512, "api_token_secret": "x"}),  # credentials: never args
        ("update_vm_resources", {"vmid": 4242, "memory": 512}),  # the module's own check: no such guest
        ("update_container_resources", {"vmid": 100, "memory": 512}),  # a VM, not a container
        ("add_vm_disk", {"vmid": 100, "storage": "nope", "size": "4G"}),  # no such storage (module)
        ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": "4 GB"}),
        ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 4, "type": "nvme"}),
        ("resize_vm_disk", {"vmid": 101, "disk_id": "scsi1", "size": "10G"}),  # shrink: 100G -> 10G
        ("resize_vm_disk", {"vmid": 100, "disk_id": "scsi9", "size": "10G"}),  # empty slot, no storage
        ("remove_vm_network", {"vmid": 100, "interface_id": "eth0"}),
        ("add_vm_network", {"vmid": 100, "model": "virtio-net"}),
        ("add_container_network", {"vmid": 200, "ip": "dhcp4"}),
    ]
    async with http_bridge.client() as client:
        for tool, args in bad:
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, args, text(result))
            assert "Traceback" not in text(result) and text(result).startswith(f"Error executing tool {tool}")
    assert writes(sim) == []


async def test_http_injection_in_every_string_argument_is_refused(http_bridge, sim):
    assert not INJECTED.exists()
    cases = [(spec.name, field) for spec in TOOLS for field in string_fields(spec)]
    async with http_bridge.client() as client:
        for tool, field in cases:
            result = await client.call_tool(tool, {**VALID[tool], field: INJECTION})
            assert result.is_error, (tool, field)
    assert writes(sim) == [] and sim.simulator.requests() == []
    assert not INJECTED.exists()


async def test_http_delete_without_confirmation_deletes_nothing(http_bridge, sim):
    args = {"vmid": 101, "disk_id": "scsi1", "delete_volume": True}
    async with http_bridge.client() as client:  # a client without elicitation
        refused = await client.call_tool("remove_vm_disk", args)
        assert refused.is_error and "confirm: true" in text(refused)
        assert writes(sim) == [] and config(sim, 101)["config"]["scsi1"].startswith("local-lvm:vm-101-disk-1")

        confirmed = await client.call_tool("remove_vm_disk", {**args, "confirm": True})
        assert not confirmed.is_error, text(confirmed)
        assert confirmed.structured_content["destroyed_volume"] == "local-lvm:vm-101-disk-1"


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_http_elicitation(http_bridge, sim, answer):
    async def elicit(context, params):
        return (
            ElicitResult(action="accept", content={"destroy": True})
            if answer == "accept"
            else ElicitResult(action="decline")
        )

    async with http_bridge.client(elicitation_callback=elicit) as client:
        result = await client.call_tool("remove_vm_disk", {"vmid": 101, "disk_id": "scsi1", "delete_volume": True})
    assert result.is_error is (answer == "decline"), text(result)
    assert ("scsi1" in config(sim, 101)["config"]) is (answer == "decline")


async def test_http_a_write_accepted_before_a_failure_is_reported_and_audited_as_changed(http_bridge, sim):
    """Issue 9.3: with the task status unreadable, the result said "nothing was changed" while the disk existed,
    and a retry without disk_id added a second disk. The bridge passes on the module's re-read outcome and audits
    `changed: true` with what persisted; a retry on the same slot is refused (add_vm_disk creates only)."""
    sim.simulator.http_error(path="^/nodes/pve1/tasks/[^/]+/status$", method="GET", status=500, message="proxy loop")
    args = {"vmid": 100, "storage": "local-lvm", "size": "4G", "disk_id": "scsi1"}
    async with http_bridge.client() as client:
        failed = await client.call_tool("add_vm_disk", args)
        sim.simulator.clear_faults()
        retry = await client.call_tool("add_vm_disk", args)
    assert failed.is_error and "the write was accepted; its outcome: already applied: set scsi1" in text(failed)
    assert "nothing was changed" not in text(failed)
    entries = [json.loads(line) for line in http_bridge.audit.read_text().splitlines()]
    first = next(e for e in reversed(entries[:-1]) if e["tool"] == "add_vm_disk")
    assert (first["outcome"], first["changed"]) == ("failed", True)
    assert first["persisted"]["config"]["scsi1"].startswith("local-lvm:vm-100-disk-")
    assert retry.is_error and "in use" in text(retry)
    merged = {**config(sim, 100)["config"], **config(sim, 100)["pending"]}
    assert sorted(k for k in merged if k[:4] == "scsi" and k[4:].isdigit()) == ["scsi0", "scsi1"]  # no second disk


async def test_http_concurrent_calls_on_one_guest_lose_no_update(http_bridge, sim):
    results = {}

    async def call(client, key, tool, args):
        results[key] = await client.call_tool(tool, args)

    async with http_bridge.client() as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, client, "nic-a", "add_vm_network", {"vmid": 100, "tag": 10})
            tg.start_soon(call, client, "nic-b", "add_vm_network", {"vmid": 100, "tag": 11})
            tg.start_soon(call, client, "mem", "update_vm_resources", {"vmid": 100, "memory": 3072})
            tg.start_soon(call, client, "other", "update_vm_resources", {"vmid": 102, "cores": 3})
    for key, result in results.items():
        assert not result.is_error, (key, text(result))
    slots = {results["nic-a"].structured_content["interface"], results["nic-b"].structured_content["interface"]}
    assert slots == {"net1", "net2"}
    final = config(sim, 100)
    merged = {**final["config"], **final["pending"]}
    assert "tag=10" in merged[results["nic-a"].structured_content["interface"]]
    assert "tag=11" in merged[results["nic-b"].structured_content["interface"]]
    assert str(merged["memory"]) == "3072"


async def test_http_progress_for_disk_creation(http_bridge, sim):
    sim.simulator.task_fault(type="any", exitstatus="OK", seconds=2.5)  # a slow allocation task
    seen = []

    async def progress(value, total, message):
        seen.append((value, total, message))

    async with http_bridge.client() as client:
        result = await client.call_tool(
            "add_vm_disk", {"vmid": 102, "storage": "local-lvm", "size": 2}, progress_callback=progress
        )
    assert not result.is_error, text(result)
    values = [value for value, total, message in seen]
    assert len(seen) >= 2 and all(total for value, total, message in seen)
    assert values == sorted(values)


async def test_two_bridge_instances_on_one_guest_rely_on_the_digest(sim, tmp_path):
    """Scale-out: no shared lock between instances; Proxmox's digest keeps concurrent writes from clobbering."""
    from mcp_bridge.config import load
    from mcp_bridge.server import Bridge, build_server

    environ = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}

    def instance(name: str):
        return build_server(
            Bridge(load(None, environ=environ, overrides={"bridge": {"audit_log": str(tmp_path / name)}}))
        )

    results = {}

    async def add_nic(server, key, tag):
        async with Client(server) as client:
            results[key] = await client.call_tool("add_vm_network", {"vmid": 100, "tag": tag})

    async with anyio.create_task_group() as tg:
        tg.start_soon(add_nic, instance("a.jsonl"), "a", 10)
        tg.start_soon(add_nic, instance("b.jsonl"), "b", 11)
    assert not results["a"].is_error and not results["b"].is_error, (text(results["a"]), text(results["b"]))
    slots = {results[k].structured_content["interface"] for k in "ab"}
    assert slots == {"net1", "net2"}
    merged = {**config(sim, 100)["config"], **config(sim, 100)["pending"]}
    assert "tag=10" in merged[results["a"].structured_content["interface"]]
    assert "tag=11" in merged[results["b"].structured_content["interface"]]


# ------------------------------------------------------------------------------------------ plan and apply


async def test_http_plan_then_apply_and_a_plan_of_a_changed_guest_is_refused(http_bridge, sim):
    """plan_guest_config writes nothing; apply_guest_config writes what the plan showed (same diff and steps); a
    plan made before someone else changed the guest is refused by guest_config's if_digest, nothing written."""
    sim.simulator.reset(realism=True)
    before = config(sim, 101)
    wanted = {
        "memory": 6144,
        "tags": "db;prod",
        "net0": {"tag": 30},
        "scsi2": {"storage": "local-lvm", "size": "4G", "iothread": True},
    }
    async with http_bridge.client() as client:
        planned = await client.call_tool("plan_guest_config", {"vmid": 101, "config": wanted, "absent": ["numa"]})
        assert not planned.is_error, text(planned)
        assert writes(sim) == [] and config(sim, 101) == before
        plan = planned.structured_content
        applied = await client.call_tool("apply_guest_config", {"plan_id": plan["plan_id"]})
        assert not applied.is_error, text(applied)
        done = applied.structured_content

        stale = await client.call_tool("plan_guest_config", {"vmid": 101, "config": {"cores": 8}})
        moved = await client.call_tool("update_vm_resources", {"vmid": 101, "memory": 8192})
        assert not stale.is_error and not moved.is_error
        sim.simulator.clear_requests()
        refused = await client.call_tool("apply_guest_config", {"plan_id": stale.structured_content["plan_id"]})
    assert [step["action"] for step in plan["steps"]] == ["create", "set", "delete"]
    assert (steps(done), done["digest"], done["diff"]["before"]) == (
        steps(plan),
        plan["digest"],
        plan["diff"]["before"],
    )
    # The same after-values, but for the new disk's volume name, which Proxmox picks when it allocates it.
    assert plan["diff"]["after"].pop("scsi2") == "local-lvm:4,iothread=1"
    assert done["diff"]["after"].pop("scsi2").startswith("local-lvm:vm-101-disk-")
    assert done["diff"]["after"] == plan["diff"]["after"]
    after = config(sim, 101)["config"]
    assert after["memory"] == "8192" and after["tags"] == "db;prod" and "numa" not in after
    assert after["net0"] == "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1,tag=30"  # MAC kept
    assert after["scsi2"].startswith("local-lvm:vm-101-disk-") and "size=4G" in after["scsi2"]
    assert refused.is_error and "changed since the plan was made" in text(refused)
    assert writes(sim) == [] and after["cores"] == "4"
    assert done["changed"] is True and plan["reboot_required"] is False  # a stopped VM: nothing pending


def steps(result: dict[str, Any]) -> list[tuple[str, set[str]]]:
    """The steps of a guest_config result, the keys of each as a set (a run may list them in another order)."""
    return [(step["action"], set(step["keys"])) for step in result["steps"]]


async def test_http_a_plan_that_destroys_a_volume_needs_confirmation(http_bridge, sim):
    async with http_bridge.client() as client:  # a client without elicitation
        planned = await client.call_tool("plan_guest_config", {"vmid": 101, "absent": ["scsi1"], "purge": True})
        plan = planned.structured_content
        refused = await client.call_tool("apply_guest_config", {"plan_id": plan["plan_id"]})
        assert refused.is_error and "confirm: true" in text(refused), text(refused)
        assert writes(sim) == [] and "scsi1" in config(sim, 101)["config"]
        done = await client.call_tool("apply_guest_config", {"plan_id": plan["plan_id"], "confirm": True})
    assert plan["destroys"] == ["scsi1"] and plan["destroyed_volumes"] == ["local-lvm:vm-101-disk-1"]
    assert not done.is_error, text(done)
    assert done.structured_content["destroyed_volumes"] == ["local-lvm:vm-101-disk-1"]
    assert not any(k.startswith("unused") or k == "scsi1" for k in config(sim, 101)["config"])


async def test_a_plan_applies_through_a_replica_with_the_same_key_only(sim, tmp_path):
    """Scale-out: the plan is self-contained, so another bridge instance with the same plan key applies it; one
    with another key (or a generated one) refuses it without running anything."""
    from mcp_bridge.config import load
    from mcp_bridge.server import Bridge, build_server

    environ = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}

    def instance(name: str, key: str | None):
        env = {**environ, **({"PVE_MCP_PLAN_KEY": key} if key else {})}
        return build_server(Bridge(load(None, environ=env, overrides={"bridge": {"audit_log": str(tmp_path / name)}})))

    shared = "plan-key-shared-by-replicas-" + "x" * 16
    async with Client(instance("a.jsonl", shared)) as client:
        planned = await client.call_tool("plan_guest_config", {"vmid": 100, "config": {"description": "web"}})
    plan_id = planned.structured_content["plan_id"]
    async with Client(instance("c.jsonl", "another-plan-key-" + "y" * 16)) as client:
        foreign = await client.call_tool("apply_guest_config", {"plan_id": plan_id})
    async with Client(instance("d.jsonl", None)) as client:
        generated = await client.call_tool("apply_guest_config", {"plan_id": plan_id})
    assert writes(sim) == []
    async with Client(instance("b.jsonl", shared)) as client:
        applied = await client.call_tool("apply_guest_config", {"plan_id": plan_id})
    assert foreign.is_error and "signed with another plan key" in text(foreign)
    assert generated.is_error and "generated its plan key at start" in text(generated)
    assert not applied.is_error, text(applied)
    assert config(sim, 100)["config"]["description"] == "web"
    for name in ("a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"):
        assert shared not in (tmp_path / name).read_text()


# ----------------------------------------------------------------------------------------- secrets (runs last)


async def test_zz_token_secret_appears_in_no_result_log_or_temp_file(http_bridge, sim, artifacts):
    secret = sim.token_secret
    async with http_bridge.client() as client:
        results = [
            await client.call_tool("get_guest_config", {"vmid": 100}),
            await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 2560}),
            await client.call_tool("update_vm_resources", {"vmid": 4242, "memory": 512}),
        ]
    assert not results[0].is_error and results[2].is_error
    for result in results:
        assert secret not in result.model_dump_json()
    http_bridge.stop()  # its warm runs wait in TMPDIR while it serves; stopping it removes them
    time.sleep(0.2)  # let the log copier catch up
    assert run_dirs_left(artifacts) == []
    files = sorted(p for p in artifacts.iterdir() if p.is_file())
    assert any(f.name.endswith("audit.jsonl") for f in files) and any(f.name.endswith("server.log") for f in files)
    for path in files:
        assert secret not in path.read_text(errors="replace"), path
        assert HTTP_TOKEN not in path.read_text(errors="replace"), path
