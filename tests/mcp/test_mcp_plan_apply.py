"""plan_guest_config / apply_guest_config through the SDK's in-memory Client, with the real ansible-runner path and
the stub modules (tests/mcp/fixtures/stub_module.py: guest_config with its digest guard, set, delete and purge)."""

from __future__ import annotations

import pytest
from _support import FORGED_PLAN, SECRET, audit_entries
from mcp import Client
from mcp.types import ElicitResult
from test_mcp_plans import KEY, OTHER, Clock, payload, with_payload

from mcp_bridge.plans import PlanSigner
from mcp_bridge.server import build_server

pytestmark = pytest.mark.anyio

SEED = {"memory": "2048", "scsi1": "local-lvm:vm-100-disk-1,size=8G", "description": "web"}


def text(result) -> str:
    return "\n".join(c.text for c in result.content)


async def plan(client, **args):
    result = await client.call_tool("plan_guest_config", {"vmid": 100, **args})
    assert not result.is_error, text(result)
    return result.structured_content


async def test_plan_writes_nothing_then_apply_writes_exactly_the_plan(make_server, stub, tmp_path):
    stub.seed(100, SEED)
    async with Client(make_server(), raise_exceptions=True) as client:
        planned = await plan(client, config={"memory": "4096", "net0": {"bridge": "vmbr0"}}, absent=["description"])
        assert stub.guest(100) == SEED
        applied = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
        assert not applied.is_error, text(applied)
        again = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
    assert planned["changed"] is True and planned["plan_id"].startswith("pvecfg-plan-1.")
    assert planned["steps"] == [
        {"action": "set", "keys": ["memory", "net0"]},
        {"action": "delete", "keys": ["description"]},
    ]
    assert planned["diff"] == {
        "before": {"memory": "2048", "description": "web"},
        "after": {"memory": "4096", "net0": "bridge=vmbr0"},
    }
    assert planned["summary"].startswith(f"[plan, nothing written; valid until {planned['expires_at']}] ")
    assert planned["destroys"] == [] and len(planned["digest"]) == 40
    done = applied.structured_content
    # Dry-run parity: the apply did what the plan showed, from the digest the plan was made from.
    assert (done["diff"], done["steps"], done["digest"]) == (planned["diff"], planned["steps"], planned["digest"])
    assert done["changed"] is True and done["dry_run"] is False
    assert stub.guest(100) == {"memory": "4096", "scsi1": SEED["scsi1"], "net0": "bridge=vmbr0"}
    # The same plan again: the guest's digest moved on, so it is refused and nothing more is written.
    assert again.is_error and "VM 100 changed since the plan was made" in text(again)
    assert stub.guest(100) == {"memory": "4096", "scsi1": SEED["scsi1"], "net0": "bridge=vmbr0"}
    calls = [c["args"] for c in stub.changes()]
    assert calls[0] == {
        "vmid": 100,
        "config": {"memory": "4096", "net0": {"bridge": "vmbr0"}},
        "absent": ["description"],
        "purge": False,
    }
    assert calls[1] == calls[2] == {**calls[0], "type": "qemu", "if_digest": planned["digest"]}
    entries = audit_entries(tmp_path)
    assert [(e["tool"], e["outcome"], e["changed"]) for e in entries] == [
        ("plan_guest_config", "ok", True),
        ("apply_guest_config", "ok", True),
        ("apply_guest_config", "failed", False),
    ]
    assert entries[0]["plan"]["digest"] == planned["digest"] and entries[0]["plan"]["steps"] == planned["steps"]
    assert entries[1]["arguments"]["vmid"] == 100  # the plan's guest
    assert entries[1]["arguments"]["plan_id"] == planned["plan_id"].rpartition(".")[0] + ".<signature>"
    assert entries[1]["arguments"]["plan"] == {"digest": planned["digest"], "expires_at": planned["expires_at"]}
    # The plan id (a bearer credential until it expires) is cut in the audit log, its signature never kept.
    assert planned["plan_id"] not in (tmp_path / "audit.jsonl").read_text()
    assert planned["plan_id"].split(".")[2] not in (tmp_path / "audit.jsonl").read_text()


