"""Every `tools/call` through the SDK's public interceptor (`Extension.intercept_tool_call`): the arguments are
validated by the tool's own model, and a call refused before its tool runs leaves its audit line.

The SDK derives a tool's argument model from the function's signature (`func_metadata`), and such a model cannot
refuse unknown arguments (`extra="forbid"`), be strict (a JSON `true` is not the integer 1), or check one
argument against another. The bridge's rows have such models (tools.py, `ToolSpec.args`; also the published
input schema, server.make_tool). So the raw arguments of every call are validated here with the row's model,
before the SDK's own validation, any resolver (an elicitation question) or the tool: refused arguments are
answered as the SDK answers a schema refusal (an `isError` result, "Error executing tool <name>: <the validation
errors>"), audited as `invalid`, and nothing runs. The SDK's model, derived from the same fields, then validates
arguments that are already valid. Strings that hold JSON for a list or object field are read as the SDK reads
them (`FuncMetadata.pre_parse_json`, which some clients rely on) before the row's model sees them.

Audit: a tool the bridge does not offer (unknown, or hidden by `--read-only` / `--tools`) is audited here and then
answered by the SDK ("Unknown tool"); a call whose tool started writes its own line (server.Bridge.call); a call
that failed after that without one (a crash in a resolver, a result the SDK refused) is audited here as `error`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolRequestParams, CallToolResult, TextContent
from pydantic import ValidationError

from .audit import lines_written
from .tools import TOOLS_BY_NAME

if TYPE_CHECKING:
    from .server import Bridge

IDENTIFIER = "pve.config/tool-calls"


class ToolCalls(Extension):
    """The interceptor of the bridge's `tools/call`s; `tools`: the tools the server offers, by name."""

    identifier = IDENTIFIER

    def __init__(self, bridge: Bridge, tools: Mapping[str, Tool]) -> None:
        self.bridge = bridge
        self.offered = dict(tools)

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        started = time.monotonic()
        arguments = dict(params.arguments or {})
        spec, tool = TOOLS_BY_NAME.get(params.name), self.offered.get(params.name)
        if spec is None or tool is None:
            self.bridge.record_refusal(params.name, arguments, time.monotonic() - started)
            return await call_next(ctx)
        try:
            self.bridge.args_model(spec).model_validate(tool.fn_metadata.pre_parse_json(arguments))
        except ValidationError as exc:
            self.bridge.record_refusal(params.name, arguments, time.monotonic() - started, invalid=exc)
            return CallToolResult(
                content=[TextContent(type="text", text=f"Error executing tool {params.name}: {exc}")], is_error=True
            )
        with lines_written() as lines:
            result = await call_next(ctx)
        if isinstance(result, CallToolResult) and result.is_error and not lines:
            failure = " ".join(block.text for block in result.content if isinstance(block, TextContent))
            self.bridge.record_refusal(params.name, arguments, time.monotonic() - started, failed=failure)
        return result
