"""Long calls as MCP tasks (mcp_bridge/tasks.py), through the SDK's client (in memory) against the stub collection.

The stub module sleeps (STUB_SLEEP) before it writes, so a task is seen working, then done; a cancelled one never
writes. The client side of the extension is tests/mcp/_tasks_client.py (the SDK's ClientExtension with a claim on
`resultType: "task"`). test_mcp_tasks_e2e.py runs the same over stdio and streamable HTTP against the simulator.
"""

from __future__ import annotations

import time

import anyio
import pytest
from _support import audit_entries
from _tasks_client import TasksClient, cancel_task, get_task, update_task, wait_for_task
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, ElicitResult
from mcp_types import INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY
from test_mcp_access import caller
from test_mcp_runner import processes_using

from mcp_bridge.cli import configure
from mcp_bridge.config import ConfigError, load
from mcp_bridge.task_store import TaskNotFound, TaskStore
from mcp_bridge.tasks import IDENTIFIER, CreateTaskResult

pytestmark = pytest.mark.anyio

ADD = {"vmid": 100, "storage": "local-lvm", "size": "32G"}
SLEEP = 3.0


def text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def ack(answer: dict) -> bool:
    """An empty acknowledgement (the SDK stamps its serverInfo into every result's _meta)."""
    return {k: v for k, v in answer.items() if k != "_meta"} == {"resultType": "complete"}


async def start_task(client: Client, tool: str, args: dict) -> CreateTaskResult:
    handle = await client.session.call_tool(tool, args, allow_claimed=True)
    assert isinstance(handle, CreateTaskResult), handle
    return handle


async def test_a_task_handle_comes_at_once_and_ends_with_the_plain_calls_result(make_server, stub, tmp_path):
    server = make_server(env={"STUB_SLEEP": str(SLEEP)})
    async with Client(server, extensions=[TasksClient()]) as client:
        asked = time.monotonic()
        handle = await start_task(client, "add_vm_disk", ADD)
        assert time.monotonic() - asked < SLEEP and stub.guest(100) == {}  # before the module wrote anything
        assert handle.status == "working" and handle.ttl_ms == 3600 * 1000 and handle.poll_interval_ms
        assert len(handle.task_id) >= 40  # unguessable
        working = await get_task(client.session, handle.task_id)
        assert working["status"] == "working" and working["resultType"] == "complete" and "result" not in working
        task = await wait_for_task(client.session, handle.task_id)
    assert task["status"] == "completed" and task["taskId"] == handle.task_id
    result = CallToolResult.model_validate(task["result"])
    assert not result.is_error and result.structured_content["disk"] == "scsi0"
    assert stub.guest(100) == {"scsi0": "local-lvm:vm-100-scsi0,size=32G"}
    async with Client(server) as client:  # the same call without the extension: the plain, synchronous result
        plain = await client.call_tool("add_vm_disk", {**ADD, "vmid": 101})
    assert isinstance(plain, CallToolResult) and not plain.is_error
    assert set(plain.structured_content) == set(result.structured_content)
    assert [c.type for c in plain.content] == [c.type for c in result.content]
    entries = audit_entries(tmp_path)
    assert [(e["tool"], e["outcome"], e.get("task")) for e in entries] == [
        ("add_vm_disk", "ok", handle.task_id),
        ("add_vm_disk", "ok", None),
    ]


async def test_the_client_library_resolves_the_handle_to_the_tool_result(make_server, stub):
    tasks = TasksClient()
    async with Client(make_server(env={"STUB_SLEEP": "1"}), extensions=[tasks]) as client:
        result = await client.call_tool("resize_container_disk", {"vmid": 200, "disk_id": "rootfs", "size": 16})
        quick = await client.call_tool("get_guest_config", {"vmid": 200})  # not a long tool: never a task
    assert isinstance(result, CallToolResult) and not result.is_error, text(result)
    assert len(tasks.handles) == 1 and not quick.is_error


