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
from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
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
from mcp.types import CallToolResult, InputRequiredResult, TextContent
from pydantic import BaseModel, Field, ValidationError

from . import __version__, task_run
from .access import (
    FactsReader,
    Protected,
    authorise,
    current_principal,
    required_scopes,
)
from .approvals import HumanApprovals, with_approval_id
from .audit import AuditLog
from .collection import collections_root
from .config import Config
from .fleet_calls import FleetCalls, FleetJob
from .fleet_select import SelectionError
from .grants import GuestFacts
from .guest_reads import GuestReads, NoSuchGuest, reread_view
from .plan_text import plan_text
from .plan_view import plan_view_extension, tool_meta
from .plans import Plan, PlanInvalid, PlanSigner, destroyed_keys, without_signature
from .policy import Policy, PolicyError, PoolOf
from .pool import WarmPool, pool_runner
from .progress import FleetCount
from .ranges import check_same_table
from .resources import register_resources
from .runner import ModuleFailed, ModuleRunner, RunCancelled, RunError, RunTimeout, redact
from .task_store import TaskStore
from .tasks import TasksExtension
from .tool_calls import ToolCalls
from .tools import COLLECTION, TOOLS, TOOLS_BY_NAME, ClosedArgs, ToolSpec, summarize

INSTRUCTIONS = """\
Configure Proxmox VE guests (QEMU VMs and LXC containers) through the pve.config Ansible modules.
Every changing tool accepts dry_run=true: it returns the predicted diff without writing anything; use it
before changes the user has not clearly asked for. Results carry `changed`, `diff`, `config`, `pending`
(changes that wait for a reboot) and a one-line `summary`. Destroying a disk's volume needs the user's
confirmation. Call get_guest_config to see a guest's current configuration, disks and NICs.
For a whole-guest change, call plan_guest_config, show the user its diff and steps, then apply_guest_config with
its plan_id: the plan is applied only to the config it was computed from."""

PROGRESS_INTERVAL = 1.0
COUNT_INTERVAL = 0.1  # how often a fleet run's count is looked at (the runner reads its file as often)
COUNTED_MODULES = ("fleet_config",)  # modules that write a progress file (progress.py)
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


async def ask_to_destroy(
    bridge: Bridge, spec: ToolSpec, vmid: int, question: str, confirm: bool, ctx: Context
) -> Confirmation | Elicit[Confirmation]:
    """Ask the user only when the call could go ahead: the operator's policy, the guest's existence, the caller's
    grants and the guest's protection are checked first (one guest_info run), so nobody is asked about a call that
    would be refused (Bridge.call then refuses with the reason, checking again: the guest may have changed while
    the user was asked). Without elicitation nobody is asked and `confirm` decides; Bridge.call checks all of it
    before anything runs."""
    if not client_can_elicit(ctx):
        return Confirmation(destroy=confirm)
    reads = GuestReads(bridge.guest_info)
    try:
        await bridge.check_guest(vmid, must_exist=True, reads=reads)
        await bridge.authorise(spec, vmid, dry_run=False, destroys=True, facts=reads.facts)
    except (PolicyError, RunError):
        return Confirmation(destroy=False)
    return Elicit(question, Confirmation)


def destroy_resolver(bridge: Bridge, spec: ToolSpec):
    """The `confirmation` resolver of a tool whose `delete_volume` destroys data, bound to `bridge`: asks only
    when a volume would be destroyed (see ask_to_destroy). The resolver takes the tool's arguments by name, so
    each `spec.target` (the argument naming the disk or mount point) has its own signature.
    """

    async def decide(
        vmid: int, what: str, delete_volume: bool, confirm: bool, dry_run: bool, ctx: Context
    ) -> Confirmation | Elicit[Confirmation]:
        if not delete_volume or dry_run:
            return Confirmation(destroy=False)  # nothing will be destroyed, nothing to ask
        question = f"Remove {what} from guest {vmid} and permanently destroy its volume? The data cannot be recovered."
        return await ask_to_destroy(bridge, spec, vmid, question, confirm, ctx)

    if spec.target == "mountpoint_id":

        async def confirm_destroy_mountpoint(
            vmid: int, mountpoint_id: str, delete_volume: bool, confirm: bool, dry_run: bool, ctx: Context
        ) -> Confirmation | Elicit[Confirmation]:
            return await decide(vmid, f"mount point {mountpoint_id}", delete_volume, confirm, dry_run, ctx)

        return confirm_destroy_mountpoint

    async def confirm_destroy(
        vmid: int, disk_id: str, delete_volume: bool, confirm: bool, dry_run: bool, ctx: Context
    ) -> Confirmation | Elicit[Confirmation]:
        return await decide(vmid, f"disk {disk_id}", delete_volume, confirm, dry_run, ctx)

    return confirm_destroy


