"""The MCP server: one registration loop over the tool table, one call path for every tool.

A call is validated by the row's argument model, checked against the operator's policy, serialised per guest
(calls on different guests run in parallel up to `max_parallel`), run as one ansible-runner task with a
timeout, audited, and answered with the module's structured result.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
from collections.abc import Mapping
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field, ValidationError

from . import __version__
from .audit import AuditLog
from .collection import collections_root
from .config import Config
from .policy import Policy, PolicyError, PoolLookup, PoolOf
from .runner import ModuleFailed, ModuleRunner, RunCancelled, RunError, RunTimeout
from .tools import TOOLS, ToolArgs, ToolSpec, summarize

INSTRUCTIONS = """\
Configure Proxmox VE guests (QEMU VMs and LXC containers) through the pve.config Ansible modules.
Every changing tool accepts dry_run=true: it returns the predicted diff without writing anything; use it
before changes the user has not clearly asked for. Results carry `changed`, `diff`, `config`, `pending`
(changes that wait for a reboot) and a one-line `summary`. Destroying a disk's volume needs the user's
confirmation. Call get_guest_config to see a guest's current configuration, disks and NICs."""

PROGRESS_INTERVAL = 1.0
_PHASES = {
    "playbook_on_start": "ansible started",
    "playbook_on_task_start": "module starting",
    "runner_on_start": "module running",
    "runner_on_ok": "module finished",
    "runner_on_failed": "module failed",
}


_RUN_OUTCOMES: dict[type[RunError], str] = {RunTimeout: "timeout", RunCancelled: "cancelled"}


class Confirmation(BaseModel):
    destroy: bool = Field(description="Yes, permanently destroy the volume and its data.")


def client_can_elicit(ctx: Context) -> bool:
    """Whether the connected client declared form elicitation."""
    try:
        capabilities = ctx.client_capabilities
    except ValueError:  # no request context (direct call)
        return False
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def confirm_destroy(
    vmid: int, disk_id: str, delete_volume: bool, confirm: bool, dry_run: bool, ctx: Context
) -> Confirmation | Elicit[Confirmation]:
    """Resolver: ask the user only when data would be lost; without elicitation, `confirm` decides."""
    if not delete_volume or dry_run:
        return Confirmation(destroy=False)  # nothing will be destroyed, nothing to ask
    if client_can_elicit(ctx):
        return Elicit(
            f"Remove disk {disk_id} from guest {vmid} and permanently destroy its volume? The data cannot be "
            "recovered.",
            Confirmation,
        )
    return Confirmation(destroy=confirm)


class Unconfirmed(PolicyError):
    """Destroying data was not confirmed."""


