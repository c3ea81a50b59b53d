"""Human approval (approval = "human", approvals.py) through the SDK's in-memory Client, the real ansible-runner
path and the stub modules: a destructive call waits for a person; `confirm: true` and form elicitation do not
replace them; the approval is bound to the call and to the guest's digest; the CLI channel and its checks."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _support import SECRET, audit_entries
from mcp import Client

from mcp_bridge.approval_channel import ApprovalChannel, ask, private_dir
from mcp_bridge.approvals import ApprovalInvalid, ApprovalStore
from mcp_bridge.config import ConfigError
from mcp_bridge.server import build_server

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
DISK = "local-lvm:vm-100-disk-1,size=8G"
REMOVE = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "confirm": True}


def text(result) -> str:
    return "\n".join(c.text for c in result.content)


def cli(op: str, approval_id: str, approval_dir: Path) -> subprocess.CompletedProcess[str]:
    """`pve-config-mcp <op> <approval_id> --approval-dir <approval_dir>` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "mcp_bridge", op, approval_id, "--approval-dir", str(approval_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
        timeout=60,
    )


def approval_id_of(result) -> str:
    words = [w.strip(".,:;`()") for w in text(result).split()]
    return next(w for w in words if w.startswith("apv-"))


@pytest.fixture
def human(make_bridge, stub):
    stub.seed(100, {"memory": "2048", "scsi1": DISK})
    return make_bridge(approval="human")


async def test_confirm_is_not_enough_a_person_approves_then_the_recall_runs(human, stub, tmp_path):
    async def elicit(context, params):  # pragma: no cover - form elicitation is not a person's approval
        raise AssertionError("asked the client")

    async with Client(build_server(human), elicitation_callback=elicit) as client:
        pending = await client.call_tool("remove_vm_disk", REMOVE)
        assert pending.is_error and "pve-config-mcp approve apv-" in text(pending), text(pending)
        approval_id = approval_id_of(pending)
        assert stub.guest(100)["scsi1"] == DISK and stub.changes()[-1]["check"] is True  # only the preview ran
        early = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
        assert early.is_error and "is waiting" in text(early) and "scsi1" in stub.guest(100)
        human.approvals.store.decide(approval_id, True, "cli:alice")
        done = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
        assert not done.is_error, text(done)
        assert "scsi1" not in stub.guest(100)
        again = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
        assert again.is_error and "is used" in text(again)
    writes = [c for c in stub.changes() if not c["check"]]
    assert len(writes) == 1 and writes[0]["args"]["purge"] is True
    outcomes = [(e["outcome"], e.get("approval", {}).get("by")) for e in audit_entries(tmp_path)]
    assert outcomes == [
        ("approval_pending", None),
        ("approval_pending", None),
        ("approved", "cli:alice"),
        ("ok", None),
        ("invalid", None),
    ]
    entries = audit_entries(tmp_path)
    assert entries[2]["approval"]["id"] == approval_id and entries[2]["principal"] == "local"
    assert entries[3]["arguments"]["approval"] == {"id": approval_id, "by": "cli:alice"}


async def test_rejected_approval_writes_nothing(human, stub, tmp_path):
    async with Client(build_server(human)) as client:
        approval_id = approval_id_of(await client.call_tool("remove_vm_disk", REMOVE))
        human.approvals.store.decide(approval_id, False, "cli:bob")
        refused = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
    assert refused.is_error and "cli:bob rejected approval" in text(refused)
    assert stub.guest(100)["scsi1"] == DISK and all(c["check"] for c in stub.changes())
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["approval_pending", "rejected", "rejected"]


async def test_a_concurrent_edit_voids_the_approval_before_any_write(human, stub, tmp_path):
    async with Client(build_server(human)) as client:
        approval_id = approval_id_of(await client.call_tool("remove_vm_disk", REMOVE))
        human.approvals.store.decide(approval_id, True, "cli:alice")
        stub.seed(100, {"memory": "4096", "scsi1": DISK})  # someone else edits the guest meanwhile
        void = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
        again = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": approval_id})
    assert void.is_error and "changed since approval" in text(void) and "void" in text(void)
    assert again.is_error and "is void" in text(again)
    assert stub.guest(100) == {"memory": "4096", "scsi1": DISK} and all(c["check"] for c in stub.changes())
    assert [e["outcome"] for e in audit_entries(tmp_path)][-2:] == ["approval_void", "invalid"]


async def test_an_approval_is_bound_to_its_call(human, stub):
    stub.seed(100, {"scsi1": DISK, "scsi2": "local-lvm:vm-100-disk-2,size=8G"})
    async with Client(build_server(human)) as client:
        approval_id = approval_id_of(await client.call_tool("remove_vm_disk", REMOVE))
        human.approvals.store.decide(approval_id, True, "cli:alice")
        other = await client.call_tool("remove_vm_disk", {**REMOVE, "disk_id": "scsi2", "approval_id": approval_id})
        unknown = await client.call_tool("remove_vm_disk", {**REMOVE, "approval_id": "apv-0123456789abcdef"})
    assert other.is_error and "requested for another call" in text(other)
    assert unknown.is_error and "no approval apv-0123456789abcdef" in text(unknown)
    assert set(stub.guest(100)) == {"scsi1", "scsi2"}