def plan_destroy_resolver(bridge: Bridge, spec: ToolSpec):
    """The `confirmation` resolver of apply_guest_config: asks only for a valid plan that destroys volumes."""

    async def confirm_plan_destroy(plan_id: str, confirm: bool, ctx: Context) -> Confirmation | Elicit[Confirmation]:
        try:
            plan = bridge.plans.verify(plan_id)
        except PlanInvalid:
            return Confirmation(destroy=False)  # Bridge.call refuses the plan
        if not plan.destroys:
            return Confirmation(destroy=False)
        question = (
            f"Apply the reviewed plan to guest {plan.vmid} and permanently destroy the volumes of "
            f"{', '.join(plan.destroys)}? The data cannot be recovered."
        )
        return await ask_to_destroy(bridge, spec, plan.vmid, question, confirm, ctx)

    return confirm_plan_destroy


def fleet_destroy_resolver(bridge: Bridge, spec: ToolSpec):
    """The `confirmation` resolver of apply_fleet_config: asks only for a valid plan that destroys volumes, once
    every guest of it passed the allow-list (fleet_calls.FleetCalls.apply_job)."""

    async def confirm_fleet_destroy(plan_id: str, confirm: bool, ctx: Context) -> Confirmation | Elicit[Confirmation]:
        try:
            job = await anyio.to_thread.run_sync(bridge.fleets.apply_job, plan_id)
        except (PlanInvalid, PolicyError, SelectionError):
            return Confirmation(destroy=False)  # Bridge.call refuses the plan
        if not job.destroys:
            return Confirmation(destroy=False)
        if client_can_elicit(ctx):
            return Elicit(
                f"Apply the reviewed plan to {len(job.vmids)} guests and permanently destroy the volumes of "
                f"{fleet_destroys_text(job.destroys)}? The data cannot be recovered.",
                Confirmation,
            )
        return Confirmation(destroy=confirm)

    return confirm_fleet_destroy


def fleet_destroys_text(destroys: Mapping[str, list[str]]) -> str:
    return "; ".join(f"guest {vmid}: {', '.join(keys)}" for vmid, keys in destroys.items())


RESOLVERS = {"run": destroy_resolver, "apply": plan_destroy_resolver, "fleet_apply": fleet_destroy_resolver}


@dataclass(frozen=True)
class Job:
    """What one call runs: the module options, check mode or not, and what it would destroy (confirmation)."""

    vmid: int
    module_args: dict[str, Any]
    check: bool
    destroys: tuple[str, ...] = ()
    plan: Plan | None = None
    audit: dict[str, Any] = field(default_factory=dict)
    authorised_as: ToolSpec | None = None  # the row as the authorisation sees it (apply: the plan's destructiveness)
    fleet: FleetJob | None = None  # plan_fleet_config / apply_fleet_config: the guests (fleet_calls.py)

    @property
    def vmids(self) -> tuple[int, ...]:
        return (self.vmid,) if self.fleet is None else self.fleet.vmids


class Unconfirmed(PolicyError):
    """Destroying data was not confirmed."""


class Interrupted(RunError):
    """The bridge is stopping (SIGTERM, SIGINT, SIGHUP, stdin closed): the run was stopped or not started."""


class CallRefused(ToolError):
    """A tool error whose call the bridge has already written to the audit log."""


_POLICY_OUTCOMES: dict[type[PolicyError], str] = {Unconfirmed: "unconfirmed", Protected: "protected"}


REREAD_TIMEOUT = 15.0
FACTS_TIMEOUT = 60.0