class Bridge:
    """Shared state of one bridge process: runner, policy, audit log, per-guest locks, parallelism limit."""

    def __init__(
        self,
        config: Config,
        *,
        runner: ModuleRunner | None = None,
        audit: AuditLog | None = None,
        pool_of: PoolOf | None = None,
    ) -> None:
        self.config = config
        self.secrets = config.secrets()
        self.policy = Policy.from_settings(config.bridge)
        self.timeout = config.bridge.timeout
        self.runner = runner or ModuleRunner(
            collections_root(config.bridge.collections_path), config.proxmox.envvars(), secrets=self.secrets
        )
        self.audit = audit if audit is not None else AuditLog(config.bridge.audit_log, secrets=self.secrets)
        self.pool_of = pool_of if pool_of is not None else (PoolLookup(config.proxmox) if self.policy.pools else None)
        self.max_parallel = config.bridge.max_parallel
        self._limiter: anyio.CapacityLimiter | None = None
        self._guest_locks: dict[int, anyio.Lock] = {}

    # Created on first use, inside the event loop that serves the calls.
    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_parallel)
        return self._limiter

    def guest_lock(self, vmid: int) -> anyio.Lock:
        lock = self._guest_locks.get(vmid)
        if lock is None:
            lock = self._guest_locks[vmid] = anyio.Lock()
        return lock

    async def call(
        self,
        spec: ToolSpec,
        arguments: Mapping[str, Any],
        ctx: Context | None,
        confirmation: ElicitationResult[Confirmation] | None = None,
    ) -> CallToolResult:
        started = time.monotonic()
        args = spec.args.model_validate(dict(arguments))
        dry_run = bool(getattr(args, "dry_run", False))
        audit_args = args.model_dump(mode="json", exclude_none=True)

        def audit(outcome: str, *, changed: bool | None = None, error: str | None = None) -> None:
            self.audit.record(
                tool=spec.name,
                arguments=audit_args,
                outcome=outcome,
                changed=changed,
                error=error,
                duration=time.monotonic() - started,
            )

        try:
            self.policy.check_tool(spec)
            if spec.confirm and getattr(args, "delete_volume", False) and not dry_run:
                self._require_confirmation(args, confirmation, ctx)
            module_args = spec.to_module_args(args)
            if spec.read_only:
                result = await self._run_limited(spec, args.vmid, module_args, dry_run, ctx)
            else:
                async with self.guest_lock(args.vmid):
                    result = await self._run_limited(spec, args.vmid, module_args, dry_run, ctx)
        except PolicyError as exc:
            outcome = "unconfirmed" if isinstance(exc, Unconfirmed) else "denied"
            audit(outcome, error=str(exc))
            raise ToolError(str(exc)) from None
        except ModuleFailed as exc:
            audit("failed", changed=bool(exc.result.get("changed")), error=str(exc))
            raise ToolError(str(exc)) from None
        except RunError as exc:
            audit(_RUN_OUTCOMES.get(type(exc), "error"), error=str(exc))
            raise ToolError(str(exc)) from None
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                audit("cancelled")
            raise
        try:
            answer = to_call_result(spec, result, dry_run)
        except ValidationError as exc:
            fields = ", ".join(sorted({".".join(map(str, e["loc"])) for e in exc.errors()}))
            message = f"{spec.fqcn} returned a result the bridge cannot read (fields: {fields})"
            audit("error", changed=bool(result.get("changed")), error=message)
            raise ToolError(message) from None
        audit("ok", changed=bool(result.get("changed")))
        return answer

    @staticmethod
    def _require_confirmation(
        args: ToolArgs, confirmation: ElicitationResult[Confirmation] | None, ctx: Context | None
    ) -> None:
        if isinstance(confirmation, AcceptedElicitation) and confirmation.data.destroy:
            return
        what = f"the volume of {getattr(args, 'disk_id', 'the disk')} on guest {args.vmid}"
        if ctx is not None and client_can_elicit(ctx):
            raise Unconfirmed(f"the user did not confirm destroying {what}; nothing was changed")
        raise Unconfirmed(
            f"destroying {what} needs the user's explicit confirmation: ask the user, then call again with "
            "confirm: true (or use delete_volume: false to only detach the disk); nothing was changed"
        )

    async def _run_limited(
        self, spec: ToolSpec, vmid: int, module_args: dict[str, Any], dry_run: bool, ctx: Context | None
    ) -> dict[str, Any]:
        async with self.limiter:
            if self.policy.restricts_guests:
                await anyio.to_thread.run_sync(self.policy.check_guest, vmid, self.pool_of)
            return await self._run(spec, module_args, dry_run, ctx)

    async def _run(
        self, spec: ToolSpec, module_args: dict[str, Any], dry_run: bool, ctx: Context | None
    ) -> dict[str, Any]:
        cancel = threading.Event()
        phase = ["starting"]
        started = time.monotonic()

        def on_event(event: str) -> None:
            phase[0] = _PHASES.get(event, phase[0])

        async def report() -> None:
            # Progress (elapsed seconds of `timeout`) while the run lasts; stops the run if this call is cancelled.
            try:
                while True:
                    if ctx is not None:
                        elapsed = time.monotonic() - started
                        await ctx.report_progress(elapsed, self.timeout, f"{spec.module}: {phase[0]}")
                    await anyio.sleep(PROGRESS_INTERVAL)
            finally:
                cancel.set()

        run = functools.partial(
            self.runner.run,
            spec.fqcn,
            module_args,
            check=dry_run,
            timeout=self.timeout,
            cancel=cancel,
            on_event=on_event,
        )
        outcome: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(report)
            try:
                outcome["result"] = await anyio.to_thread.run_sync(run)
            except RunError as exc:  # raised below, outside the task group (which would wrap it in a group)
                outcome["error"] = exc
            finally:
                tg.cancel_scope.cancel()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]


def to_call_result(spec: ToolSpec, result: Mapping[str, Any], dry_run: bool) -> CallToolResult:
    """The module's result as the row's result model: structured content plus the summary as text."""
    data = dict(result)
    data["summary"] = summarize(spec, result, dry_run=dry_run)
    if not spec.read_only:
        data["dry_run"] = dry_run
    model = spec.result.model_validate(data)
    structured = model.model_dump(mode="json")
    return CallToolResult(
        content=[
            TextContent(type="text", text=structured["summary"]),
            TextContent(type="text", text=json.dumps(structured, sort_keys=True)),
        ],
        structured_content=structured,
    )


def make_tool(spec: ToolSpec, bridge: Bridge) -> Tool:
    """One MCP tool for one table row; its parameters and input schema are the row's argument model."""
    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if field.is_required() else field.default,
            annotation=field.annotation,
        )
        for name, field in spec.args.model_fields.items()
    ]
    if spec.confirm:
        params.append(
            inspect.Parameter(
                "confirmation",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[ElicitationResult[Confirmation], Resolve(confirm_destroy)],
            )
        )
    params.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    returns = Annotated[CallToolResult, spec.result]

    async def tool(**kwargs: Any) -> CallToolResult:
        ctx = kwargs.pop("ctx", None)
        confirmation = kwargs.pop("confirmation", None)
        return await bridge.call(spec, kwargs, ctx, confirmation)

    tool.__name__ = tool.__qualname__ = spec.name
    tool.__doc__ = spec.description
    tool.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}

    registered = Tool.from_function(
        tool,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations,
        structured_output=True,
    )
    # Validate with the row's own model (extra="forbid", cross-field checks) and publish exactly its schema.
    registered.fn_metadata.arg_model = spec.args
    registered.parameters = spec.args.model_json_schema(by_alias=True)
    return registered


def build_server(bridge: Bridge) -> MCPServer:
    tools = [make_tool(spec, bridge) for spec in bridge.policy.enabled(TOOLS)]
    return MCPServer(
        name="pve-config",
        title="Proxmox VE guest configuration (pve.config)",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=tools,
    )
