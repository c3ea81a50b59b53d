"""Guests as MCP resources (mcp_bridge/resources.py) through the SDK's own client, the bridge running the real
collection against the HTTPS simulator: resources/list and resources/templates/list, ``pve://guests`` and
``pve://guest/{vmid}/config`` read under the caller's grants (over streamable HTTP with static tokens) and the
operator's allow-list (over stdio), the few seconds' cache, the audit line of every read, and resource pools end
to end (a pool made through the Proxmox API, seen in the resources and deciding pool grants and ``--pools``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from mcp_bridge.audit import AuditLog
from mcp_bridge.config import load
from mcp_bridge.server import Bridge, build_server
from mcp_bridge.testing import BridgeProcess
from mcp_bridge.tokens import hash_token

pve_sim_testing = pytest.importorskip("pve_sim.testing")

REPO = Path(__file__).resolve().parents[2]
GUESTS = [100, 101, 102, 200, 201]  # the simulator's seeded guests
TOKENS = {
    "one-vm": ("one-vm-token-" + "o" * 32, ["pve:read:vmid:100"]),
    "lab": ("lab-token-" + "l" * 32, ["pve:read:pool:lab", "pve:write:pool:lab"]),
    "web": ("web-token-" + "w" * 32, ["pve:read:tag:web"]),
    "writer": ("writer-token-" + "x" * 32, ["pve:write"]),
}
WRITES = ("POST", "PUT", "DELETE")

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with pve_sim_testing.running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    sim.simulator.reset(realism=False)
    sim.simulator.clear_requests()


def make_lab_pool(sim, vmids: str = "101,200") -> None:
    """Pool `lab` with `vmids`, made as an operator would: through the Proxmox API (pve-manager Pool.pm)."""
    api = pve_sim_testing.proxmox_client(sim)
    api.pools.post(poolid="lab", comment="made by the test")
    api.pools.put(poolid="lab", vms=vmids)
    sim.simulator.clear_requests()


def resource_reads(sim) -> int:
    """The /cluster/resources reads Proxmox answered (each one guest_info run listing the guests)."""
    return sum(1 for r in sim.simulator.requests() if r["path"] == "/cluster/resources")


def bridge_env(sim, base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_"))}
    env.update({k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(base)
    return env


def content(result) -> dict[str, Any]:
    [item] = result.contents
    assert item.mime_type == "application/json"
    return json.loads(item.text)


def pve_uris(result) -> list[str]:
    """The URIs of resources/list that are guests (the plan view's ui:// App resource is listed too)."""
    return [str(r.uri) for r in result.resources if str(r.uri).startswith("pve://")]


def listed(result) -> list[int]:
    return [guest["vmid"] for guest in content(result)["guests"]]


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def resource_audit(path: Path) -> list[dict[str, Any]]:
    return [line for line in audit_lines(path) if line["tool"] == "resources/read"]


# ------------------------------------------------------------------------------------------- in memory


def server(sim, tmp_path: Path, **bridge: Any):
    environ = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}
    config = load(None, environ=environ, overrides={"bridge": {"warm": False, **bridge}})
    audit = AuditLog(tmp_path / "audit.jsonl", secrets=config.secrets())
    return build_server(Bridge(config, audit=audit))


