"""Long tool calls as MCP tasks: the `io.modelcontextprotocol/tasks` extension (its 2026-07-28 revision).

Through the SDK's public Extension mechanism (mcp.server.extension): a `tools/call` interceptor and the
`tasks/get`, `tasks/update` and `tasks/cancel` methods. A client that declares the extension in its request's
capabilities and calls one of TASK_TOOLS gets a task handle (`resultType: "task"`) as soon as the call has passed
every check the bridge makes (authorisation, the operator's policy, the confirmation of a destructive call, which
the client answers on the tools/call itself, as the spec asks of a multi round-trip exchange before a task); the
call then waits for its guest's lock and runs exactly as a plain call (Bridge.call: same audit line, now with the
task id). A call refused before that is answered as a plain tools/call result, without a task.

tasks/get returns the task; once completed, its `result` is the tools/call result the plain call would have
returned (structured content, `isError` on a failure). tasks/cancel stops the call's module runs with their
process trees (as Bridge.interrupt does); the task ends "cancelled" with, in `_meta["pve.config/reread"]` and in
its status message, what the bridge's re-read of each guest found after the stop (a run that finished before the
cancel took effect ends "completed" instead, as the spec allows). Progress goes into the status message.
Other principals, and clients that did not declare the extension, never see a task (task_store.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolRequestParams, CallToolResult
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, RequestParams, Result
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from .access import current_principal
from .task_run import CURRENT, TaskRun
from .task_store import TERMINAL, TaskNotFound, TaskRecord, TaskStore

IDENTIFIER = "io.modelcontextprotocol/tasks"
REREAD_META = "pve.config/reread"
# The tools whose calls may take long: volume allocation, resize, deletion, a whole guest's or a fleet's change.
TASK_TOOLS = frozenset(
    {
        "add_vm_disk",
        "resize_vm_disk",
        "remove_vm_disk",
        "resize_container_disk",
        "add_container_mountpoint",
        "remove_container_mountpoint",
        "apply_guest_config",
        "plan_fleet_config",
        "apply_fleet_config",
    }
)
POLL_INTERVAL_MS = 1000
MODERN = frozenset(MODERN_PROTOCOL_VERSIONS)


class TaskParams(RequestParams):
    task_id: str = Field(min_length=1, max_length=200)


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any] = Field(default_factory=dict)


class Ack(Result):
    """The empty acknowledgement of tasks/update and tasks/cancel."""

    result_type: Literal["complete"] = "complete"


class CreateTaskResult(Result):
    """The task handle a tools/call returns instead of its result (also the client's claim model, see tests)."""

    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None


def asks_for_task(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client declared the tasks extension (on a 2026-07-28 connection)."""
    if ctx.protocol_version not in MODERN:
        return False
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.extensions and IDENTIFIER in capabilities.extensions)


def reread_summary(rereads: Mapping[int, Mapping[str, Any]]) -> str:
    """One sentence per guest: the config and pending keys the re-read after the stop found (or why not)."""
    parts = []
    for vmid, state in sorted(rereads.items()):
        if "error" in state:
            parts.append(f"guest {vmid}: {state['error']}")
            continue
        config = ", ".join(sorted(k for k in state.get("config") or {} if k != "digest")) or "none"
        pending = ", ".join(sorted(state.get("pending") or {})) or "none"
        parts.append(f"guest {vmid} re-read after the stop: config keys {config}; pending keys {pending}")
    return "; ".join(parts)


class TasksExtension(Extension):
    identifier = IDENTIFIER

    def __init__(self, store: TaskStore, tools: frozenset[str] = TASK_TOOLS) -> None:
        self.store = store
        self.task_tools = tools
        self._runs: dict[str, TaskRun] = {}
        self._work: dict[str, asyncio.Task[None]] = {}  # strong references to the calls that outlive their request

    def methods(self) -> Sequence[MethodBinding]:
        return (
            MethodBinding("tasks/get", TaskParams, self.get_task, MODERN),
            MethodBinding("tasks/update", UpdateTaskParams, self.update_task, MODERN),
            MethodBinding("tasks/cancel", TaskParams, self.cancel_task, MODERN),
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in self.task_tools or not asks_for_task(ctx):
            return await call_next(ctx)
        record = self.store.create(current_principal().name, params.name)
        run = TaskRun(
            task_id=record.task_id, on_change=lambda message: self.store.update(record, status_message=message)
        )
        outcome: dict[str, Any] = {}
        # The call outlives this request once it has its handle, so it runs in a task of its own (not a child of
        # the request's scope); it carries this request's context (the principal) and the TaskRun.
        work = asyncio.get_running_loop().create_task(self._call(record, run, call_next, ctx, outcome))
        self._runs[record.task_id], self._work[record.task_id] = run, work
        work.add_done_callback(lambda _: self._forget(record.task_id))
        try:
            await run.decided.wait()
        except BaseException:
            if not run.is_checked:  # the client gave up before the call ran: like a plain call's cancel
                work.cancel()
                self.store.discard(record)
            raise
        if not run.is_checked:  # refused, or waiting for the client's answer: a plain tools/call answer
            await work
            self.store.discard(record)
            if "error" in outcome:
                raise outcome["error"]
            return outcome["result"]
        self.store.start(record)
        handle = record.wire(self.store.clock())
        return CreateTaskResult.model_validate({**handle, "pollIntervalMs": POLL_INTERVAL_MS})

    async def _call(
        self,
        record: TaskRecord,
        run: TaskRun,
        call_next: CallNext,
        ctx: ServerRequestContext[Any, Any],
        outcome: dict[str, Any],
    ) -> None:
        CURRENT.set(run)
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            outcome["error"] = exc
            self.store.update(
                record,
                status="failed",
                status_message=exc.error.message,
                error=exc.error.model_dump(by_alias=True, mode="json", exclude_none=True),
            )
        except Exception as exc:  # noqa: BLE001 - the task fails with an internal error, never silently
            outcome["error"] = exc
            message = f"{record.tool} failed ({type(exc).__name__})"
            self.store.update(
                record, status="failed", status_message=message, error={"code": INTERNAL_ERROR, "message": message}
            )
        except BaseException:  # the bridge's loop ends (shutdown) while the call runs
            self.store.update(record, status="cancelled", status_message="the bridge stopped the call")
            raise
        else:
            outcome["result"] = result
            self._finish(record, run, result)
        finally:
            run.decided.set()

    def _forget(self, task_id: str) -> None:
        """The call is over: drop its TaskRun and its reference (the record stays in the store until it expires)."""
        self._work.pop(task_id, None)
        self._runs.pop(task_id, None)

    def _finish(self, record: TaskRecord, run: TaskRun, result: HandlerResult) -> None:
        """The call's answer into the task: `completed` with it as `result` (the message: its summary or error),
        or `cancelled` when the cancel stopped the run (the message and `_meta`: the re-read guests)."""
        data = (
            result.model_dump(by_alias=True, mode="json", exclude_none=True) if isinstance(result, Result) else result
        )
        texts = [c.text for c in result.content if c.type == "text"] if isinstance(result, CallToolResult) else []
        first = texts[0] if texts else None
        if run.cancelled and isinstance(result, CallToolResult) and result.is_error:
            message = f"cancelled: {first}" + (f"; {reread_summary(run.rereads)}" if run.rereads else "")
            rereads = {str(vmid): state for vmid, state in sorted(run.rereads.items())}
            meta = {REREAD_META: rereads} if rereads else {}
            self.store.update(record, status="cancelled", status_message=message, result=data, meta=meta)
            return
        self.store.update(record, status="completed", status_message=first, result=data)

    def _find(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> TaskRecord:
        require_client_extension(ctx, IDENTIFIER)
        try:
            return self.store.get(task_id, current_principal().name)
        except TaskNotFound:
            raise MCPError(code=INVALID_PARAMS, message="Failed to retrieve task: Task not found") from None

    async def get_task(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        record = self._find(ctx, params.task_id)
        answer = record.wire(self.store.clock())
        if record.status not in TERMINAL:
            answer["pollIntervalMs"] = POLL_INTERVAL_MS
        return {"resultType": "complete", **answer}

    async def update_task(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> Ack:
        """No task of this bridge asks for input (confirmations are answered before the task exists), so every
        response is for a key that is not outstanding and is ignored, as the spec asks."""
        self._find(ctx, params.task_id)
        return Ack()

    async def cancel_task(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> Ack:
        record = self._find(ctx, params.task_id)
        run = self._runs.get(record.task_id)
        if run is not None and record.status not in TERMINAL:
            run.cancel()
            self.store.update(record, status_message="cancelling: stopping the run")
        return Ack()
