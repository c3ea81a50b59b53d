"""The server wiring through the SDK's in-memory Client, with the real ansible-runner path and the stub modules."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import anyio
import pytest
from _support import INJECTED, INJECTION, SECRET, VALID, audit_entries, string_fields
from mcp import Client
from mcp.types import ElicitResult

from mcp_bridge.tools import TOOLS

pytestmark = pytest.mark.anyio


def text(result) -> str:
    return "\n".join(c.text for c in result.content)


async def test_list_tools_publishes_schemas_annotations_and_output_schemas(make_server):
    async with Client(make_server(), raise_exceptions=True) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(listed) == [spec.name for spec in TOOLS]
    for spec in TOOLS:
        tool = listed[spec.name]
        assert tool.input_schema == spec.args.model_json_schema()
        assert tool.annotations == spec.annotations
        assert tool.title == spec.title and tool.description == spec.description
        # a fleet tool answers for many guests: its per-guest results are in `guests` (test_mcp_fleet.py)
        single = {"summary", "guests", "totals"} if spec.module == "fleet_config" else {"summary", "vmid", "config"}
        assert set(tool.output_schema["properties"]) >= single
        assert "confirmation" not in tool.input_schema["properties"]  # resolver-filled, not an argument
    assert {"changed", "diff", "pending", "task", "dry_run"} <= set(
        listed["update_vm_resources"].output_schema["properties"]
    )
    assert {"disk", "volume"} <= set(listed["add_vm_disk"].output_schema["properties"])
    assert {"interface", "macaddr"} <= set(listed["add_vm_network"].output_schema["properties"])
    assert {"interface", "hwaddr"} <= set(listed["add_container_network"].output_schema["properties"])
    assert {"disks", "nics", "digest", "status"} <= set(listed["get_guest_config"].output_schema["properties"])


async def test_change_dry_run_and_rerun(make_server, stub, tmp_path):
    async with Client(make_server(), raise_exceptions=True) as client:
        dry = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": "4G", "cores": 2, "dry_run": True})
        assert not dry.is_error, text(dry)
        assert dry.structured_content["changed"] is True and dry.structured_content["dry_run"] is True
        assert dry.structured_content["diff"]["after"]["cores"] == 2
        assert dry.content[0].text.startswith("[dry run, nothing written] updated ")
        assert stub.state() == {}

        first = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": "4G", "cores": 2})
        assert first.structured_content["changed"] is True and first.structured_content["config"]["cores"] == 2
        assert json.loads(first.content[1].text) == first.structured_content

        again = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": "4G", "cores": 2})
        assert again.structured_content["changed"] is False
    assert stub.guest(100) == {"memory": 4096, "cores": 2, "writes": 1}
    assert [(e["tool"], e["outcome"], e["changed"]) for e in audit_entries(tmp_path)] == [
        ("update_vm_resources", "ok", True),
        ("update_vm_resources", "ok", True),
        ("update_vm_resources", "ok", False),
    ]


async def test_every_tool_runs_its_module(make_server, stub):
    stub.seed(100, {"scsi0": "local-lvm:vm-100-disk-0,size=8G", "net0": "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0"})
    stub.seed(200, {"net0": "name=eth0,bridge=vmbr0"})
    calls = [
        ("update_vm_resources", {"vmid": 100, "balloon": 0}),
        ("update_container_resources", {"vmid": 200, "memory": 1024, "swap": "512M"}),
        ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": "32G"}),
        ("resize_vm_disk", {"vmid": 100, "disk_id": "scsi1", "size": 64}),
        ("remove_vm_disk", {"vmid": 100, "disk_id": "scsi1"}),
        ("add_vm_network", {"vmid": 100, "bridge": "vmbr1", "tag": 30}),
        ("remove_vm_network", {"vmid": 100, "interface_id": "net1"}),
        ("add_container_network", {"vmid": 200}),
        ("remove_container_network", {"vmid": 200, "interface_id": "net1"}),
        ("get_guest_config", {"vmid": 100}),
    ]
    results = {}
    async with Client(make_server(), raise_exceptions=True) as client:
        for tool, args in calls:
            result = await client.call_tool(tool, args)
            assert not result.is_error, (tool, text(result))
            results[tool] = result.structured_content
    assert results["add_vm_disk"]["disk"] == "scsi1" and results["add_vm_disk"]["volume"] == "local-lvm:vm-100-scsi1"
    assert results["add_vm_network"]["interface"] == "net1" and results["add_vm_network"]["macaddr"]
    assert results["add_container_network"]["interface"] == "net1" and results["add_container_network"]["hwaddr"]
    assert results["get_guest_config"]["status"] == "running"
    modules = [(c["module"], c["args"].get("state")) for c in stub.calls()]
    assert modules == [
        ("vm_resources", None),
        ("container_resources", None),
        ("vm_disk", "present"),
        ("vm_disk", "present"),
        ("guest_info", None),  # a removal is destructive: the guest's protection is read first (access.py)
        ("vm_disk", "absent"),
        ("vm_nic", "present"),
        ("guest_info", None),
        ("vm_nic", "absent"),
        ("container_nic", "present"),
        ("guest_info", None),
        ("container_nic", "absent"),
        ("guest_info", None),
    ]
    assert stub.calls()[9]["args"]["ip"] == "dhcp" and stub.calls()[9]["args"]["bridge"] == "vmbr0"
    assert "purge" not in stub.calls()[5]["args"] or stub.calls()[5]["args"]["purge"] is False


async def test_bad_input_is_a_tool_error_and_runs_nothing(make_server, stub):
    bad_calls = [
        ("update_vm_resources", {"vmid": 100}),
        ("update_vm_resources", {"vmid": 100, "memory": 8}),
        ("update_vm_resources", {"vmid": 100, "memory": 512, "api_host": "evil"}),
        ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": "32GB"}),
        ("add_vm_network", {"vmid": 100, "model": "nope"}),
        ("no_such_tool", {"vmid": 100}),
    ]
    async with Client(make_server(), raise_exceptions=True) as client:
        for tool, args in bad_calls:
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, args)
            assert "Traceback" not in text(result)
    assert stub.calls() == []


async def test_module_error_comes_back_as_its_message(make_server, tmp_path):
    async with Client(make_server(), raise_exceptions=True) as client:
        result = await client.call_tool("update_vm_resources", {"vmid": 999, "memory": 512})
    assert result.is_error
    assert text(result) == "Error executing tool update_vm_resources: guest 999 does not exist; nothing was changed"
    assert audit_entries(tmp_path)[-1]["outcome"] == "failed"


async def test_injection_in_every_string_argument_is_refused(make_server, stub):
    assert not INJECTED.exists()
    cases = [(spec.name, field) for spec in TOOLS for field in string_fields(spec)]
    assert len(cases) >= 15
    async with Client(make_server(), raise_exceptions=True) as client:
        for tool, field in cases:
            result = await client.call_tool(tool, {**VALID[tool], field: INJECTION})
            assert result.is_error, (tool, field)
            assert "validation error" in text(result)
    assert stub.calls() == []
    assert not INJECTED.exists()


async def test_delete_volume_without_confirmation_deletes_nothing(make_server, stub, tmp_path):
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=8G"})
    args = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True}
    async with Client(make_server(), raise_exceptions=True) as client:
        refused = await client.call_tool("remove_vm_disk", args)
        assert refused.is_error and "confirm: true" in text(refused)
        assert stub.changes() == [] and "scsi1" in stub.guest(100)

        preview = await client.call_tool("remove_vm_disk", {**args, "dry_run": True})  # a preview needs no consent
        assert not preview.is_error and preview.structured_content["changed"] is True
        assert "scsi1" in stub.guest(100)

        done = await client.call_tool("remove_vm_disk", {**args, "confirm": True})
        assert not done.is_error, text(done)
    assert stub.guest(100) == {"destroyed": ["local-lvm:vm-100-disk-1,size=8G"]}
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["unconfirmed", "ok", "ok"]


async def test_container_mount_point_volume_needs_the_same_confirmation(make_server, stub, tmp_path):
    stub.seed(200, {"mp0": "local-lvm:vm-200-disk-1,mp=/srv/data,size=8G"})
    args = {"vmid": 200, "mountpoint_id": "mp0", "delete_volume": True}
    async with Client(make_server(), raise_exceptions=True) as client:
        refused = await client.call_tool("remove_container_mountpoint", args)
        assert refused.is_error and "confirm: true" in text(refused)
        assert "the volume of mp0 on guest 200" in text(refused) and "only detach the mount point" in text(refused)
        assert stub.changes() == [] and "mp0" in stub.guest(200)
        done = await client.call_tool("remove_container_mountpoint", {**args, "confirm": True})
        assert not done.is_error, text(done)
    assert stub.guest(200) == {"destroyed": ["local-lvm:vm-200-disk-1,mp=/srv/data,size=8G"]}
    assert stub.changes()[0]["args"] == {"vmid": 200, "mountpoint": "mp0", "purge": True, "state": "absent"}


async def test_container_mount_point_elicitation_names_the_mount_point(make_server, stub):
    stub.seed(200, {"mp0": "local-lvm:vm-200-disk-1,mp=/srv/data,size=8G"})
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        return ElicitResult(action="decline")

    args = {"vmid": 200, "mountpoint_id": "mp0", "delete_volume": True, "confirm": True}
    async with Client(make_server(), elicitation_callback=elicit) as client:
        result = await client.call_tool("remove_container_mountpoint", args)
    assert asked == [
        "Remove mount point mp0 from guest 200 and permanently destroy its volume? The data cannot be recovered."
    ]
    assert result.is_error and "did not confirm" in text(result) and stub.changes() == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("answer", ["accept", "decline", "cancel", "accept-false"])
async def test_elicitation_decides_when_the_client_supports_it(make_server, stub, mode, answer):
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=8G"})
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"destroy": True})
        if answer == "accept-false":
            return ElicitResult(action="accept", content={"destroy": False})
        return ElicitResult(action=answer)

    # confirm: true from the model does not bypass the user when the client can ask.
    args = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "confirm": True}
    async with Client(make_server(), elicitation_callback=elicit, mode=mode) as client:
        result = await client.call_tool("remove_vm_disk", args)
    assert len(asked) == 1 and "permanently destroy" in asked[0]
    if answer == "accept":
        assert not result.is_error, text(result)
        assert "scsi1" not in stub.guest(100)
    else:
        assert result.is_error and "did not confirm" in text(result)
        assert "scsi1" in stub.guest(100) and stub.changes() == []


async def test_detach_only_asks_nothing(make_server, stub):
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=8G"})

    async def elicit(context, params):  # pragma: no cover - must not be called
        raise AssertionError("asked")

    async with Client(make_server(), elicitation_callback=elicit) as client:
        result = await client.call_tool("remove_vm_disk", {"vmid": 100, "disk_id": "scsi1"})
    assert not result.is_error and stub.changes()[0]["args"]["purge"] is False


async def test_read_only_mode_offers_and_runs_only_reads(make_bridge, stub):
    from mcp_bridge.server import build_server

    bridge = make_bridge(read_only=True)
    async with Client(build_server(bridge), raise_exceptions=True) as client:
        # the plan tools only read (check mode); their plans need a bridge that may write to be applied.
        assert [t.name for t in (await client.list_tools()).tools] == [
            "plan_guest_config",
            "get_guest_config",
            "plan_fleet_config",
        ]
        refused = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 512})
        assert refused.is_error
        assert not (await client.call_tool("get_guest_config", {"vmid": 100})).is_error
    # The call path checks again even if a tool were registered by mistake.
    from mcp_bridge.tools import TOOLS_BY_NAME

    with pytest.raises(Exception, match="read-only"):
        await bridge.call(TOOLS_BY_NAME["update_vm_resources"], {"vmid": 100, "memory": 512}, None)
    assert [c["module"] for c in stub.calls()] == ["guest_info"]


async def test_tool_and_guest_allow_lists(make_server, stub, tmp_path):
    pools = {300: "lab", 301: "prod"}
    server = make_server(
        tools=["get_guest_config", "update_vm_resources"], vmids=[100, "200-209"], pools=["lab"], pool_of=pools.get
    )
    async with Client(server, raise_exceptions=True) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"get_guest_config", "update_vm_resources"}
        for vmid, allowed in [(100, True), (205, True), (210, False), (300, True), (301, False), (302, False)]:
            result = await client.call_tool("get_guest_config", {"vmid": vmid})
            assert result.is_error is not allowed, vmid
            if not allowed:
                assert "allow-list" in text(result)
        assert (await client.call_tool("add_vm_disk", {"vmid": 100, "storage": "s", "size": 1})).is_error
    assert [e["outcome"] for e in audit_entries(tmp_path)].count("denied") == 4  # add_vm_disk is hidden
    assert sorted(c["args"]["vmid"] for c in stub.calls()) == [100, 205, 300]


async def test_calls_on_one_guest_are_serialised_and_other_guests_run_in_parallel(make_server, stub):
    server = make_server(env={"STUB_SLEEP": "1.5"}, max_parallel=4)
    durations: dict[str, float] = {}

    async def call(client, key, vmid, memory):
        started = time.monotonic()
        result = await client.call_tool("update_vm_resources", {"vmid": vmid, "memory": memory})
        assert not result.is_error, text(result)
        durations[key] = time.monotonic() - started

    async with Client(server, raise_exceptions=True) as client:
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, client, "a", 100, 1024)
            tg.start_soon(call, client, "b", 100, 2048)
            tg.start_soon(call, client, "c", 101, 4096)
        total = time.monotonic() - started
    # Both writes on guest 100 landed (the stub's read-modify-write would lose one if they overlapped) ...
    assert stub.guest(100)["writes"] == 2
    # ... one after the other, while guest 101 ran alongside.
    assert abs(durations["a"] - durations["b"]) > 1.4
    assert durations["c"] < min(durations["a"], durations["b"]) + 0.5
    assert total < 2 * (min(durations.values()) + 0.5) + 1


async def test_timeout_is_a_clear_error(make_server, stub, tmp_path):
    server = make_server(env={"STUB_SLEEP": "30"}, timeout=2)
    async with Client(server, raise_exceptions=True) as client:
        started = time.monotonic()
        result = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 512})
    assert time.monotonic() - started < 8
    assert result.is_error and "did not finish within 2 s and was stopped" in text(result)
    assert audit_entries(tmp_path)[-1]["outcome"] == "timeout"
    assert stub.state() == {}


async def test_progress_notifications(make_server, stub):
    server = make_server(env={"STUB_SLEEP": "2"})
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value, total, message):
        seen.append((value, total, message))

    async with Client(server, raise_exceptions=True) as client:
        result = await client.call_tool(
            "add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 4}, progress_callback=progress
        )
    assert not result.is_error
    values = [value for value, total, message in seen]
    assert len(seen) >= 2 and values == sorted(values)
    assert all(total == 300 for value, total, message in seen)
    assert any("module running" in (message or "") for value, total, message in seen)


async def test_no_secret_in_results_errors_audit_log_or_temp_dirs(make_server, stub, tmp_path):
    async with Client(make_server(), raise_exceptions=True) as client:
        results = [
            await client.call_tool("add_vm_network", {"vmid": 100}),
            await client.call_tool("update_vm_resources", {"vmid": 999, "memory": 512}),
            await client.call_tool("add_container_network", {"vmid": 200, "name": "boom"}),
            await client.call_tool("get_guest_config", {"vmid": 100}),
        ]
    assert results[2].is_error and "boom with secret" in text(results[2])
    for result in results:
        assert SECRET not in result.model_dump_json()
    assert SECRET not in (tmp_path / "audit.jsonl").read_text()
    assert os.listdir(stub.tmp_root) == []  # every run's data dir (ansible's temp files included) is gone
    assert_no_file_contains(tmp_path, SECRET)


def assert_no_file_contains(root: Path, secret: str) -> None:
    needle = secret.encode()
    for dirpath, _dirnames, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            try:
                if path.is_symlink() or path.stat().st_size > 5_000_000:
                    continue
                assert needle not in path.read_bytes(), path
            except (PermissionError, FileNotFoundError):
                continue


async def test_every_call_leaves_one_audit_line_whatever_its_outcome(make_server, stub, tmp_path):
    """Issue 9.7: refused calls were missing (schema refusals, template markers, guests outside --vmids, tools
    hidden by --read-only / --tools)."""
    server = make_server(tools=["get_guest_config", "update_vm_resources"], vmids=[100, 999])
    calls = [
        ("update_vm_resources", {"vmid": 100, "memory": 8}, "invalid"),  # schema range
        ("update_vm_resources", {"vmid": 100, "cores": True}, "invalid"),  # strict integer
        ("update_vm_resources", {"vmid": 100, "cpu": INJECTION}, "invalid"),  # template marker
        ("update_vm_resources", {"vmid": 100, "memory": 512, "api_token_secret": SECRET}, "invalid"),
        ("get_guest_config", {"vmid": 101}, "denied"),  # outside --vmids
        ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 4}, "denied"),  # hidden by --tools
        ("no_such_tool", {"vmid": 100}, "invalid"),
        ("update_vm_resources", {"vmid": 999, "memory": 512}, "failed"),  # the module refuses
        ("get_guest_config", {"vmid": 100}, "ok"),
    ]
    async with Client(server, raise_exceptions=True) as client:
        for tool, args, _outcome in calls:
            await client.call_tool(tool, args)
    entries = audit_entries(tmp_path)
    assert [(e["tool"], e["outcome"]) for e in entries] == [(tool, outcome) for tool, _args, outcome in calls]
    assert all(e["error"] for e in entries[:-1]) and all("duration_ms" in e for e in entries)
    assert entries[0]["arguments"] == {"vmid": 100, "memory": 8}
    assert "cores" in entries[1]["error"] and "tool allow-list" in entries[5]["error"]
    assert entries[3]["arguments"]["api_token_secret"] == "********"  # a secret a client sends is redacted too
    assert SECRET not in (tmp_path / "audit.jsonl").read_text()
    assert [c["module"] for c in stub.calls()] == ["vm_resources", "guest_info"]


async def test_read_only_refusals_are_audited(make_server, tmp_path):
    async with Client(make_server(read_only=True), raise_exceptions=True) as client:
        assert (await client.call_tool("remove_vm_disk", {"vmid": 100, "disk_id": "scsi0"})).is_error
    [entry] = audit_entries(tmp_path)
    assert (entry["tool"], entry["outcome"]) == ("remove_vm_disk", "denied") and "read-only" in entry["error"]


async def test_long_arguments_are_cut_in_the_audit_log(make_server, tmp_path):
    async with Client(make_server(), raise_exceptions=True) as client:
        assert (await client.call_tool("add_container_network", {"vmid": 200, "name": "x" * 100_000})).is_error
    [entry] = audit_entries(tmp_path)
    assert entry["outcome"] == "invalid" and len(entry["arguments"]["name"]) < 300


@pytest.mark.parametrize(
    ("settings", "vmid", "error"),
    [
        ({"vmids": [100]}, 101, "allow-list"),  # policy first (issue 9.10: asked, then denied)
        ({}, 999, "guest 999 does not exist"),  # existence first (asked about guest 4242, which does not exist)
    ],
)
async def test_nobody_is_asked_to_destroy_what_the_call_may_not_or_cannot_touch(
    make_server, stub, tmp_path, settings, vmid, error
):
    asked = []

    async def elicit(context, params):  # pragma: no cover - must not be called
        asked.append(params.message)
        return ElicitResult(action="accept", content={"destroy": True})

    args = {"vmid": vmid, "disk_id": "scsi1", "delete_volume": True}
    async with Client(make_server(**settings), elicitation_callback=elicit) as client:
        result = await client.call_tool("remove_vm_disk", args)
        without_elicitation = await client.call_tool("remove_vm_disk", {**args, "confirm": True})
    assert asked == []
    assert result.is_error and error in text(result)
    assert without_elicitation.is_error and error in text(without_elicitation)
    # nothing but the guest's reads through the collection (guest_info: 999's existence; 101 is refused by its
    # VMID alone, unread)
    assert stub.changes() == [] and [c["args"] for c in stub.calls()] == [{"vmid": vmid}] * (4 if vmid == 999 else 0)
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["denied" if settings else "failed"] * 2


async def test_booleans_are_no_integers_and_sizes_become_mebibytes(make_server, stub):
    """Issues 9.8 and 9.9 through the SDK client: `cores: true` is refused (it wrote `cores: 1`); `balloon: '8G'`
    reaches the module as 8192 (it failed there with "unable to convert to int")."""
    async with Client(make_server(), raise_exceptions=True) as client:
        refused = await client.call_tool("update_vm_resources", {"vmid": 100, "cores": True})
        sized = await client.call_tool("update_vm_resources", {"vmid": 100, "balloon": "8G", "memory": "16G"})
        swap = await client.call_tool("update_container_resources", {"vmid": 200, "swap": "512M"})
    assert refused.is_error and "cores" in text(refused)
    assert not sized.is_error and not swap.is_error
    assert [c["args"] for c in stub.calls()] == [
        {"vmid": 100, "balloon": 8192, "memory": 16384},
        {"vmid": 200, "swap": 512},
    ]


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        # Issue 9.11: look-alike characters (full-width zero, Cyrillic a, Arabic-Indic one) in names.
        ("add_vm_network", {"vmid": 100, "bridge": "vmbr\uff10"}),
        ("add_vm_network", {"vmid": 100, "bridge": "vmbr\u0430"}),
        ("add_container_network", {"vmid": 200, "bridge": "vmbr\u0660"}),
        ("add_container_network", {"vmid": 200, "name": "eth\u0661"}),
        ("add_container_network", {"vmid": 200, "ip6": "fe80::1%ip=1.2.3.4/64"}),
        ("add_vm_network", {"vmid": 100, "bridge": "vmbr0\n"}),
        # Issue 9.12: no tool takes a node (the bridge reads it from Proxmox), so a path in it goes nowhere.
        ("get_guest_config", {"vmid": 100, "node": "pve1/qemu/100/../../../../access"}),
        ("update_vm_resources", {"vmid": 100, "memory": 512, "node": "pve1"}),
    ],
)
async def test_look_alike_names_and_node_values_are_refused(make_server, stub, tool, args):
    async with Client(make_server(), raise_exceptions=True) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error and stub.calls() == []


async def test_add_vm_disk_on_an_occupied_slot_is_refused_and_changes_nothing(make_server, stub, tmp_path):
    """Issue 9.5: add_vm_disk with disk_id scsi0 grew the boot disk; the tool now sends vm_disk's if_exists=fail."""
    stub.seed(100, {"scsi0": "local-lvm:vm-100-disk-0,size=32G"})
    async with Client(make_server(), raise_exceptions=True) as client:
        refused = await client.call_tool(
            "add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 64, "disk_id": "scsi0"}
        )
        added = await client.call_tool(
            "add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 8, "disk_id": "scsi1"}
        )
    assert refused.is_error and "in use" in text(refused)
    assert not added.is_error
    assert stub.guest(100)["scsi0"] == "local-lvm:vm-100-disk-0,size=32G"
    assert [c["args"]["if_exists"] for c in stub.calls()] == ["fail", "fail"]
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["failed", "ok"]