async def test_listed_and_read_through_the_collection_with_a_few_seconds_cache(sim, tmp_path):
    make_lab_pool(sim)
    async with Client(server(sim, tmp_path, resource_ttl=2.0)) as client:
        assert pve_uris(await client.list_resources()) == ["pve://guests"]
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["pve://guest/{vmid}/config"]

        first = content(await client.read_resource("pve://guests"))
        assert [g["vmid"] for g in first["guests"]] == GUESTS
        web01 = first["guests"][0]
        assert web01 == {
            "vmid": 100,
            "name": "web01",
            "node": "pve1",
            "type": "qemu",
            "status": "running",
            "tags": [],
            "pool": None,
            "lock": None,
            "template": False,
        }
        assert {g["vmid"]: g["pool"] for g in first["guests"]} == {
            100: None,
            101: "lab",
            102: None,
            200: "lab",
            201: None,
        }
        assert resource_reads(sim) == 1

        again = content(await client.read_resource("pve://guests"))  # within resource_ttl: the same read
        assert again == first and resource_reads(sim) == 1

        config = content(await client.read_resource("pve://guest/101/config"))
        expected = sim.simulator.guest_config(101)
        assert config["vmid"] == 101 and config["digest"] == expected["digest"] and config["pool"] == "lab"
        assert config["disks"]["scsi1"]["file"] == "local-lvm:vm-101-disk-1" and "net0" in config["nics"]
        assert set(config) >= {"config", "pending", "digest", "disks", "nics", "summary", "read_at", "status"}
        reads_of_101 = sum(1 for r in sim.simulator.requests() if r["path"].endswith("/qemu/101/pending"))
        await client.read_resource("pve://guest/101/config")
        assert sum(1 for r in sim.simulator.requests() if r["path"].endswith("/qemu/101/pending")) == reads_of_101

        time.sleep(2.1)  # the cached reads are older than resource_ttl now
        sim.simulator.state.guests[102].config["tags"] = "web"
        fresh = content(await client.read_resource("pve://guests"))
        assert fresh["read_at"] > first["read_at"] and fresh["guests"][2]["tags"] == ["web"]
        assert resource_reads(sim) == 3  # + the config read's lookup, + this listing

    assert [r for r in sim.simulator.requests() if r["method"] in WRITES] == []
    lines = resource_audit(tmp_path / "audit.jsonl")
    assert [(line["arguments"]["uri"], line["outcome"], line["cached"]) for line in lines] == [
        ("pve://guests", "ok", False),
        ("pve://guests", "ok", True),
        ("pve://guest/101/config", "ok", False),
        ("pve://guest/101/config", "ok", True),
        ("pve://guests", "ok", False),
    ]
    assert {line["principal"] for line in lines} == {"local"} and lines[0]["guests"] == 5


async def test_a_guest_that_does_not_exist_or_is_no_vmid_is_not_found(sim, tmp_path):
    async with Client(server(sim, tmp_path, resource_ttl=0)) as client:
        for vmid in ("999", "abc", "42", "0100"):
            with pytest.raises(MCPError) as exc:
                await client.read_resource(f"pve://guest/{vmid}/config")
            assert exc.value.error.code == -32602, vmid  # ResourceNotFoundError
        await client.read_resource("pve://guests")
        await client.read_resource("pve://guests")
        assert resource_reads(sim) == 2 + 1  # resource_ttl 0: every read runs (and 999's lookup)
    outcomes = [line["outcome"] for line in resource_audit(tmp_path / "audit.jsonl")]
    assert outcomes[:4] == ["failed", "invalid", "invalid", "invalid"]


async def test_no_resources_when_the_operator_does_not_offer_the_read_tool(sim, tmp_path):
    async with Client(server(sim, tmp_path, tools=["update_vm_resources"])) as client:
        assert pve_uris(await client.list_resources()) == []
        assert (await client.list_resource_templates()).resource_templates == []
        with pytest.raises(MCPError):
            await client.read_resource("pve://guests")
    assert resource_reads(sim) == 0


# ------------------------------------------------------------------------ streamable HTTP, static tokens


@pytest.fixture(scope="module")
def http_bridge(sim, tmp_path_factory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("resources-bridge")
    lines = []
    for name, (token, scopes) in TOKENS.items():
        lines += [
            "[[http.tokens]]",
            f'name = "{name}"',
            f'hash = "{hash_token(token)}"',
            f"scopes = {json.dumps(scopes)}",
        ]
    (base / "bridge.toml").write_text("\n".join(lines) + "\n")
    audit, log = base / "audit.jsonl", base / "server.log"
    args = ["--config", str(base / "bridge.toml"), "--audit-log", str(audit), "--resource-ttl", "0"]
    process = BridgeProcess(args, bridge_env(sim, base), log, cwd=REPO)
    try:
        yield {"url": process.url, "audit": audit, "base": base}
    finally:
        process.stop(timeout=10)


@asynccontextmanager
async def client_as(bridge, name: str):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKENS[name][0]}"})
    async with http, Client(streamable_http_client(bridge["url"], http_client=http)) as client:
        yield client


async def test_http_a_vmid_grant_sees_one_guest_and_reads_only_its_config(sim, http_bridge):
    async with client_as(http_bridge, "one-vm") as client:
        assert pve_uris(await client.list_resources()) == ["pve://guests"]
        assert listed(await client.read_resource("pve://guests")) == [100]
        assert content(await client.read_resource("pve://guest/100/config"))["name"] == "web01"
        before = len(sim.simulator.requests())
        messages = []
        for vmid in (101, 999):  # another guest and no guest at all: the same answer
            with pytest.raises(MCPError) as exc:
                await client.read_resource(f"pve://guest/{vmid}/config")
            messages.append(exc.value.error.message.replace(str(vmid), "N"))
        assert messages[0] == messages[1] == "pve://guest/N/config: no guest N that you may read"
        assert len(sim.simulator.requests()) == before  # a VMID grant decides without reading the guest
    lines = [line for line in resource_audit(http_bridge["audit"]) if line["principal"] == "one-vm"]
    assert [(line["arguments"]["uri"], line["outcome"]) for line in lines] == [
        ("pve://guests", "ok"),
        ("pve://guest/100/config", "ok"),
        ("pve://guest/101/config", "denied"),
        ("pve://guest/999/config", "denied"),
    ]