class Bridge:
    """Shared state of one bridge process: runner, policy, audit log, per-guest locks, parallelism limit."""

    def __init__(
        self,
        config: Config,
        *,
        runner: ModuleRunner | None = None,
        audit: AuditLog | None = None,
        pool_of: PoolOf | None = None,
        plans: PlanSigner | None = None,
    ) -> None:
        """Proxmox is read only through the collection (guest_reads.py: guest_info runs of `runner`). `plans`:
        the signer of guest_config plans (default: the configured plan key, else a key made for this process)."""
        self.config = config
        self.secrets = config.secrets()
        if plans is None:
            plans = PlanSigner(config.bridge.plan_key_bytes(), config.bridge.plan_ttl)
        self.plans = plans
        self.policy = Policy.from_settings(config.bridge)
        self.timeout = config.bridge.timeout
        if runner is None:
            root = collections_root(config.bridge.collections_path)
            check_same_table(root)
            runner = ModuleRunner(root, config.proxmox.envvars(), secrets=self.secrets)
            modules = [spec.fqcn for spec in sorted(self.policy.enabled(TOOLS), key=lambda s: not s.read_only)]
            runner = pool_runner(runner, config.bridge, modules, policy=config.bridge.model_dump_json())
        self.runner = runner
        self.fleets = FleetCalls(self.policy, self.plans, self.cluster_guests, runner.collections_path)
        self.audit = audit if audit is not None else AuditLog(config.bridge.audit_log, secrets=self.secrets)
        self.pool_of = pool_of  # default: the pool of the call's guest_info read (GuestReads)
        self.max_parallel = config.bridge.max_parallel
        self.protected_tags = tuple(config.bridge.protected_tags)
        self.approvals: HumanApprovals | None = None  # approval = "human": destructive calls wait for a person
        if config.bridge.approval == "human":
            self.approvals = HumanApprovals(config.bridge, self.audit.record, config.http.public_url)
        self.stopping: str | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._guest_locks: dict[int, anyio.Lock] = {}
        self._runs: set[threading.Event] = set()
        self._calls = 0

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

    def interrupt(self, reason: str) -> None:
        """The bridge is stopping: stop every run now (like a cancel) and refuse new calls.

        Only sets flags and events, so it is safe from a signal handler or another thread; each stopped call
        then writes its "interrupted" audit line with a re-read of its guest.
        """
        self.stopping = self.stopping or reason
        for cancel in list(self._runs):
            cancel.set()
        if self.approvals is not None:  # uvicorn re-raises SIGTERM after serving: stop() may never run
            self.approvals.close_channel()
        if isinstance(self.runner, WarmPool):
            self.runner.close()

    def start(self) -> None:
        """Start the runs that wait ahead of calls (warm runs), when the bridge has them, and the approval channel
        (approval = "human": `pve-config-mcp approve ID` reaches the bridge through it)."""
        if self.approvals is not None:
            self.approvals.open_channel(self.config.bridge.approval_dir)
        if isinstance(self.runner, WarmPool):
            self.runner.start()

    def stop(self) -> None:
        """After serving: stop the waiting runs and wait until their data dirs are removed; close the channel."""
        if self.approvals is not None:
            self.approvals.close_channel()
        if isinstance(self.runner, WarmPool):
            self.runner.shutdown()

    async def drain(self, timeout: float = REREAD_TIMEOUT + 5) -> None:
        """Wait (at most `timeout` s) until the calls in progress have finished and written their audit lines."""
        with anyio.move_on_after(timeout):
            while self._calls:
                await anyio.sleep(0.05)

    async def check_guest(self, vmid: int, *, must_exist: bool = False, reads: GuestReads | None = None) -> None:
        """The operator's guest allow-list, then (`must_exist`) the guest's existence; raises otherwise. A pool
        allow-list the VMID list does not settle, and the existence, take the guest's guest_info read (`reads`,
        shared with the call's authorisation: one run per guest and call)."""
        reads = reads or GuestReads(self.guest_info)
        if self.policy.restricts_guests:
            pool_of = self.pool_of
            if pool_of is None and self.policy.pools and not self.policy.admits_by_vmid(vmid):
                pool = (await reads.facts(vmid)).pool

                def pool_of(_vmid: int) -> str | None:
                    return pool

            await anyio.to_thread.run_sync(self.policy.check_guest, vmid, pool_of)
        if must_exist:
            await reads.require(vmid)

    async def guest_info(self, vmid: int, timeout: float = FACTS_TIMEOUT) -> dict[str, Any]:
        """Guest `vmid` as guest_info reads it (one run through the collection); RunError otherwise (a
        ModuleFailed with ``found: false`` when the guest does not exist)."""
        run = functools.partial(self.read_through_collection, {"vmid": vmid}, timeout)
        async with self.limiter:
            return await anyio.to_thread.run_sync(run)

    async def guest_facts(self, vmid: int) -> GuestFacts:
        """The guest's tags, pool, protection and config digest (one guest_info run); PolicyError when unread."""
        return await GuestReads(self.guest_info).facts(vmid)

    def cluster_guests(self) -> list[dict[str, Any]]:
        """The cluster's guests as guest_info lists them (one run: one ``GET /cluster/resources?type=vm``).
        Blocking: for a worker thread (the fleet tools' selection) or anyio.to_thread."""
        try:
            result = self.read_through_collection({}, FACTS_TIMEOUT)
        except RunError as exc:
            raise RunError(f"could not read the cluster's guests ({exc}); nothing was run") from None
        guests = result.get("guests")
        if not isinstance(guests, list):
            raise RunError(f"{COLLECTION}.guest_info returned no list of guests; nothing was run")
        return guests

    def read_through_collection(self, module_args: dict[str, Any], timeout: float) -> dict[str, Any]:
        """One guest_info run (blocking), stopped like every other run when the bridge stops."""
        cancel = threading.Event()
        self._runs.add(cancel)
        try:
            return self.runner.run(
                f"{COLLECTION}.guest_info", module_args, timeout=min(self.timeout, timeout), cancel=cancel
            )
        finally:
            self._runs.discard(cancel)

    async def authorise(
        self, spec: ToolSpec, vmid: int, *, dry_run: bool, destroys: bool, facts: FactsReader | None = None
    ) -> None:
        """The caller's grants for this call on `vmid`, and no destructive call on a protected guest (access.py)."""
        await authorise(
            current_principal(),
            spec,
            vmid,
            dry_run=dry_run,
            destroys=destroys,
            protected_tags=self.protected_tags,
            read_facts=facts or GuestReads(self.guest_info).facts,
        )

    async def reread(self, vmid: int) -> dict[str, Any]:
        """What guest `vmid` looks like after a stopped run (for the audit log), read through the collection like
        everything else (a guest_info run, at most REREAD_TIMEOUT s); never raises."""
        with anyio.CancelScope(shield=True):
            try:
                return redact(reread_view(await self.guest_info(vmid, REREAD_TIMEOUT)), self.secrets)
            except RunTimeout:
                return {"error": f"re-read did not finish within {REREAD_TIMEOUT:g} s"}
            except Exception as exc:  # noqa: BLE001 - reported in the audit line instead
                return {"error": f"re-read failed ({type(exc).__name__})"}

    async def reread_stopped(self, audit_args: Mapping[str, Any]) -> dict[str, Any]:
        """The audit keys of a stopped run: the re-read of its guest (`reread`), of a fleet's guests (`rereads`, by
        VMID); each is also told to the task the call runs in (task_run.py)."""
        vmids = [audit_args["vmid"]] if "vmid" in audit_args else audit_args.get("vmids", [])
        states = {int(vmid): await self.reread(int(vmid)) for vmid in vmids}
        for vmid, state in states.items():
            task_run.reread(vmid, state)
        if "vmid" in audit_args:
            return {"reread": states[int(audit_args["vmid"])]}
        return {"rereads": {str(vmid): state for vmid, state in states.items()}} if states else {}

    async def call(
        self,
        spec: ToolSpec,
        arguments: Mapping[str, Any],
        ctx: Context | None,
        confirmation: ElicitationResult[Confirmation] | None = None,
    ) -> CallToolResult | InputRequiredResult:
        started = time.monotonic()
        audit_args = audit_arguments(arguments)
        changing = False
        principal = current_principal().name

        async def audit(outcome: str, *, changed: bool | None = None, error: str | None = None, **extra: Any) -> None:
            if outcome in ("interrupted", "timeout", "cancelled") and changing:
                extra.update(await self.reread_stopped(audit_args))
            self.audit.record(
                tool=spec.name,
                arguments=audit_args,
                outcome=outcome,
                changed=changed,
                error=error,
                duration=time.monotonic() - started,
                principal=principal,
                **extra,
                **task_run.audit_fields(),
            )

        self._calls += 1
        try:
            try:
                if self.stopping:
                    raise Interrupted(f"the bridge is shutting down ({self.stopping}); nothing was run")
                self.policy.check_tool(spec)
                args = spec.args.model_validate(dict(arguments))
                audit_args = audit_arguments(args.model_dump(mode="json", exclude_none=True), limit=4096)
                job = await self.prepare_job(spec, args)
                audit_args.update(job.audit)
                await self.check_guests(spec, job)
                approval = None
                reason = self.approvals.needed(spec, job) if self.approvals is not None else None
                if reason is not None:  # approval = "human" (approvals.py): confirm is not enough
                    approval = await self.approvals.gate(
                        self, spec, job, args.model_dump(mode="json"), principal, audit_args, reason, ctx
                    )
                    if isinstance(approval, InputRequiredResult):  # URL elicitation (2026-07-28 clients)
                        await audit("approval_pending", error=reason)
                        return approval
                    audit_args["approval"] = {"id": approval.id, "by": approval.decided_by}
                elif job.destroys:
                    self._require_confirmation(spec, job, confirmation, ctx)
                task_run.checked()  # a call made as a task (tasks.py) gets its handle now
                changing = not job.check
                if spec.read_only:
                    result = await self._run_limited(spec, job.module_args, job.check, ctx)
                else:
                    async with self.guest_locks(job.vmids):
                        if approval is not None:  # the guests still as the person saw them, else void
                            await self.approvals.verify(self, approval)
                        result = await self._run_limited(spec, job.module_args, job.check, ctx)
                result = self.finish(spec, job, result)
            except ValidationError as exc:
                await audit("invalid", error=validation_message(exc))
                raise CallRefused(validation_message(exc)) from None
            except (PlanInvalid, SelectionError) as exc:
                await audit("invalid", error=str(exc))
                raise CallRefused(str(exc)) from None
            except PolicyError as exc:
                outcome = getattr(exc, "outcome", None) or _POLICY_OUTCOMES.get(type(exc), "denied")
                await audit(outcome, error=str(exc))
                raise CallRefused(str(exc)) from None
            except ModuleFailed as exc:
                if self.stopping:  # the module died with the run tree the stopping bridge killed: not a refusal
                    await audit("interrupted", changed=bool(exc.result.get("changed")), error=str(exc))
                    raise CallRefused(stopped_message(RunCancelled(str(exc)), self.stopping)) from None
                # `changed` as the module reports it: a failed write may have left part of the change behind,
                # and the module's re-read (`config`, `pending`) says what persisted.
                message = failure_message(exc)
                persisted = {
                    k: exc.result[k] for k in ("config", "pending") if exc.result.get("changed") and k in exc.result
                }
                extra = {"persisted": persisted} if persisted else {}
                await audit("failed", changed=bool(exc.result.get("changed")), error=message, **extra)
                raise CallRefused(message) from None
            except RunError as exc:
                outcome = "interrupted" if self.stopping else _RUN_OUTCOMES.get(type(exc), "error")
                if isinstance(exc, NoSuchGuest):
                    outcome = "failed"
                await audit(outcome, error=str(exc))
                raise CallRefused(stopped_message(exc, self.stopping)) from None
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True):
                    await audit("interrupted" if self.stopping else "cancelled")
                raise
            try:
                answer = to_call_result(spec, result, job.check)
            except ValidationError as exc:
                fields = ", ".join(sorted({".".join(map(str, e["loc"])) for e in exc.errors()}))
                message = f"{spec.fqcn} returned a result the bridge cannot read (fields: {fields})"
                await audit("error", changed=bool(result.get("changed")), error=message)
                raise CallRefused(message) from None
            await audit("ok", changed=bool(result.get("changed")), **plan_audit(result))
            return answer
        finally:
            self._calls -= 1

    def args_model(self, spec: ToolSpec) -> type[ClosedArgs]:
        """The tool's argument model on this bridge: with `approval_id` for a destructive tool when a person
        approves (approval = "human", approvals.py), else the row's own."""
        return with_approval_id(spec.args) if self.approvals is not None and spec.confirm else spec.args

    async def preview(self, spec: ToolSpec, job: Job) -> dict[str, Any]:
        """The check-mode run of exactly what `job` would write (the diff a person approves, approvals.py)."""
        return await self._run_limited(spec, job.module_args, True, None)

    async def prepare_job(self, spec: ToolSpec, args: ClosedArgs) -> Job:
        """`prepare`, and for the fleet tools their guests chosen (or the plan verified) and every one checked
        against the allow-list, in a worker thread (it reads /cluster/resources)."""
        if spec.mode == "fleet_plan":
            fleet = await anyio.to_thread.run_sync(self.fleets.plan_job, args)
            return Job(fleet.vmids[0], fleet.module_args, True, audit={"vmids": list(fleet.vmids)}, fleet=fleet)
        if spec.mode == "fleet_apply":
            fleet = await anyio.to_thread.run_sync(self.fleets.apply_job, args.plan_id)
            destroys = tuple(f"{key} of guest {vmid}" for vmid, keys in fleet.destroys.items() for key in keys)
            audit = {"vmids": list(fleet.vmids), "plan": {"expires_at": fleet.expires_at, "destroys": fleet.destroys}}
            as_planned = replace(
                spec, annotations=spec.annotations.model_copy(update={"destructive_hint": fleet.removes})
            )
            return Job(fleet.vmids[0], fleet.module_args, False, destroys, None, audit, as_planned, fleet)
        return self.prepare(spec, args)

    async def check_guests(self, spec: ToolSpec, job: Job) -> None:
        """The allow-list (a fleet's: already in prepare_job) and the caller's grants for every guest of the call,
        as `job.authorised_as` (an apply: destructive only when the plan removes keys or destroys volumes)."""
        acting = job.authorised_as or spec
        if job.fleet is None:
            reads = GuestReads(self.guest_info)
            await self.check_guest(job.vmid, must_exist=bool(job.destroys), reads=reads)
            await self.authorise(acting, job.vmid, dry_run=job.check, destroys=bool(job.destroys), facts=reads.facts)
            return
        for vmid in job.fleet.vmids:
            destroys = str(vmid) in job.fleet.destroys
            await self.authorise(
                acting, vmid, dry_run=job.check, destroys=destroys, facts=GuestReads(self.guest_info).facts
            )

    @asynccontextmanager
    async def guest_locks(self, vmids: Iterable[int]):
        """The locks of every guest of a call, taken in VMID order (two fleets never wait for each other in a
        circle)."""
        async with AsyncExitStack() as stack:
            for vmid in sorted(set(vmids)):
                await stack.enter_async_context(self.guest_lock(vmid))
            yield

    def prepare(self, spec: ToolSpec, args: ClosedArgs) -> Job:
        """The run a validated call stands for. apply: the verified plan's options (PlanInvalid otherwise)."""
        if spec.mode == "apply":
            plan = self.plans.verify(args.plan_id)
            audit = {"vmid": plan.vmid, "plan": {"digest": plan.digest, "expires_at": plan.expires_at}}
            # Destructive (a protected guest refuses it) when the plan removes keys or destroys volumes; a plan
            # that only creates, grows and sets is not, as update_vm_resources and add_vm_disk are not.
            removes = bool(plan.absent or plan.destroys)
            as_planned = replace(spec, annotations=spec.annotations.model_copy(update={"destructive_hint": removes}))
            return Job(plan.vmid, plan.module_args(), False, tuple(plan.destroys), plan, audit, as_planned)
        if spec.mode == "plan":
            return Job(args.vmid, spec.to_module_args(args), True)
        dry_run = bool(getattr(args, "dry_run", False))
        destroying = spec.confirm and getattr(args, "delete_volume", False) and not dry_run
        destroys = (getattr(args, spec.target),) if destroying else ()
        return Job(args.vmid, spec.to_module_args(args), dry_run, destroys)

    def finish(self, spec: ToolSpec, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """A plan's check-mode result signed into a plan (its digest, its purge steps); others unchanged."""
        if job.fleet is not None:
            return (self.fleets.planned if job.check else self.fleets.applied)(job.fleet, result)
        if spec.mode != "plan":
            return result
        digest = result.get("digest")
        if not isinstance(digest, str) or not digest:
            raise RunError(f"{spec.fqcn} returned no config digest, so no plan can be bound to it; nothing was changed")
        destroys = destroyed_keys(result.get("steps") or ())
        plan_id, plan = self.plans.sign(
            vmid=job.vmid,
            guest_type=str(result.get("guest_type")),
            config=job.module_args.get("config", {}),
            absent=job.module_args.get("absent", []),
            destroys=destroys,
            digest=digest,
        )
        return {**result, "plan_id": plan_id, "expires_at": plan.expires_at, "destroys": destroys}

    @staticmethod
    def _require_confirmation(
        spec: ToolSpec, job: Job, confirmation: ElicitationResult[Confirmation] | None, ctx: Context | None
    ) -> None:
        if isinstance(confirmation, AcceptedElicitation) and confirmation.data.destroy:
            return
        where = "" if job.fleet is not None else f" on guest {job.vmid}"
        what = f"the volume of {', '.join(job.destroys)}{where}"
        if ctx is not None and client_can_elicit(ctx):
            raise Unconfirmed(f"the user did not confirm destroying {what}; nothing was changed")
        thing = "mount point" if spec.target == "mountpoint_id" else "disk"
        instead = (
            "or make a plan without purge to only detach"
            if job.plan is not None or job.fleet is not None
            else f"or use delete_volume: false to only detach the {thing}"
        )
        raise Unconfirmed(
            f"destroying {what} needs the user's explicit confirmation: ask the user, then call again with "
            f"confirm: true ({instead}); nothing was changed"
        )

    def record_refusal(
        self,
        name: str,
        arguments: Mapping[str, Any],
        duration: float,
        *,
        invalid: ValidationError | None = None,
        failed: str | None = None,
    ) -> None:
        """The audit line of a call that did not reach `call` (tool_calls.py): an unknown tool, a tool the policy
        does not offer, arguments the row's model refuses (`invalid`), or a failure without a line (`failed`)."""
        spec = TOOLS_BY_NAME.get(name)
        if spec is not None and not self.policy.allows_tool(spec):
            outcome, error = "denied", self._tool_refusal(spec)
        elif spec is None:
            outcome, error = "invalid", f"unknown tool {name[:100]!r}; nothing was run"
        elif invalid is not None:
            outcome, error = "invalid", validation_message(invalid)
        else:
            outcome, error = "error", f"{name} failed ({failed or 'no result'})"
        self.audit.record(
            tool=name[:100],
            arguments=audit_arguments(arguments),
            outcome=outcome,
            error=error,
            duration=duration,
            principal=current_principal().name,
        )

    def _tool_refusal(self, spec: ToolSpec) -> str:
        try:
            self.policy.check_tool(spec)
        except PolicyError as exc:
            return str(exc)
        return f"{spec.name} is not offered"

    async def _run_limited(
        self, spec: ToolSpec, module_args: dict[str, Any], dry_run: bool, ctx: Context | None
    ) -> dict[str, Any]:
        async with self.limiter:
            return await self._run(spec, module_args, dry_run, ctx)

    async def _run(
        self, spec: ToolSpec, module_args: dict[str, Any], dry_run: bool, ctx: Context | None
    ) -> dict[str, Any]:
        if self.stopping:
            raise Interrupted(f"the bridge is shutting down ({self.stopping}); nothing was run")
        if task_run.cancelled():
            raise RunCancelled(f"{spec.fqcn} was cancelled before it started; nothing was run")
        cancel = threading.Event()
        self._runs.add(cancel)
        task_run.track(cancel)
        phase = ["starting"]
        started = time.monotonic()

        counted = spec.module in COUNTED_MODULES
        count: list[FleetCount | None] = [None]

        def on_event(event: str) -> None:
            phase[0] = _PHASES.get(event, phase[0])

        def on_progress(latest: FleetCount) -> None:  # in the runner's thread: only swaps the reference
            count[0] = latest

        async def report() -> None:
            # Progress while the run lasts: elapsed seconds of `timeout` and the phase, every PROGRESS_INTERVAL; for
            # a fleet, the guests done of the total instead, as soon as the count grows (progress must only
            # increase, so the two are never mixed). Stops the run if this call is cancelled.
            try:
                sent, next_phase = -1, 0.0
                while True:
                    elapsed = time.monotonic() - started
                    latest = count[0]
                    if ctx is None:
                        pass
                    elif counted and latest is not None and latest.done > sent:
                        await task_run.progress(
                            ctx.report_progress, latest.done, latest.total, f"{spec.module}: {latest.message}"
                        )
                        sent = latest.done
                    elif not counted and elapsed >= next_phase:
                        await task_run.progress(
                            ctx.report_progress, elapsed, self.timeout, f"{spec.module}: {phase[0]}"
                        )
                        next_phase = elapsed + PROGRESS_INTERVAL
                    await anyio.sleep(COUNT_INTERVAL)
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
            on_progress=on_progress if counted else None,
        )
        outcome: dict[str, Any] = {}
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(report)
                try:
                    outcome["result"] = await anyio.to_thread.run_sync(run)
                except RunError as exc:  # raised below, outside the task group (which would wrap it in a group)
                    outcome["error"] = exc
                finally:
                    tg.cancel_scope.cancel()
        finally:
            self._runs.discard(cancel)
            task_run.untrack(cancel)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]