async def test_a_failed_module_is_a_completed_task_with_is_error(make_server, stub):
    stub.seed(100, {"scsi0": "local-lvm:vm-100-disk-0,size=4G"})
    async with Client(make_server(), extensions=[TasksClient()]) as client:
        handle = await start_task(client, "add_vm_disk", {**ADD, "disk_id": "scsi0"})
        task = await wait_for_task(client.session, handle.task_id)
    assert task["status"] == "completed"
    assert task["result"]["isError"] is True and "scsi0 of VM 100 is in use" in task["result"]["content"][0]["text"]


async def test_a_refused_call_is_answered_plainly_without_a_task(make_server, stub, tmp_path):
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=4G"})
    server = make_server(vmids=[100])
    async with Client(server, extensions=[TasksClient()]) as client:
        outside = await client.session.call_tool("add_vm_disk", {**ADD, "vmid": 300}, allow_claimed=True)
        unconfirmed = await client.session.call_tool(
            "remove_vm_disk", {"vmid": 100, "disk_id": "scsi1", "delete_volume": True}, allow_claimed=True
        )
    with caller("reader", "pve:read"):
        async with Client(server, extensions=[TasksClient()]) as client:
            denied = await client.session.call_tool(
                "resize_vm_disk", {"vmid": 100, "disk_id": "scsi1", "size": 64}, allow_claimed=True
            )
    for answer in (outside, unconfirmed, denied):
        assert isinstance(answer, CallToolResult) and answer.is_error
    assert "explicit confirmation" in text(unconfirmed) and "pve:write" in text(denied)
    assert stub.changes() == [] and stub.guest(100) == {"scsi1": "local-lvm:vm-100-disk-1,size=4G"}
    entries = audit_entries(tmp_path)
    assert [e["outcome"] for e in entries] == ["denied", "unconfirmed", "denied"]
    assert all("task" not in e for e in entries)


async def test_a_confirmed_destruction_runs_as_a_task(make_server, stub, tmp_path):
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=4G"})
    args = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "confirm": True}
    async with Client(make_server(), extensions=[TasksClient()]) as client:
        handle = await start_task(client, "remove_vm_disk", args)
        task = await wait_for_task(client.session, handle.task_id)
    assert task["status"] == "completed" and not task["result"]["isError"]
    assert stub.guest(100) == {"destroyed": ["local-lvm:vm-100-disk-1,size=4G"]}
    [entry] = [e for e in audit_entries(tmp_path) if e["tool"] == "remove_vm_disk"]
    assert (entry["outcome"], entry["task"]) == ("ok", handle.task_id)


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_the_elicited_confirmation_comes_before_the_task(make_server, stub, tmp_path, answer):
    """The question is asked on the tools/call itself (the 2026-07-28 multi round-trip: an InputRequiredResult,
    answered by the client library); the task exists only once the user said yes."""
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=4G"})
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"destroy": True})
        return ElicitResult(action="decline")

    tasks = TasksClient()
    args = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True}
    async with Client(make_server(), extensions=[tasks], elicitation_callback=elicit) as client:
        result = await client.call_tool("remove_vm_disk", args)
    assert len(asked) == 1 and "scsi1" in asked[0]
    [entry] = [e for e in audit_entries(tmp_path) if e["tool"] == "remove_vm_disk"]
    if answer == "accept":
        assert not result.is_error and len(tasks.handles) == 1
        assert stub.guest(100) == {"destroyed": ["local-lvm:vm-100-disk-1,size=4G"]}
        assert (entry["outcome"], entry["task"]) == ("ok", tasks.handles[0].task_id)
    else:
        assert result.is_error and "did not confirm" in text(result) and tasks.handles == []
        assert stub.changes() == [] and entry["outcome"] == "unconfirmed" and "task" not in entry