async def test_apply_after_the_guest_changed_is_refused_and_writes_nothing(make_server, stub, tmp_path):
    stub.seed(100, SEED)
    async with Client(make_server(), raise_exceptions=True) as client:
        planned = await plan(client, config={"memory": "4096"})
        moved = await client.call_tool("update_vm_resources", {"vmid": 100, "cores": 4})  # someone else's change
        assert not moved.is_error
        refused = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
    assert refused.is_error
    assert f"its digest is {stub_digest(stub)}, if_digest asks for {planned['digest']}; plan again" in text(refused)
    assert stub.guest(100) == {**SEED, "cores": 4}
    assert audit_entries(tmp_path)[-1]["outcome"] == "failed"


def stub_digest(stub) -> str:
    import hashlib
    import json

    return hashlib.sha1(json.dumps(stub.guest(100), sort_keys=True).encode()).hexdigest()


async def test_tampered_forged_foreign_and_expired_plans_are_refused_before_any_run(make_bridge, stub, tmp_path):
    stub.seed(100, SEED)
    clock = Clock()
    bridge = make_bridge(plans=PlanSigner(KEY, 900, clock=clock))
    other = PlanSigner(OTHER, 900, clock=clock)
    async with Client(build_server(bridge), raise_exceptions=True) as client:
        planned = await plan(client, config={"memory": "4096"})
        own = planned["plan_id"]
        foreign, _plan = other.sign(
            vmid=100, guest_type="qemu", config={"memory": 64}, absent=[], destroys=[], digest=planned["digest"]
        )
        cases = {
            "tampered": with_payload(own, {**payload(own), "config": {"memory": 64}}),
            "forged": FORGED_PLAN,
            "foreign": foreign,
        }
        answers = {name: await client.call_tool("apply_guest_config", {"plan_id": pid}) for name, pid in cases.items()}
        clock.now += 901
        answers["expired"] = await client.call_tool("apply_guest_config", {"plan_id": own})
    assert "changed after it was made" in text(answers["tampered"])
    assert "changed after it was made" in text(answers["forged"])
    assert "signed with another plan key" in text(answers["foreign"])
    assert "expired at" in text(answers["expired"])
    assert all(a.is_error and "nothing was changed" in text(a) for a in answers.values())
    assert [c["args"].get("if_digest") for c in stub.changes()] == [None]  # only the plan's check run
    assert stub.guest(100) == SEED
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["ok"] + ["invalid"] * 4


async def test_a_replica_with_the_same_key_applies_the_plan(make_bridge, stub):
    stub.seed(100, SEED)
    planner, applier = make_bridge(plans=PlanSigner(KEY, 900)), make_bridge(plans=PlanSigner(KEY, 900))
    async with Client(build_server(planner), raise_exceptions=True) as client:
        planned = await plan(client, config={"memory": "4096"})
    async with Client(build_server(applier), raise_exceptions=True) as client:
        applied = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
    assert not applied.is_error, text(applied)
    assert stub.guest(100)["memory"] == "4096"


async def test_a_plan_that_destroys_a_volume_needs_confirmation(make_server, stub, tmp_path):
    stub.seed(100, SEED)
    async with Client(make_server(), raise_exceptions=True) as client:
        planned = await plan(client, absent=["scsi1"], purge=True)
        refused = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
        assert refused.is_error and "confirm: true" in text(refused)
        assert stub.guest(100) == SEED and len(stub.changes()) == 1
        done = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"], "confirm": True})
    assert planned["destroys"] == ["scsi1"] and "[destroys the volumes of scsi1" in planned["summary"]
    assert not done.is_error, text(done)
    assert stub.guest(100) == {"memory": "2048", "description": "web", "destroyed": [SEED["scsi1"]]}
    assert stub.changes()[-1]["args"]["purge"] is True
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["ok", "unconfirmed", "ok"]


