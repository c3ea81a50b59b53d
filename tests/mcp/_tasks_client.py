"""A client side of the MCP tasks extension for the tests: the SDK's ClientExtension with a result claim.

`TasksClient` declares `io.modelcontextprotocol/tasks` on every request; a `tools/call` answered with a task handle
(`resultType: "task"`) is finished by polling `tasks/get` every `pollIntervalMs` until the task ends, so
`Client.call_tool` returns the task's tools/call result. `client.session.call_tool(..., allow_claimed=True)`
returns the handle itself; `get_task` / `cancel_task` / `update_task` send the extension's methods.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import anyio
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from mcp_types import ErrorData, Request
from pydantic import TypeAdapter

from mcp_bridge.tasks import IDENTIFIER, CreateTaskResult, TaskParams, UpdateTaskParams

TERMINAL = ("completed", "failed", "cancelled")
ANY = TypeAdapter(dict[str, Any])


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    name_param: ClassVar[str | None] = "taskId"


class CancelTask(Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskParams
    name_param: ClassVar[str | None] = "taskId"


class UpdateTask(Request[UpdateTaskParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: UpdateTaskParams
    name_param: ClassVar[str | None] = "taskId"


async def get_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    return await session.send_request(GetTask(params=TaskParams(task_id=task_id)), ANY)


async def cancel_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    return await session.send_request(CancelTask(params=TaskParams(task_id=task_id)), ANY)


async def update_task(session: ClientSession, task_id: str, responses: dict[str, Any]) -> dict[str, Any]:
    return await session.send_request(
        UpdateTask(params=UpdateTaskParams(task_id=task_id, input_responses=responses)), ANY
    )


async def wait_for_task(session: ClientSession, task_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll tasks/get (at the interval the server asks for) until the task ends; its last state."""
    with anyio.fail_after(timeout):
        while True:
            task = await get_task(session, task_id)
            if task["status"] in TERMINAL:
                return task
            await anyio.sleep(task.get("pollIntervalMs", 1000) / 1000)


def as_call_result(task: dict[str, Any]) -> CallToolResult:
    """A finished task as the tools/call result: its `result`; a failed task raises its error; a cancelled one
    is an error result with the status message."""
    if task["status"] == "completed":
        return CallToolResult.model_validate(task["result"])
    if task["status"] == "failed":
        raise MCPError.from_error_data(ErrorData.model_validate(task["error"]))
    return CallToolResult(
        content=[TextContent(type="text", text=task.get("statusMessage", "cancelled"))], is_error=True
    )


class TasksClient(ClientExtension):
    identifier = IDENTIFIER

    def __init__(self) -> None:
        self.handles: list[CreateTaskResult] = []

    def claims(self):
        return (ResultClaim(result_type="task", model=CreateTaskResult, resolve=self.resolve),)

    async def resolve(self, handle: CreateTaskResult, ctx: ClaimContext) -> CallToolResult:
        self.handles.append(handle)
        return as_call_result(await wait_for_task(ctx.session, handle.task_id))
