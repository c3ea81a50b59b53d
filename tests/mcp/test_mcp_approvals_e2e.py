"""End to end: human approval (`--approval human`) with the bridge as a real process, the SDK's own client over
streamable HTTP and stdio, the real modules and the HTTPS simulator. A person approves on the bridge's page
(URL-mode elicitation; the test client follows the URL with httpx and presses a button) or with
`pve-config-mcp approve ID`; rejections and a concurrent edit of the guest write nothing; no approval code or
token is left in any file."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.types import ElicitRequestURLParams, ElicitResult
from test_mcp_approvals import cli
from test_mcp_e2e import HTTP_TOKEN, HttpBridge, artifacts, config, fresh_sim, sim, stdio_bridge, text, writes

pve_sim_testing = pytest.importorskip("pve_sim.testing")

__all__ = ["artifacts", "fresh_sim", "sim"]  # fixtures shared with test_mcp_e2e
pytestmark = pytest.mark.anyio
REMOVE = {"vmid": 101, "disk_id": "scsi1", "delete_volume": True, "confirm": True}
VOLUME = "local-lvm:vm-101-disk-1"


def human_bridge_args(artifacts: Path) -> tuple[str, ...]:
    settings = artifacts / "approvals-bridge.toml"
    settings.write_text("[bridge]\napproval_max_guests = 2\n")
    return ("--approval", "human", "--approval-dir", str(artifacts / "approvals-http-dir"), "--config", str(settings))


@pytest.fixture(scope="module")
def human_bridge(sim, artifacts) -> Iterator[HttpBridge]:
    bridge = HttpBridge(sim, artifacts, "approvals-http", human_bridge_args(artifacts))
    bridge.approval_dir = artifacts / "approvals-http-dir"
    try:
        yield bridge
    finally:
        bridge.stop()


def approval_id_of(result) -> str:
    found = re.search(r"apv-[0-9a-f]{16}", text(result))
    assert found, text(result)
    return found.group(0)


def person_on_the_page(decision: str, seen: dict[str, Any]):
    """An elicitation callback: the user opens the URL, reads the page, presses `decision`."""

    async def elicit(context, params):
        assert isinstance(params, ElicitRequestURLParams), params
        seen["url"] = params.url
        seen["code"] = params.url.rsplit("/", 1)[1]
        origin = params.url.split("/mcp/", 1)[0]
        async with httpx.AsyncClient() as browser:
            page = await browser.get(params.url)
            seen["page"] = page.text
            assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
            assert page.headers["referrer-policy"] == "no-referrer"
            forged = await browser.post(
                params.url, data={"code": seen["code"], "decision": "approve"}, headers={"Origin": "http://evil.test"}
            )
            seen["forged"] = forged.status_code
            answer = await browser.post(
                params.url, data={"code": seen["code"], "decision": decision}, headers={"Origin": origin}
            )
            seen["answer"] = answer.status_code
            seen["again"] = (await browser.get(params.url)).status_code
        return ElicitResult(action="accept")

    return elicit


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_a_person_approves_on_the_page(human_bridge, sim, mode):
    seen: dict[str, Any] = {}
    async with human_bridge.client(elicitation_callback=person_on_the_page("approve", seen), mode=mode) as client:
        result = await client.call_tool("remove_vm_disk", REMOVE)
    assert not result.is_error, text(result)
    assert result.structured_content["destroyed_volume"] == VOLUME
    assert "scsi1" not in config(sim, 101)["config"]
    # The page showed exactly the call: the disk, its diff, the digest; the forged cross-site POST was refused,
    # the code worked once.
    assert VOLUME in seen["page"] and "scsi1" in seen["page"] and "Approve" in seen["page"]
    assert (seen["forged"], seen["answer"], seen["again"]) == (403, 200, 404)
    entries = audit(human_bridge)
    decided = [e for e in entries if e["outcome"] == "approved"][-1]
    assert decided["approval"]["by"].startswith("approval-page:") and decided["tool"] == "remove_vm_disk"
    assert entries[-1]["outcome"] == "ok" and entries[-1]["arguments"]["approval"]["by"] == decided["approval"]["by"]
    assert_nothing_left(human_bridge, seen["code"])


async def test_http_a_person_rejects_on_the_page(human_bridge, sim):
    seen: dict[str, Any] = {}
    async with human_bridge.client(elicitation_callback=person_on_the_page("reject", seen)) as client:
        result = await client.call_tool("remove_vm_disk", REMOVE)
    assert result.is_error and "rejected" in text(result)
    assert config(sim, 101)["config"]["scsi1"].startswith(VOLUME) and writes(sim) == []
    assert [e["outcome"] for e in audit(human_bridge)][-2:] == ["rejected", "rejected"]
    assert_nothing_left(human_bridge, seen["code"])


async def test_http_without_url_elicitation_the_cli_rejects(human_bridge, sim):
    async with human_bridge.client() as client:  # no elicitation: the call returns an approval id at once
        pending = await client.call_tool("remove_vm_disk", REMOVE)
        approval_id = approval_id_of(pending)
        assert "pve-config-mcp approve" in text(pending)
        rejected = cli("reject", approval_id, human_bridge.approval_dir)
        assert rejected.returncode == 0, rejected.stderr
        refused = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
    assert refused.is_error and "rejected approval" in text(refused)
    assert config(sim, 101)["config"]["scsi1"].startswith(VOLUME) and writes(sim) == []


async def test_http_a_fleet_apply_above_approval_max_guests_waits_for_the_cli(human_bridge, sim):
    plan = {"select": {"types": ["qemu", "lxc"]}, "config": {"description": "fleet, approved"}, "parallel": 1}
    async with human_bridge.client() as client:
        small = await client.call_tool(
            "plan_fleet_config", {"guests": [{"vmid": 100, "config": {"description": "one guest"}}]}
        )
        one = await client.call_tool("apply_fleet_config", {"plan_id": small.structured_content["plan_id"]})
        assert not one.is_error, text(one)  # one guest, nothing destroyed: no person needed
        planned = (await client.call_tool("plan_fleet_config", plan)).structured_content
        assert len(planned["vmids"]) > 2
        sim.simulator.clear_requests()
        pending = await client.call_tool("apply_fleet_config", {"plan_id": planned["plan_id"]})
        assert pending.is_error and "more than approval_max_guests (2)" in text(pending) and writes(sim) == []
        approval_id = approval_id_of(pending)
        approved = cli("approve", approval_id, human_bridge.approval_dir)
        assert approved.returncode == 0 and "fleet, approved" in approved.stdout, approved.stderr
        done = await client.call_tool("apply_fleet_config", {"plan_id": planned["plan_id"], "approval_id": approval_id})
    assert not done.is_error, text(done)
    assert all(config(sim, vmid)["config"]["description"] == "fleet, approved" for vmid in planned["vmids"])


async def test_stdio_the_cli_approves_and_the_agent_calls_again(sim, artifacts, tmp_path):
    approval_dir = tmp_path / "approvals"
    args = ("--approval", "human", "--approval-dir", str(approval_dir))
    async with stdio_bridge(sim, artifacts, "approvals-stdio", *args) as client:
        pending = await client.call_tool("remove_vm_disk", REMOVE)
        assert pending.is_error and writes(sim) == []
        approval_id = approval_id_of(pending)
        approved = cli("approve", approval_id, approval_dir)
        assert approved.returncode == 0, approved.stderr
        assert f"approval {approval_id}: approved" in approved.stdout and VOLUME in approved.stdout
        done = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
    assert not done.is_error, text(done)
    assert "scsi1" not in config(sim, 101)["config"]
    assert list(approval_dir.iterdir()) == []  # the socket is removed with the bridge


async def test_stdio_a_concurrent_edit_voids_the_approval(sim, artifacts, tmp_path):
    approval_dir = tmp_path / "approvals"
    args = ("--approval", "human", "--approval-dir", str(approval_dir))
    async with stdio_bridge(sim, artifacts, "approvals-stdio-void", *args) as client:
        approval_id = approval_id_of(await client.call_tool("remove_vm_disk", REMOVE))
        assert cli("approve", approval_id, approval_dir).returncode == 0
        pve_sim_testing.proxmox_client(sim).nodes("pve1").qemu(101).config.put(description="edited meanwhile")
        sim.simulator.clear_requests()
        void = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
    assert void.is_error and "changed since approval" in text(void), text(void)
    assert config(sim, 101)["config"]["scsi1"].startswith(VOLUME) and writes(sim) == []


def audit(bridge: HttpBridge) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in bridge.audit.read_text().splitlines()]


def assert_nothing_left(bridge: HttpBridge, code: str) -> None:
    """The approval code and the bearer token are in no file the bridge wrote (audit, log, state dir, tmp). Warm
    runs create and remove their data dirs meanwhile: what vanishes during the walk is skipped."""
    for root, _dirs, files in os.walk(bridge.audit.parent):
        for name in files:
            path = Path(root) / name
            try:
                data = path.read_bytes() if path.is_file() else b""  # not a warm run's FIFO or a socket
            except FileNotFoundError:
                continue
            assert code.encode() not in data and HTTP_TOKEN.encode() not in data, path
