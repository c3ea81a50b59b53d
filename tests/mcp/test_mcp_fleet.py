"""plan_fleet_config / apply_fleet_config through the SDK's own client, with a bridge running the real collection
against the simulator: plan then apply, progress notifications while the fleet runs, the allow-list checked for
every guest before anything runs, a guest changed since the plan refused while the others go on, a plan that
destroys volumes asks first, and the typed output schemas."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_bridge.audit import AuditLog
from mcp_bridge.config import load
from mcp_bridge.plans import PlanSigner
from mcp_bridge.server import Bridge, build_server

pve_sim_testing = pytest.importorskip("pve_sim.testing")

pytestmark = pytest.mark.anyio
WRITES = ("POST", "PUT", "DELETE")
GUESTS = [100, 101, 102, 200, 201]  # the simulator's seeded VMs and containers
KEY = secrets.token_bytes(32)


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with pve_sim_testing.running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    sim.simulator.reset(realism=False)
    sim.simulator.clear_requests()
    yield
    sim.simulator.clear_faults()


def server(sim, tmp_path: Path, **bridge: Any):
    """An in-process bridge on the real collection, talking to the simulator; every one shares the plan key."""
    environ = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}
    config = load(None, environ=environ, overrides={"bridge": bridge})
    audit = AuditLog(tmp_path / "audit.jsonl", secrets=config.secrets())
    return build_server(Bridge(config, audit=audit, plans=PlanSigner(KEY, 900)))


def writes(sim) -> list[dict[str, Any]]:
    return [r for r in sim.simulator.requests() if r["method"] in WRITES]


def description(sim, vmid: int) -> str | None:
    config = sim.simulator.guest_config(vmid)
    return {**config["config"], **config["pending"]}.get("description")


def audit_lines(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


PLAN = {"select": {"types": ["qemu", "lxc"]}, "config": {"description": "fleet via mcp"}, "parallel": 1}


async def test_plan_then_apply_with_progress_notifications(sim, tmp_path):
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value, total, message):
        seen.append((value, total, message))

    async with Client(server(sim, tmp_path)) as client:
        planned = await client.call_tool("plan_fleet_config", PLAN)
        assert not planned.is_error, planned.content
        plan = planned.structured_content
        assert writes(sim) == [], "a plan writes nothing"
        assert plan["dry_run"] is True and plan["vmids"] == GUESTS and plan["plan_id"]
        assert plan["totals"] == {"guests": 5, "changed": 5, "unchanged": 0, "failed": 0, "reboots": 0}
        assert [g["diff"]["after"] for g in plan["guests"]] == [{"description": "fleet via mcp"}] * 5
        assert all(g["digest"] for g in plan["guests"]) and plan["destroys"] == {}
        assert planned.content[0].text.startswith("[dry run, nothing written] 5 of 5 guests would change")

        sim.simulator.set_latency(0.05)  # a remote cluster: each guest takes a few round trips
        applied = await client.call_tool("apply_fleet_config", {"plan_id": plan["plan_id"]}, progress_callback=progress)
    assert not applied.is_error, applied.content
    result = applied.structured_content
    assert result["changed"] is True and result["refused"] == [] and result["totals"]["changed"] == 5
    assert [g["vmid"] for g in result["guests"]] == GUESTS
    assert all(description(sim, vmid) == "fleet via mcp" for vmid in GUESTS)
    counts = [(value, total) for value, total, message in seen]
    assert len(counts) >= 3, seen
    assert all(total == 5 for value, total in counts), seen
    values = [value for value, total in counts]
    assert values == sorted(set(values)), "strictly increasing guest counts"
    assert values[-1] == 5 and "5 of 5 guests done" in seen[-1][2]
    plan_line, apply_line = audit_lines(tmp_path)
    assert plan_line["outcome"] == apply_line["outcome"] == "ok"
    assert "." not in str(apply_line["arguments"]["plan_id"]).rpartition("<signature>")[2], "no signature logged"


async def test_a_guest_outside_the_allow_list_is_refused_before_anything_runs(sim, tmp_path):
    async with Client(server(sim, tmp_path, vmids=["100-102"])) as client:
        refused = await client.call_tool("plan_fleet_config", PLAN)
    assert refused.is_error
    assert refused.content[0].text.endswith(
        ": guests 200, 201 are not in the bridge's allow-list of guests; nothing was run"
    ), refused.content
    assert [(r["method"], r["path"]) for r in sim.simulator.requests()] == [("GET", "/cluster/resources")], (
        "only the bridge's own selection read, no guest config read, no write"
    )
    assert audit_lines(tmp_path)[-1]["outcome"] == "denied"


async def test_a_plan_is_checked_against_the_allow_list_of_the_bridge_that_applies_it(sim, tmp_path):
    async with Client(server(sim, tmp_path / "a")) as client:
        plan = (await client.call_tool("plan_fleet_config", PLAN)).structured_content
    sim.simulator.clear_requests()
    async with Client(server(sim, tmp_path / "b", vmids=[100, 101, 102, 200])) as client:
        refused = await client.call_tool("apply_fleet_config", {"plan_id": plan["plan_id"]})
    assert refused.is_error and "guest 201 is not in the bridge's allow-list" in refused.content[0].text
    assert writes(sim) == []


async def test_a_guest_changed_since_the_plan_is_refused_and_the_others_are_applied(sim, tmp_path):
    async with Client(server(sim, tmp_path)) as client:
        plan = (await client.call_tool("plan_fleet_config", PLAN)).structured_content
        with sim.simulator.state.lock:
            sim.simulator.state.guests[101].config["cores"] = "3"  # someone else changed guest 101 after the plan
        applied = await client.call_tool("apply_fleet_config", {"plan_id": plan["plan_id"]})
    assert not applied.is_error, applied.content
    result = applied.structured_content
    assert result["refused"] == [101]
    refused = next(g for g in result["guests"] if g["vmid"] == 101)
    assert refused["failed"] and not refused["changed"]
    assert refused["msg"].startswith("the config of QEMU VM 101 changed since the plan was made"), refused["msg"]
    assert description(sim, 101) is None
    assert [vmid for vmid in GUESTS if description(sim, vmid) == "fleet via mcp"] == [100, 102, 200, 201]
    assert not any("/101/" in r["path"] for r in writes(sim)), "nothing written to the refused guest"
    assert result["totals"]["failed"] == 1 and "refused, config changed since the plan: 101" in result["summary"]


async def test_guests_entries_each_with_their_own_change(sim, tmp_path):
    entries = [{"vmid": 100, "config": {"description": "one"}}, {"name": "dns01", "config": {"description": "two"}}]
    async with Client(server(sim, tmp_path)) as client:
        planned = (await client.call_tool("plan_fleet_config", {"guests": entries})).structured_content
        assert planned["vmids"] == [100, 200], planned["summary"]
        await client.call_tool("apply_fleet_config", {"plan_id": planned["plan_id"]})
    assert (description(sim, 100), description(sim, 200), description(sim, 101)) == ("one", "two", None)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"select": {"tags": ["web"]}}, "select needs config and/or absent"),
        ({"select": {}, "config": {"description": "x"}}, "select needs at least one of"),
        ({"guests": [{"vmid": 100, "config": {"memory": 1}}], "select": {"vmids": [100]}}, "exactly one of select"),
        ({"select": {"vmids": [100]}, "config": {"cipassword": "s3cret"}}, "cipassword is write-only"),
        ({"guests": [{"name": "nobody", "config": {"memory": 1}}]}, "guests entry 1: no guest (templates excluded)"),
        ({"select": {"tags": ["nothing"]}, "config": {"memory": 1024}}, "select chose no guest; nothing was run"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(sim, tmp_path, arguments, message):
    async with Client(server(sim, tmp_path)) as client:
        refused = await client.call_tool("plan_fleet_config", arguments)
        tampered = await client.call_tool("apply_fleet_config", {"plan_id": "pvecfg-plan-1.e30." + "A" * 43})
    assert refused.is_error and message in refused.content[0].text, refused.content
    assert tampered.is_error
    assert writes(sim) == []


async def test_a_plan_that_destroys_a_volume_needs_the_confirmation(sim, tmp_path):
    arguments = {"guests": [{"vmid": 101, "absent": ["scsi1"]}], "purge": True}  # 101: a stopped VM
    async with Client(server(sim, tmp_path)) as client:
        plan = (await client.call_tool("plan_fleet_config", arguments)).structured_content
        assert plan["destroys"] == {"101": ["scsi1"]}, plan["summary"]
        unconfirmed = await client.call_tool("apply_fleet_config", {"plan_id": plan["plan_id"]})
        assert unconfirmed.is_error and "needs the user's explicit confirmation" in unconfirmed.content[0].text
        assert writes(sim) == []
        confirmed = await client.call_tool("apply_fleet_config", {"plan_id": plan["plan_id"], "confirm": True})
    assert not confirmed.is_error, confirmed.content
    final = sim.simulator.guest_config(101)["config"]
    assert "scsi1" not in final and not any(key.startswith("unused") for key in final), confirmed.structured_content


async def test_the_fleet_tools_publish_typed_output_schemas(sim, tmp_path):
    async with Client(server(sim, tmp_path)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    plan, apply = tools["plan_fleet_config"], tools["apply_fleet_config"]
    for tool in (plan, apply):
        properties = tool.output_schema["properties"]
        assert {"summary", "changed", "guests", "totals"} <= set(properties)
        assert tool.input_schema.get("additionalProperties") is False
    assert {"plan_id", "vmids", "predicted_reboots", "destroys"} <= set(plan.output_schema["properties"])
    assert "refused" in apply.output_schema["properties"]
    assert plan.annotations.read_only_hint and not apply.annotations.read_only_hint
    assert apply.annotations.destructive_hint