async def test_removing_an_unused_volume_destroys_it_and_needs_confirmation(make_server, stub):
    stub.seed(100, {**SEED, "unused0": "local-lvm:vm-100-disk-7"})
    async with Client(make_server(), raise_exceptions=True) as client:
        planned = await plan(client, absent=["unused0"], purge=True)
        refused = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
        done = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"], "confirm": True})
    assert planned["steps"] == [{"action": "delete", "keys": ["unused0"]}] and planned["destroys"] == ["unused0"]
    assert refused.is_error and "destroying the volume of unused0 on guest 100" in text(refused)
    assert not done.is_error, text(done)
    assert stub.changes()[-1]["args"]["purge"] is True and stub.guest(100)["destroyed"] == ["local-lvm:vm-100-disk-7"]


async def test_purge_without_a_volume_to_destroy_asks_nothing_and_sends_no_purge(make_server, stub):
    stub.seed(100, SEED)

    async def elicit(context, params):  # pragma: no cover - must not be called
        raise AssertionError("asked")

    async with Client(make_server(), elicitation_callback=elicit) as client:
        planned = await plan(client, absent=["description"], purge=True)
        done = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
    assert planned["destroys"] == [] and not done.is_error, text(done)
    assert stub.changes()[-1]["args"]["purge"] is False and "description" not in stub.guest(100)


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_elicitation_decides_for_a_destroying_plan(make_server, stub, answer):
    stub.seed(100, SEED)
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"destroy": True})
        return ElicitResult(action=answer)

    async with Client(make_server(), elicitation_callback=elicit) as client:
        planned = await plan(client, absent=["scsi1"], purge=True)
        result = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"], "confirm": True})
    assert len(asked) == 1 and "permanently destroy the volumes of scsi1" in asked[0]
    if answer == "accept":
        assert not result.is_error and "scsi1" not in stub.guest(100)
    else:
        assert result.is_error and "did not confirm" in text(result) and stub.guest(100) == SEED


async def test_secrets_are_never_planned_and_read_only_mode_offers_only_the_plan(make_server, stub, tmp_path):
    stub.seed(100, SEED)
    async with Client(make_server(read_only=True), raise_exceptions=True) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        secret = await client.call_tool("plan_guest_config", {"vmid": 100, "config": {"cipassword": SECRET}})
        planned = await plan(client, config={"memory": "4096"})
        applied = await client.call_tool("apply_guest_config", {"plan_id": planned["plan_id"]})
    assert names == ["plan_guest_config", "get_guest_config", "plan_fleet_config"]
    assert secret.is_error and "write-only and never goes into a plan" in text(secret)
    assert SECRET not in text(secret) and SECRET not in (tmp_path / "audit.jsonl").read_text()
    assert applied.is_error and stub.guest(100) == SEED
    assert [c["args"]["config"] for c in stub.changes()] == [{"memory": "4096"}]


async def test_a_protected_guest_takes_a_plan_that_only_sets_but_refuses_one_that_removes(make_server, stub, tmp_path):
    stub.seed(100, {**SEED, "protection": "1"})
    async with Client(make_server(), raise_exceptions=True) as client:
        sets = await plan(client, config={"memory": "4096"})
        removes = await plan(client, absent=["description"])
        refused = await client.call_tool("apply_guest_config", {"plan_id": removes["plan_id"]})
        applied = await client.call_tool("apply_guest_config", {"plan_id": sets["plan_id"]})
    assert refused.is_error and "guest 100 is protected (Proxmox protection: 1)" in text(refused)
    assert not applied.is_error, text(applied)
    assert stub.guest(100) == {**SEED, "protection": "1", "memory": "4096"}
    assert [c["args"].get("if_digest") for c in stub.changes()] == [None, None, sets["digest"]]
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["ok", "ok", "protected", "ok"]
