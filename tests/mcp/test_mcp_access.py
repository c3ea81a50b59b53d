"""Per-call authorisation through the SDK's client (in memory) against the stub collection: each scope allows and
refuses the right tools, VMID / tag / pool grants, protected guests refused before any write, and the audit
line naming the principal. The principal is what the HTTP transport's auth middleware puts in the SDK's
``auth_context_var`` (test_mcp_auth_http.py drives that over real HTTP)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from _support import audit_entries
from mcp import Client
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from mcp_bridge.tools import TOOLS

pytestmark = pytest.mark.anyio


@contextmanager
def caller(name: str, *scopes: str):
    reset = auth_context_var.set(AuthenticatedUser(AccessToken(token="t" * 40, client_id=name, scopes=list(scopes))))
    try:
        yield
    finally:
        auth_context_var.reset(reset)


def text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def modules(stub) -> list[str]:
    return [call["module"] for call in stub.calls()]


async def test_each_scope_allows_its_tools_and_refuses_the_others(make_server, stub, tmp_path):
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=4G", "scsi2": "local-lvm:vm-100-disk-2,size=4G"})
    server = make_server()
    with caller("reader", "pve:read"):
        async with Client(server) as client:
            assert not (await client.call_tool("get_guest_config", {"vmid": 100})).is_error
            refused = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 1024})
            assert refused.is_error and "reader may not call update_vm_resources on guest 100" in text(refused)
            assert "pve:write" in text(refused)
            dry = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 1024, "dry_run": True})
            assert dry.is_error  # a dry run of a changing tool needs pve:write too
    assert modules(stub) == ["guest_info"]
    with caller("writer", "pve:read", "pve:write"):
        async with Client(server) as client:
            assert not (await client.call_tool("update_vm_resources", {"vmid": 100, "memory": 1024})).is_error
            destroy = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "confirm": True}
            refused = await client.call_tool("remove_vm_disk", destroy)
            assert refused.is_error and "needs pve:destroy" in text(refused)
            assert not (await client.call_tool("remove_vm_disk", {"vmid": 100, "disk_id": "scsi2"})).is_error
    assert "scsi1" in stub.guest(100) and "scsi2" not in stub.guest(100)
    with caller("destroyer", "pve:write", "pve:destroy"):
        async with Client(server) as client:
            done = await client.call_tool("remove_vm_disk", destroy)
            assert not done.is_error, text(done)
    assert stub.guest(100)["destroyed"] == ["local-lvm:vm-100-disk-1,size=4G"]
    entries = audit_entries(tmp_path)
    assert [(e["principal"], e["tool"], e["outcome"]) for e in entries] == [
        ("reader", "get_guest_config", "ok"),
        ("reader", "update_vm_resources", "denied"),
        ("reader", "update_vm_resources", "denied"),
        ("writer", "update_vm_resources", "ok"),
        ("writer", "remove_vm_disk", "denied"),
        ("writer", "remove_vm_disk", "ok"),
        ("destroyer", "remove_vm_disk", "ok"),
    ]


async def test_vmid_tag_and_pool_grants(make_server, stub, tmp_path):
    stub.seed(100, {"tags": "web;db"})
    stub.seed(101, {"tags": "db", "pool": "lab"})
    stub.seed(102, {"pool": "prod"})
    server = make_server()
    grants = ("pve:write:vmid:200-299", "pve:write:tag:web", "pve:write:pool:lab")
    with caller("carol", *grants):
        async with Client(server) as client:
            for vmid, allowed in [(100, True), (101, True), (102, False), (205, True), (999, False)]:
                result = await client.call_tool("update_vm_resources", {"vmid": vmid, "cores": 2})
                assert result.is_error is not allowed, (vmid, text(result))
    calls = [(c["module"], c["args"]["vmid"]) for c in stub.calls()]
    # one guest_info read for a guest the VMID grant does not settle, none for 205
    assert calls == [
        ("guest_info", 100),
        ("vm_resources", 100),
        ("guest_info", 101),
        ("vm_resources", 101),
        ("guest_info", 102),
        ("vm_resources", 205),
        ("guest_info", 999),
    ]
    refused = audit_entries(tmp_path)[-1]
    assert (
        refused["outcome"] == "denied"
        and "could not read the tags, pool and protection of guest 999" in (refused["error"])
    )


@pytest.mark.parametrize("config", [{"protection": 1}, {"tags": "db;PVE-Config-Protected"}])
async def test_protected_guest_gets_no_destructive_call(make_server, stub, tmp_path, config):
    stub.seed(100, {**config, "scsi1": "local-lvm:vm-100-disk-1,size=4G", "net1": "virtio,bridge=vmbr0"})
    server = make_server()
    async with Client(server) as client:  # the local principal holds every scope
        destroy = {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "confirm": True}
        for tool, args in [
            ("remove_vm_disk", destroy),
            ("remove_vm_disk", {"vmid": 100, "disk_id": "scsi1"}),
            ("remove_vm_network", {"vmid": 100, "interface_id": "net1"}),
        ]:
            refused = await client.call_tool(tool, args)
            assert refused.is_error and "guest 100 is protected" in text(refused), text(refused)
        assert not (await client.call_tool("remove_vm_disk", {**destroy, "dry_run": True})).is_error
        assert not (await client.call_tool("update_vm_resources", {"vmid": 100, "cores": 4})).is_error
    assert "scsi1" in stub.guest(100) and "net1" in stub.guest(100) and stub.guest(100)["cores"] == 4
    assert [c["module"] for c in stub.calls()] == ["guest_info"] * 3 + ["vm_disk", "vm_resources"]
    outcomes = [(e["principal"], e["outcome"]) for e in audit_entries(tmp_path)]
    assert outcomes == [("local", "protected")] * 3 + [("local", "ok")] * 2


async def test_protected_guest_is_refused_before_the_user_is_asked(make_server, stub, tmp_path):
    stub.seed(100, {"protection": 1, "scsi1": "local-lvm:vm-100-disk-1,size=4G"})
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        from mcp.types import ElicitResult

        return ElicitResult(action="accept", content={"destroy": True})

    async with Client(make_server(), elicitation_callback=elicit) as client:
        refused = await client.call_tool("remove_vm_disk", {"vmid": 100, "disk_id": "scsi1", "delete_volume": True})
    assert refused.is_error and "protected (Proxmox protection: 1)" in text(refused)
    assert asked == [] and "scsi1" in stub.guest(100)
    assert audit_entries(tmp_path)[-1]["outcome"] == "protected"


async def test_pool_allow_list_reads_the_pool_through_the_collection_once_per_call(make_server, stub, tmp_path):
    stub.seed(100, {"tags": "db"})
    stub.seed(101, {"tags": "db", "pool": "lab"})
    stub.seed(102, {"tags": "db", "pool": "prod"})
    server = make_server(vmids=[100], pools=["lab"])
    with caller("dana", "pve:write:tag:db"):
        async with Client(server) as client:
            for vmid, allowed in [(100, True), (101, True), (102, False)]:
                result = await client.call_tool("update_vm_resources", {"vmid": vmid, "cores": 2})
                assert result.is_error is not allowed, (vmid, text(result))
    # the allow-list check and the tag grant share one guest_info read per call
    assert [(c["module"], c["args"]["vmid"]) for c in stub.calls()] == [
        ("guest_info", 100),
        ("vm_resources", 100),
        ("guest_info", 101),
        ("vm_resources", 101),
        ("guest_info", 102),
    ]
    assert "not in the bridge's allow-list of guests" in audit_entries(tmp_path)[-1]["error"]


async def test_tools_list_shows_only_the_tools_the_scopes_can_use(make_server):
    server = make_server()
    with caller("reader", "pve:read"):
        async with Client(server) as client:
            # pve:read: the reading tools and the plans (issue 12: "pve:read (get_guest_config, plans, resources)")
            assert {t.name for t in (await client.list_tools()).tools} == {
                "get_guest_config",
                "plan_guest_config",
                "plan_fleet_config",
            }
            refused = await client.call_tool("add_vm_network", {"vmid": 100})  # not listed, and still checked
            assert refused.is_error and "needs pve:write" in text(refused)
    with caller("web-ops", "pve:write:tag:web"):
        async with Client(server) as client:
            names = {t.name for t in (await client.list_tools()).tools}
    assert "get_guest_config" not in names and {"remove_vm_disk", "update_vm_resources"} <= names
    async with Client(server) as client:  # local: everything
        assert len((await client.list_tools()).tools) == len(TOOLS)