async def test_a_destroying_plan_and_a_large_fleet_need_a_person_others_do_not(make_bridge, stub):
    stub.seed(100, {"memory": "2048", "scsi1": DISK})
    bridge = make_bridge(approval="human")
    async with Client(build_server(bridge)) as client:
        detach = await client.call_tool("remove_vm_disk", {"vmid": 100, "disk_id": "scsi1"})
        assert not detach.is_error, text(detach)  # nothing destroyed: no approval
        stub.seed(100, {"memory": "2048", "scsi1": DISK})
        planned = await client.call_tool(
            "plan_guest_config", {"vmid": 100, "config": {}, "absent": ["scsi1"], "purge": True}
        )
        plan_id = planned.structured_content["plan_id"]
        pending = await client.call_tool("apply_guest_config", {"plan_id": plan_id, "confirm": True})
        assert pending.is_error and "approval" in text(pending) and "scsi1" in stub.guest(100)
        approval_id = approval_id_of(pending)
        assert bridge.approvals.store.get(approval_id).shown["diff"]["before"]["scsi1"] == DISK
        bridge.approvals.store.decide(approval_id, True, "cli:alice")
        done = await client.call_tool("apply_guest_config", {"plan_id": plan_id, "approval_id": approval_id})
        assert not done.is_error, text(done)
    assert "scsi1" not in stub.guest(100)


def test_default_mode_is_unchanged(make_bridge):
    bridge = make_bridge()
    assert bridge.approvals is None
    tools = {tool.name: tool for tool in build_server(bridge)._tool_manager.list_tools()}  # noqa: SLF001
    assert "approval_id" not in tools["remove_vm_disk"].parameters["properties"]
    human = build_server(make_bridge(approval="human"))._tool_manager.list_tools()  # noqa: SLF001
    assert "approval_id" in {t.name: t for t in human}["apply_fleet_config"].parameters["properties"]
    assert "approval_id" not in {t.name: t for t in human}["remove_vm_network"].parameters["properties"]


def test_store_codes_are_single_use_hashed_and_short_lived(monkeypatch):
    decided = []
    store = ApprovalStore(60, 5, lambda approval, state: decided.append(state))
    approval = store.request(
        key="k", principal="p", tool="t", vmids=(1,), digests={1: "d"}, shown={}, audit_arguments={}
    )
    code = store.new_code(approval)
    assert code not in json.dumps(approval.public()) and approval.code_hash != code
    assert store.by_code(code) is approval and store.by_code(code + "x") is None
    with pytest.raises(ApprovalInvalid):
        store.decide(approval.id, True, "page", code="wrong")
    store.decide(approval.id, True, "page", code=code)
    assert store.by_code(code) is None and decided == ["approved"]
    with pytest.raises(ApprovalInvalid):
        store.decide(approval.id, False, "page", code=code)  # spent
    late = store.request(key="k", principal="p", tool="t", vmids=(1,), digests={}, shown={}, audit_arguments={})
    late_code = store.new_code(late)
    late.code_expires = 0.0  # the code's lifetime is over
    assert store.by_code(late_code) is None


def test_private_dir_refuses_open_or_foreign_directories(tmp_path):
    made = private_dir(str(tmp_path / "approvals"), create=True)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    with pytest.raises(ConfigError, match="open to other users"):
        private_dir(str(open_dir), create=False)
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(ConfigError, match="not a directory"):
        private_dir(str(link), create=False)
    with pytest.raises(ConfigError, match="is the bridge running"):
        private_dir(str(tmp_path / "missing"), create=False)


def test_cli_decides_through_the_channel_as_the_os_user(tmp_path):
    import pwd

    decided = []
    store = ApprovalStore(60, 5, lambda approval, state: decided.append((approval.decided_by, state)))
    approval = store.request(
        key="k",
        principal="alice",
        tool="remove_vm_disk",
        vmids=(100,),
        digests={100: "d" * 40},
        shown={"reason": "it destroys scsi1", "diff": {"before": {"scsi1": DISK}}},
        audit_arguments={},
    )
    directory = private_dir(str(tmp_path / "dir"), create=True)
    channel = ApprovalChannel(store, directory)
    channel.start()
    try:
        assert stat.S_IMODE(channel.path.stat().st_mode) == 0o600
        listed = ask(directory, "list")["approvals"]
        assert [a["id"] for a in listed] == [approval.id]
        shown = cli("approve", approval.id, directory)
        assert shown.returncode == 0, shown.stderr
        assert f"approval {approval.id}: approved" in shown.stdout and "scsi1" in shown.stdout
        user = pwd.getpwuid(os.getuid()).pw_name
        assert decided == [(f"cli:{user}", "approved")]
        again = cli("reject", approval.id, directory)
        assert again.returncode == 1 and "already approved" in again.stderr
        with socket.socket(socket.AF_UNIX) as conn:  # a request that is not JSON
            conn.connect(str(channel.path))
            conn.sendall(b"approve everything\n")
            assert json.loads(conn.makefile().readline()) == {"error": "bad request"}
    finally:
        channel.stop()
    assert not channel.path.exists()
    assert SECRET not in "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