async def test_cancelling_stops_the_run_and_reports_the_reread_guest(make_server, stub, tmp_path):
    stub.seed(100, {"scsi0": "local-lvm:vm-100-disk-0,size=4G"})
    async with Client(make_server(env={"STUB_SLEEP": "30"}), extensions=[TasksClient()]) as client:
        handle = await start_task(client, "add_vm_disk", ADD)
        with anyio.fail_after(30):
            while not stub.changes():  # the module runs (and sleeps before it writes)
                await anyio.sleep(0.1)
        await anyio.sleep(0.5)
        assert processes_using(stub.tmp_root)
        assert ack(await cancel_task(client.session, handle.task_id))
        stopped = time.monotonic()
        task = await wait_for_task(client.session, handle.task_id, timeout=30)
    assert time.monotonic() - stopped < 15  # not the module's 30 s
    assert task["status"] == "cancelled" and "result" not in task
    assert "was cancelled" in task["statusMessage"] and "guest 100 re-read after the stop" in task["statusMessage"]
    assert task["_meta"]["pve.config/reread"]["100"]["config"] == {"scsi0": "local-lvm:vm-100-disk-0,size=4G"}
    assert stub.guest(100) == {"scsi0": "local-lvm:vm-100-disk-0,size=4G"}  # the module never wrote
    assert processes_using(stub.tmp_root) == []
    [entry] = audit_entries(tmp_path)
    assert (entry["outcome"], entry["task"]) == ("cancelled", handle.task_id) and "reread" in entry
    async with Client(make_server(), extensions=[TasksClient()]) as client:  # cancelling a finished task: no-op
        done = await start_task(client, "add_vm_disk", {**ADD, "vmid": 101})
        finished = await wait_for_task(client.session, done.task_id)
        await cancel_task(client.session, done.task_id)
        assert (await get_task(client.session, done.task_id))["status"] == finished["status"] == "completed"


async def test_tasks_on_one_guest_run_one_at_a_time_and_lose_no_update(make_server, stub, tmp_path):
    """The stub reads the guest, sleeps, then writes: two add_vm_disk runs at once would both pick scsi0. Both
    handles come at once; the guest's lock runs the calls one after the other, a plain call among them too."""
    server = make_server(env={"STUB_SLEEP": "2"})
    async with Client(server, extensions=[TasksClient()]) as client, Client(server) as plain_client:
        asked = time.monotonic()
        first = await start_task(client, "add_vm_disk", ADD)
        second = await start_task(client, "add_vm_disk", ADD)
        assert time.monotonic() - asked < 2 and stub.guest(100) == {}
        plain = await plain_client.call_tool("add_vm_disk", ADD)
        done = [await wait_for_task(client.session, task.task_id) for task in (first, second)]
    assert [task["status"] for task in done] == ["completed", "completed"] and not plain.is_error
    disks = [task["result"]["structuredContent"]["disk"] for task in done] + [plain.structured_content["disk"]]
    assert sorted(disks) == ["scsi0", "scsi1", "scsi2"] and set(stub.guest(100)) == set(disks)
    assert sorted(str(e.get("task")) for e in audit_entries(tmp_path)) == sorted(
        [first.task_id, second.task_id, "None"]
    )


async def test_progress_goes_into_the_status_message(make_server, stub):
    async with Client(make_server(env={"STUB_SLEEP": "4"}), extensions=[TasksClient()]) as client:
        handle = await start_task(client, "add_vm_disk", ADD)
        messages = set()
        with anyio.fail_after(30):
            while (task := await get_task(client.session, handle.task_id))["status"] == "working":
                messages.add(task.get("statusMessage"))
                await anyio.sleep(0.3)
    assert any(m and m.startswith("vm_disk: module running") for m in messages), messages
    assert task["statusMessage"].startswith("updated scsi0")  # a completed task: the result's summary


async def test_a_task_is_the_creators_only_and_survives_a_reconnect(make_server, stub):
    server = make_server(env={"STUB_SLEEP": "1"})
    with caller("alice", "pve:read", "pve:write"):
        async with Client(server, extensions=[TasksClient()]) as client:
            handle = await start_task(client, "add_vm_disk", ADD)
        async with Client(server, extensions=[TasksClient()]) as again:  # another session, the same principal
            task = await wait_for_task(again.session, handle.task_id)
    assert task["status"] == "completed"
    with caller("bob", "pve:read", "pve:write", "pve:destroy"):
        async with Client(server, extensions=[TasksClient()]) as client:
            for method in (get_task, cancel_task):
                with pytest.raises(MCPError) as refused:
                    await method(client.session, handle.task_id)
                assert refused.value.error.code == INVALID_PARAMS and "not found" in refused.value.error.message
            with pytest.raises(MCPError):
                await update_task(client.session, handle.task_id, {})
    async with Client(server, extensions=[TasksClient()]) as client:  # LOCAL (no token) is not alice either
        with pytest.raises(MCPError):
            await get_task(client.session, handle.task_id)