def audit_arguments(arguments: Mapping[str, Any], limit: int = 200) -> dict[str, Any]:
    """A client's arguments as the audit log keeps them: JSON values, long strings cut at `limit`, a plan_id
    without its signature."""

    arguments = dict(arguments)
    if "plan_id" in arguments:
        arguments["plan_id"] = without_signature(arguments["plan_id"])

    def cut(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= limit else f"{value[:limit]}...({len(value)} chars)"
        if isinstance(value, Mapping):
            return {str(k)[:limit]: cut(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [cut(v) for v in value]
        return value if value is None or isinstance(value, bool | int | float) else cut(repr(value))

    return cut(arguments)


def validation_message(exc: ValidationError) -> str:
    """Which arguments were refused and why, without echoing the values."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
    return f"invalid arguments ({problems}); nothing was run"


def failure_message(exc: ModuleFailed) -> str:
    """The module's own message, which says what persisted after a failed write (its re-read: "the write was
    accepted; its outcome: ..."); when its result says the guest changed and the message does not, it is added."""
    message = str(exc)
    if exc.result.get("changed") and not any(w in message for w in ("accepted", "applied", "changed")):
        message += " (the module reports that the guest was changed: check it with get_guest_config)"
    return message


def plan_audit(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit line of a plan keeps beside the arguments: the digest, expiry, steps and what it destroys
    (the plan_id itself is left out: it is a bearer credential for applying the plan until it expires)."""
    if "plan_id" not in result:
        return {}
    return {"plan": {k: result.get(k) for k in ("digest", "expires_at", "steps", "destroys")}}


def stopped_message(exc: RunError, stopping: str | None) -> str:
    if stopping and isinstance(exc, RunCancelled):
        return (
            f"the bridge is shutting down ({stopping}) and stopped the run; the guest may or may not have been "
            "changed, check it with get_guest_config"
        )
    return str(exc)


def to_call_result(spec: ToolSpec, result: Mapping[str, Any], dry_run: bool) -> CallToolResult:
    """The module's result as the row's result model: structured content plus the summary as text."""
    data = dict(result)
    data["summary"] = result.get("summary") or summarize(spec, result, dry_run=dry_run)
    if not spec.read_only:
        data["dry_run"] = dry_run
    model = spec.result.model_validate(data)
    structured = model.model_dump(mode="json")
    readable = plan_text(spec.mode, structured)  # a plan's facts as text, as its App view shows them (plan_view.py)
    return CallToolResult(
        content=[
            TextContent(type="text", text=structured["summary"]),
            *([TextContent(type="text", text=readable)] if readable else []),
            TextContent(type="text", text=json.dumps(structured, sort_keys=True)),
        ],
        structured_content=structured,
    )


def make_tool(spec: ToolSpec, bridge: Bridge) -> Tool:
    """One MCP tool for one table row: its parameters are the row model's fields (each parameter's default is the
    field itself, so the SDK derives the same field: type, constraints, default, description), its published input
    schema is the row model's (which the tools/call interceptor validates every call with: tool_calls.py)."""
    human = bridge.approvals is not None and spec.confirm  # a person approves: no confirmation resolver
    spec = replace(spec, args=bridge.args_model(spec))
    params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=field, annotation=field.annotation)
        for name, field in spec.args.model_fields.items()
    ]
    if spec.confirm and not human:
        params.append(
            inspect.Parameter(
                "confirmation",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[ElicitationResult[Confirmation], Resolve(RESOLVERS[spec.mode](bridge, spec))],
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
        meta=tool_meta(spec.mode),
        structured_output=True,
    )
    # Published: the row model's own schema (the derived one lacks only its title and additionalProperties: false).
    return registered.model_copy(update={"parameters": spec.args.model_json_schema(by_alias=True)})


class AuditedServer(MCPServer):
    """MCPServer whose tools/list shows a caller only the tools its scopes can use on some guest (every call is
    still checked: access.py). `list_tools` is what the SDK's tools/list handler calls, and overriding it is
    supported (the SDK's migration guide: "subclass overrides still take effect"); calls are validated and audited
    by the tools/call interceptor (tool_calls.py)."""

    def __init__(self, bridge: Bridge, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bridge = bridge

    async def list_tools(self) -> list[Any]:
        principal = current_principal()
        return [
            tool
            for tool in await super().list_tools()
            if tool.name not in TOOLS_BY_NAME or principal.may_use(required_scopes(TOOLS_BY_NAME[tool.name], False))
        ]


def build_server(bridge: Bridge) -> MCPServer:
    tools = [make_tool(spec, bridge) for spec in bridge.policy.enabled(TOOLS)]
    calls = ToolCalls(bridge, {tool.name: tool for tool in tools})  # first: outside every other interceptor
    server = AuditedServer(
        bridge,
        name="pve-config",
        title="Proxmox VE guest configuration (pve.config)",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=tools,
        extensions=[calls, plan_view_extension(), TasksExtension(TaskStore(bridge.config.bridge.task_ttl))],
    )
    register_resources(server, bridge)  # pve://guests, pve://guest/{vmid}/config (resources.py)
    return server
