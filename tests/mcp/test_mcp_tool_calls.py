"""The tools/call interceptor (mcp_bridge/tool_calls.py): the bridge's argument models are plain pydantic models
validated through the SDK's public interceptor, before any resolver or elicitation, with the SDK's leniency for
JSON in a string kept; no ArgModelBase subclass, no replaced fn_metadata. Through the SDK's in-memory client with
the stub collection."""

from __future__ import annotations

import pytest
from _support import audit_entries
from mcp import Client
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import ElicitResult

from mcp_bridge.server import make_tool
from mcp_bridge.tools import TOOLS

pytestmark = pytest.mark.anyio


def text(result) -> str:
    return "\n".join(c.text for c in result.content)


def test_models_are_plain_pydantic_and_the_sdk_derives_the_same_fields(make_bridge):
    bridge = make_bridge()
    for spec in TOOLS:
        assert not issubclass(spec.args, ArgModelBase), spec.name
        tool = make_tool(spec, bridge)
        derived = tool.fn_metadata.arg_model  # what the SDK built from the function's signature, untouched
        assert derived is not spec.args and set(derived.model_fields) == set(spec.args.model_fields)
        schema = derived.model_json_schema(by_alias=True)
        assert schema["properties"] == spec.args.model_json_schema(by_alias=True)["properties"], spec.name
        assert tool.parameters == spec.args.model_json_schema(by_alias=True)  # published: the row's own


async def test_refused_arguments_never_reach_a_resolver_or_the_user(make_server, stub, tmp_path):
    """An unknown argument next to a destroying delete_volume: refused by the row's model before the
    confirmation resolver could ask anything, audited as invalid, nothing run."""
    stub.seed(100, {"scsi1": "local-lvm:vm-100-disk-1,size=8G"})
    asked = []

    async def elicit(context, params):  # pragma: no cover - must not be called
        asked.append(params.message)
        return ElicitResult(action="accept", content={"destroy": True})

    bad = [
        {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "node": "pve1"},  # unknown argument
        {"vmid": 100, "disk_id": "scsi1", "delete_volume": 1},  # strict: 1 is not a boolean
        {"vmid": "100", "disk_id": "scsi1", "delete_volume": True},  # strict: a string is not an integer
    ]
    async with Client(make_server(), elicitation_callback=elicit) as client:
        results = [await client.call_tool("remove_vm_disk", args) for args in bad]
    assert asked == [] and stub.calls() == [] and "scsi1" in stub.guest(100)
    for result in results:
        assert result.is_error and text(result).startswith("Error executing tool remove_vm_disk: 1 validation error")
    assert "node\n  Extra inputs are not permitted" in text(results[0])
    entries = audit_entries(tmp_path)
    assert [(e["tool"], e["outcome"]) for e in entries] == [("remove_vm_disk", "invalid")] * 3
    assert entries[0]["arguments"] == bad[0] and "node: Extra inputs are not permitted" in entries[0]["error"]


async def test_cross_field_checks_refuse_before_anything_runs(make_server, stub, tmp_path):
    async with Client(make_server()) as client:
        nothing = await client.call_tool("update_vm_resources", {"vmid": 100})
        wrong_bus = await client.call_tool(
            "add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": 4, "type": "sata", "disk_id": "scsi1"}
        )
    assert "give at least one of: memory, balloon, cores" in text(nothing)
    assert "disk_id scsi1 is not on the sata bus" in text(wrong_bus)
    assert stub.calls() == []
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["invalid", "invalid"]


async def test_json_in_a_string_is_read_as_the_sdk_reads_it(make_server, stub):
    """The SDK's pre-parsing (some clients send objects as JSON strings) still applies before the row's model."""
    stub.seed(100, {"memory": "2048"})
    async with Client(make_server()) as client:
        planned = await client.call_tool("plan_guest_config", {"vmid": 100, "config": '{"memory": 4096}'})
    assert not planned.is_error, text(planned)
    assert planned.structured_content["diff"] == {"before": {"memory": "2048"}, "after": {"memory": "4096"}}


async def test_the_interceptor_is_a_public_sdk_extension(make_server):
    server = make_server()
    async with Client(server) as client:
        capabilities = client.server_capabilities
    assert "pve.config/tool-calls" in (capabilities.extensions or {})