async def test_tasks_methods_need_the_extension_and_a_known_id(make_server, stub):
    server = make_server()
    async with Client(server, extensions=[TasksClient()]) as client:
        assert client.session.server_capabilities.extensions[IDENTIFIER] == {}  # advertised, no settings
        handle = await start_task(client, "add_vm_disk", ADD)
        await wait_for_task(client.session, handle.task_id)
        assert ack(await update_task(client.session, handle.task_id, {"k": {"action": "accept"}}))  # not outstanding
        for bad in ("no-such-task", handle.task_id[:-1]):
            with pytest.raises(MCPError) as refused:
                await get_task(client.session, bad)
            assert refused.value.error.code == INVALID_PARAMS
    async with Client(server) as client:  # did not declare the extension
        with pytest.raises(MCPError) as refused:
            await get_task(client.session, handle.task_id)
        assert refused.value.error.code == MISSING_REQUIRED_CLIENT_CAPABILITY


async def test_a_task_expires_after_task_ttl(make_server, stub):
    async with Client(make_server(task_ttl=1.5), extensions=[TasksClient()]) as client:
        handle = await start_task(client, "add_vm_disk", ADD)
        assert handle.ttl_ms == 1500
        task = await wait_for_task(client.session, handle.task_id)
        assert task["status"] == "completed"
        ended = time.monotonic()
        with anyio.fail_after(10):
            while True:
                try:
                    await get_task(client.session, handle.task_id)
                except MCPError as exc:
                    assert exc.error.code == INVALID_PARAMS and "not found" in exc.error.message
                    break
                await anyio.sleep(0.2)
        assert time.monotonic() - ended <= 1.5 + 0.5  # gone the ttl after the call ended


def test_the_store_keeps_a_working_task_and_a_result_for_the_ttl_after_the_call():
    now = [1000.0]
    store = TaskStore(ttl=60, clock=lambda: now[0])
    record = store.create("alice", "add_vm_disk")
    now[0] += 5  # the call's checks took a while: the task and its ttl begin with the handle
    store.start(record)
    assert record.ttl_ms(now[0]) == 60_000 and record.wire(now[0])["createdAt"] == "1970-01-01T00:16:45.000Z"
    now[0] += 600  # still working long after the ttl: kept
    assert store.get(record.task_id, "alice") is record and record.ttl_ms(now[0]) == 660_000
    store.update(record, status="completed", result={"content": []})
    now[0] += 59
    assert store.get(record.task_id, "alice").status == "completed"
    store.update(record, status="failed")  # a finished task stays as it ended
    assert record.status == "completed"
    now[0] += 2
    with pytest.raises(TaskNotFound):
        store.get(record.task_id, "alice")
    quick = store.create("alice", "add_vm_disk")
    store.update(quick, status="completed")
    with pytest.raises(TaskNotFound):
        store.get(quick.task_id, "bob")
    now[0] += 61
    with pytest.raises(TaskNotFound):
        store.get(quick.task_id, "alice")
    assert len(store) == 0


def test_task_ttl_comes_from_the_config_or_the_command_line_and_must_be_positive():
    _ns, config = configure(["--task-ttl", "120", "--audit-log", "off"])
    assert config.bridge.task_ttl == 120
    assert load(None, environ={}, overrides={"bridge": {"task_ttl": 600}}).bridge.task_ttl == 600
    assert load(None, environ={}).bridge.task_ttl == 3600
    for bad in (0, -5, 8 * 86400):
        with pytest.raises(ConfigError, match="task_ttl"):
            load(None, environ={}, overrides={"bridge": {"task_ttl": bad}})