async def test_http_tag_grants_follow_the_guests_tags(sim, http_bridge):
    sim.simulator.state.guests[102].config["tags"] = "Web;prod"
    async with client_as(http_bridge, "web") as client:
        assert listed(await client.read_resource("pve://guests")) == [102]
        assert content(await client.read_resource("pve://guest/102/config"))["vmid"] == 102
        with pytest.raises(MCPError, match="no guest 100 that you may read"):
            await client.read_resource("pve://guest/100/config")  # read (a tag grant needs the tags), refused


async def test_http_a_token_without_pve_read_sees_no_guest(sim, http_bridge):
    async with client_as(http_bridge, "writer") as client:
        assert listed(await client.read_resource("pve://guests")) == []
        with pytest.raises(MCPError, match="no guest 100 that you may read"):
            await client.read_resource("pve://guest/100/config")


async def test_http_pool_grants_end_to_end_resources_and_tools(sim, http_bridge):
    make_lab_pool(sim)
    async with client_as(http_bridge, "lab") as client:
        assert listed(await client.read_resource("pve://guests")) == [101, 200]
        assert content(await client.read_resource("pve://guest/200/config"))["guest_type"] == "lxc"
        with pytest.raises(MCPError, match="no guest 100 that you may read"):
            await client.read_resource("pve://guest/100/config")

        inside = await client.call_tool("update_vm_resources", {"vmid": 101, "memory": 8192})
        assert not inside.is_error, inside.content
        assert str(sim.simulator.guest_config(101)["config"]["memory"]) == "8192"
        outside = await client.call_tool("update_vm_resources", {"vmid": 102, "memory": 8192})
        assert outside.is_error and "needs pve:write for this guest" in outside.content[0].text

        # the guest leaves the pool in Proxmox: the next call reads it again and refuses it
        pve_sim_testing.proxmox_client(sim).pools.put(poolid="lab", vms="101", delete=1)
        moved = await client.call_tool("update_vm_resources", {"vmid": 101, "memory": 4096})
        assert moved.is_error and "needs pve:write for this guest" in moved.content[0].text
        assert listed(await client.read_resource("pve://guests")) == [200]
    assert str(sim.simulator.guest_config(101)["config"]["memory"]) == "8192"
    assert str(sim.simulator.guest_config(102)["config"]["memory"]) == "2048"
    tools = [
        line
        for line in audit_lines(http_bridge["audit"])
        if line["principal"] == "lab" and line["tool"] != "resources/read"
    ]
    assert [line["outcome"] for line in tools] == ["ok", "denied", "denied"]


# --------------------------------------------------------------------------------- stdio, --pools / --vmids


@asynccontextmanager
async def stdio_bridge(sim, base: Path, *args: str):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_bridge", "--audit-log", str(base / "audit.jsonl"), *args],
        env=bridge_env(sim, base),
        cwd=str(REPO),
    )
    with (base / "server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


async def test_stdio_the_operator_s_pool_and_vmid_allow_list_decides_what_is_listed(sim, tmp_path):
    make_lab_pool(sim, "200")
    async with stdio_bridge(sim, tmp_path, "--vmids", "100", "--pools", "lab") as client:
        assert pve_uris(await client.list_resources()) == ["pve://guests"]
        assert listed(await client.read_resource("pve://guests")) == [100, 200]
        assert content(await client.read_resource("pve://guest/200/config"))["pool"] == "lab"
        with pytest.raises(MCPError, match="no guest 101 that you may read"):
            await client.read_resource("pve://guest/101/config")
        planned = await client.call_tool("plan_guest_config", {"vmid": 200, "config": {"memory": 1024}})
        assert not planned.is_error, planned.content
        refused = await client.call_tool("plan_guest_config", {"vmid": 101, "config": {"memory": 1024}})
        assert refused.is_error and "not in the bridge's allow-list" in refused.content[0].text
    lines = resource_audit(tmp_path / "audit.jsonl")
    assert [line["outcome"] for line in lines] == ["ok", "ok", "denied"] and lines[0]["principal"] == "local"