async def test_add_network_tools_send_if_exists_fail_and_an_occupied_interface_changes_nothing(
    make_server, stub, tmp_path
):
    """add_vm_network / add_container_network with an interface_id in use updated that NIC (the NIC side of 9.5):
    the tools now send the modules' if_exists=fail."""
    stub.seed(100, {"net0": "virtio=BC:24:11:00:00:00,bridge=vmbr0"})
    stub.seed(200, {"net0": "name=eth0,bridge=vmbr0"})
    async with Client(make_server(), raise_exceptions=True) as client:
        refused_vm = await client.call_tool("add_vm_network", {"vmid": 100, "interface_id": "net0", "tag": 20})
        refused_ct = await client.call_tool("add_container_network", {"vmid": 200, "interface_id": "net0"})
        added = await client.call_tool("add_vm_network", {"vmid": 100, "interface_id": "net1"})
    assert refused_vm.is_error and "in use" in text(refused_vm)
    assert refused_ct.is_error and "in use" in text(refused_ct)
    assert not added.is_error
    assert stub.guest(100)["net0"] == "virtio=BC:24:11:00:00:00,bridge=vmbr0"
    assert stub.guest(200) == {"net0": "name=eth0,bridge=vmbr0"}
    assert [c["args"]["if_exists"] for c in stub.calls()] == ["fail", "fail", "fail"]
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["failed", "failed", "ok"]


async def test_a_failed_run_that_changed_the_guest_says_so_and_is_audited_as_changed(make_server, stub, tmp_path):
    """Issue 9.3 (bridge side): `changed` in the audit line follows the module's result, with what persisted."""
    async with Client(make_server(), raise_exceptions=True) as client:
        result = await client.call_tool("add_container_network", {"vmid": 200, "name": "halfway"})
    assert result.is_error
    assert text(result).endswith(
        "timed out waiting for the task (the module reports that the guest was changed: check it with get_guest_config)"
    )
    [entry] = audit_entries(tmp_path)
    assert (entry["outcome"], entry["changed"]) == ("failed", True)
    assert entry["persisted"]["config"]["net0"].endswith("bridge=vmbr0") and entry["persisted"]["pending"] == {}
