"""Approvals that the agent cannot grant itself (`approval = "human"`, issue 12).

`confirm: true` comes from the model. With human approval a destructive call (a volume destroyed by
remove_vm_disk / remove_container_mountpoint with delete_volume, an applied plan that destroys volumes, a fleet
apply that destroys volumes or covers more than `approval_max_guests` guests) runs only once a person approved
it: on the bridge's approval page (approval_page.py, reached through URL-mode elicitation) or with
`pve-config-mcp approve ID` on the bridge's host (approval_channel.py).

An approval is bound to the caller (principal), the tool and its exact validated arguments (for an apply: the
plan id), and to the config digest of every guest as read when it was requested, which is also what the person
is shown (a check-mode run of exactly the call: its diff). Just before the write, inside the guest's lock, the
digests are read again: a guest that changed since voids the approval and the call is refused before any write.
An approval is used once. Approval codes (the page's one-time credential) are kept only as their hash.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
from mcp import MCPError
from mcp.server.mcpserver import Context
from mcp.types import ElicitRequest, ElicitRequestURLParams, InputRequiredResult
from mcp.types.version import is_version_at_least
from pydantic import BaseModel, Field, create_model

from .policy import PolicyError

if TYPE_CHECKING:
    from .config import BridgeSettings
    from .server import Bridge, Job
    from .tools import ToolSpec

APPROVAL_ID_PATTERN = r"^apv-[0-9a-f]{16}$"
URL_ELICITATION_VERSION = "2026-07-28"  # from this revision, elicitation rides InputRequiredResult
WAIT_STEP = 0.1

State = Literal["pending", "approved", "rejected", "used", "void", "expired"]


class ApprovalError(PolicyError):
    """A call refused by the approval rule; `outcome` is its audit outcome."""

    outcome = "denied"


class ApprovalPending(ApprovalError):
    outcome = "approval_pending"


class ApprovalRejected(ApprovalError):
    outcome = "rejected"


class ApprovalVoid(ApprovalError):
    outcome = "approval_void"


class ApprovalInvalid(ApprovalError):
    outcome = "invalid"


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@dataclass
class Approval:
    """One destructive call waiting for (or given) a person's decision."""

    id: str
    key: str  # call_key: principal, tool, arguments
    principal: str
    tool: str
    vmids: tuple[int, ...]
    digests: dict[int, str]  # the guests' config digests the person was shown
    shown: dict[str, Any]  # what the page and `approve --show` display (reason, arguments, diff)
    audit_arguments: dict[str, Any]
    expires: float
    state: State = "pending"
    decided_by: str | None = None
    code_hash: str | None = None
    code_id: str | None = None
    code_expires: float = 0.0
    events: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """What the CLI and the page may show: never the code."""
        return {
            "id": self.id,
            "state": self.state,
            "tool": self.tool,
            "principal": self.principal,
            "vmids": list(self.vmids),
            "digests": {str(k): v for k, v in self.digests.items()},
            "decided_by": self.decided_by,
            "expires_in": max(0, round(self.expires - time.monotonic())),
            **self.shown,
        }


def call_key(principal: str, tool: str, arguments: Mapping[str, Any]) -> str:
    """The call an approval is bound to: who, which tool, exactly which arguments (confirm and approval_id aside)."""
    bound = {k: v for k, v in arguments.items() if k not in ("confirm", "approval_id")}
    text = json.dumps({"principal": principal, "tool": tool, "arguments": bound}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ApprovalStore:
    """The bridge's approvals, in memory (a restart forgets them: the calls are refused and asked again).
    Thread-safe: the page (event loop) and the CLI channel (its own thread) decide, calls wait."""

    def __init__(self, ttl: float, code_ttl: float, on_decision: Callable[[Approval, str], None]) -> None:
        self.ttl = ttl
        self.code_ttl = code_ttl
        self.on_decision = on_decision
        self._lock = threading.Lock()
        self._items: dict[str, Approval] = {}

    def request(self, **fields: Any) -> Approval:
        approval = Approval(id=f"apv-{secrets.token_hex(8)}", expires=time.monotonic() + self.ttl, **fields)
        with self._lock:
            self._expire()
            self._items[approval.id] = approval
        return approval

    def new_code(self, approval: Approval) -> str:
        """A one-time code for the approval page (256 bits); only its hash is kept."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            approval.code_hash = hash_code(code)
            approval.code_id = approval.code_hash[:12]
            approval.code_expires = min(approval.expires, time.monotonic() + self.code_ttl)
        return code

    def get(self, approval_id: str) -> Approval | None:
        with self._lock:
            self._expire()
            return self._items.get(approval_id)

    def by_code(self, code: str) -> Approval | None:
        """The pending approval whose live code this is (constant-time compare of the hashes)."""
        wanted = hash_code(code)
        now = time.monotonic()
        with self._lock:
            self._expire()
            for approval in self._items.values():
                if (
                    approval.code_hash is not None
                    and secrets.compare_digest(approval.code_hash, wanted)
                    and approval.state == "pending"
                    and now < approval.code_expires
                ):
                    return approval
        return None

    def decide(self, approval_id: str, approve: bool, by: str, *, code: str | None = None) -> Approval:
        """A person's decision. With `code` (the page) the code must match and is spent: single use."""
        with self._lock:
            self._expire()
            approval = self._items.get(approval_id)
            if approval is None:
                raise ApprovalInvalid(f"no approval {approval_id} is waiting (unknown, or expired)")
            if code is not None:
                live = approval.code_hash is not None and time.monotonic() < approval.code_expires
                if not live or not secrets.compare_digest(approval.code_hash or "", hash_code(code)):
                    raise ApprovalInvalid("this approval link is not valid (used, expired or wrong)")
                approval.code_hash = None  # single use
            if approval.state != "pending":
                raise ApprovalInvalid(f"approval {approval_id} is already {approval.state}")
            approval.state = "approved" if approve else "rejected"
            approval.decided_by = by
        self.on_decision(approval, approval.state)
        return approval

    def bound(self, approval_id: str, key: str) -> Approval:
        """The approval a re-call names, if it was requested for exactly this call."""
        approval = self.get(approval_id)
        if approval is None:
            raise ApprovalInvalid(
                f"no approval {approval_id} is known to this bridge (unknown, or expired); call "
                "again without approval_id to request a new one; nothing was changed"
            )
        if not secrets.compare_digest(approval.key, key):
            raise ApprovalInvalid(
                f"approval {approval_id} was requested for another call (another caller, tool or "
                "arguments); nothing was changed"
            )
        return approval

    def finish(self, approval: Approval, state: State) -> None:
        with self._lock:
            approval.state = state
            approval.code_hash = None

    def pending(self) -> list[Approval]:
        with self._lock:
            self._expire()
            return [a for a in self._items.values() if a.state == "pending"]

    def _expire(self) -> None:
        now = time.monotonic()
        for key, approval in list(self._items.items()):
            if now >= approval.expires:
                approval.code_hash = None
                if approval.state in ("pending", "approved"):
                    approval.state = "expired"
                if now >= approval.expires + self.ttl:  # forgotten a while after expiry
                    del self._items[key]


@functools.cache
def with_approval_id(args: type[BaseModel]) -> type[BaseModel]:
    """A destructive tool's argument model with `approval_id` (human approval mode only); one per row model."""
    return create_model(
        args.__name__,
        __base__=args,
        approval_id=(
            str | None,
            Field(
                None,
                pattern=APPROVAL_ID_PATTERN,
                description="The id of an approval a person gave for exactly this call (pve-config-mcp approve ID).",
            ),
        ),
    )


def needs_approval(spec: ToolSpec, job: Job, max_guests: int) -> str | None:
    """Why this call needs a person, or None: it destroys volumes, or it applies a plan to too many guests."""
    if job.check:
        return None
    if job.destroys:
        return f"it permanently destroys the volume of {', '.join(job.destroys)}"
    if job.fleet is not None and len(job.fleet.vmids) > max_guests:
        return f"it changes {len(job.fleet.vmids)} guests, more than approval_max_guests ({max_guests})"
    return None


def planned_digests(job: Job) -> dict[int, str]:
    """The digests a plan was made from (apply_guest_config, apply_fleet_config); {} for the run tools."""
    if job.plan is not None:
        return {job.plan.vmid: job.plan.digest}
    if job.fleet is not None:
        return {int(vmid): str(digest) for vmid, digest, _change in job.fleet.payload.get("guests", ())}
    return {}


def wants_url(ctx: Context | None) -> bool:
    try:
        capabilities = ctx.client_capabilities if ctx is not None else None
    except (ValueError, AttributeError):
        return False
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and elicitation.url is not None


def modern(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, URL_ELICITATION_VERSION)


class HumanApprovals:
    """The approval rule of a bridge with `approval = "human"`."""

    def __init__(self, settings: BridgeSettings, record: Callable[..., Any], public_url: str | None = None) -> None:
        self.max_guests = settings.approval_max_guests
        self.wait = settings.approval_wait
        self.record = record  # AuditLog.record
        self.public_url = public_url.rstrip("/") if public_url else None
        self.page_path: str | None = None  # set when the HTTP transport serves the approval page
        self.channel: Any = None  # approval_channel.ApprovalChannel while the bridge serves
        self.store = ApprovalStore(settings.approval_ttl, settings.approval_code_ttl, self._audit_decision)

    def open_channel(self, directory: str | None) -> None:
        """Listen for `pve-config-mcp approve | reject` (approval_channel.py) in the private `directory`."""
        from .approval_channel import ApprovalChannel, private_dir

        self.channel = ApprovalChannel(self.store, private_dir(directory, create=True))
        self.channel.start()

    def close_channel(self) -> None:
        if self.channel is not None:
            self.channel.stop()
            self.channel = None

    def _audit_decision(self, approval: Approval, state: str) -> None:
        self.record(
            tool=approval.tool,
            arguments=approval.audit_arguments,
            outcome=state,
            duration=0.0,
            principal=approval.principal,
            approval={
                "id": approval.id,
                "by": approval.decided_by,
                "vmids": list(approval.vmids),
                "digests": {str(k): v for k, v in approval.digests.items()},
            },
        )

    def needed(self, spec: ToolSpec, job: Job) -> str | None:
        return needs_approval(spec, job, self.max_guests)

    def page_url(self, ctx: Context, code: str) -> str | None:
        """The approval page's link for this client, or None when no page is served (stdio)."""
        if self.page_path is None:
            return None
        base = self.public_url
        if base is None:
            host = (ctx.headers or {}).get("host") if ctx is not None else None
            if not host:
                return None
            base = f"http://{host}"
        return f"{base}{self.page_path}/{code}"

    async def gate(
        self,
        bridge: Bridge,
        spec: ToolSpec,
        job: Job,
        arguments: Mapping[str, Any],
        principal: str,
        audit_arguments: Mapping[str, Any],
        reason: str,
        ctx: Context | None,
    ) -> Approval | InputRequiredResult:
        """The approved Approval of this call, or an InputRequiredResult (URL elicitation, 2026-07-28 clients);
        raises ApprovalPending (with the id for `pve-config-mcp approve`) or another ApprovalError."""
        key = call_key(principal, spec.name, arguments)
        named = arguments.get("approval_id")
        if named is None and ctx is not None and wants_url(ctx) and modern(ctx):
            state = ctx.request_state
            named = state if isinstance(state, str) and state.startswith("apv-") else None
        if named is not None:
            approval = self.store.bound(str(named), key)
            answer = (ctx.input_responses or {}).get("approval") if ctx is not None and modern(ctx) else None
            if answer is not None and getattr(answer, "action", "accept") != "accept" and approval.state == "pending":
                self.store.finish(approval, "void")
                raise ApprovalRejected(
                    f"the user did not open the approval page for {approval.id}; nothing was changed"
                )
            # Wait only for a decision on the page the person was sent to; a CLI approval is not waited for.
            return await self.settled(approval, wait=self.wait if approval.code_id is not None else 0.0)
        approval = await self.request(bridge, spec, job, key, principal, audit_arguments, reason)
        if ctx is not None and wants_url(ctx):
            code = self.store.new_code(approval)
            url = self.page_url(ctx, code)
            if url is not None:
                message = (
                    f"A person must approve this call on the bridge's approval page: {reason}. Approval {approval.id}."
                )
                if modern(ctx):
                    request = ElicitRequest(
                        params=ElicitRequestURLParams(message=message, url=url, elicitation_id=approval.id)
                    )
                    return InputRequiredResult(input_requests={"approval": request}, request_state=approval.id)
                try:
                    answer = await ctx.elicit_url(message, url, approval.id)
                except MCPError:  # no back-channel (stateless HTTP): the CLI instead
                    raise ApprovalPending(self.pending_message(approval, reason)) from None
                if answer.action != "accept":
                    self.store.finish(approval, "void")
                    raise ApprovalRejected(
                        f"the user did not open the approval page for {approval.id}; nothing was changed"
                    )
                decided = await self.settled(approval, wait=self.wait)
                await ctx.session.send_elicit_complete(approval.id)
                return decided
        raise ApprovalPending(self.pending_message(approval, reason))

    @staticmethod
    def pending_message(approval: Approval, reason: str) -> str:
        return (
            f"this call needs a person's approval ({reason}): approval {approval.id} is waiting. Ask the user to "
            f"run `pve-config-mcp approve {approval.id}` (or `reject`) on the bridge's host, then call again with "
            f"the same arguments and approval_id: {approval.id}; nothing was changed"
        )

    async def request(
        self,
        bridge: Bridge,
        spec: ToolSpec,
        job: Job,
        key: str,
        principal: str,
        audit_arguments: Mapping[str, Any],
        reason: str,
    ) -> Approval:
        """A new approval: the guests' digests now and the check-mode run of exactly this call (its diff)."""
        digests = planned_digests(job) or {vmid: await self.digest(bridge, vmid) for vmid in job.vmids}
        preview = await bridge.preview(spec, job)
        diff = preview.get("diff")
        if job.fleet is not None:
            diff = {str(g.get("vmid")): g.get("diff") for g in preview.get("guests") or ()}
        shown = {
            "reason": reason,
            "arguments": dict(audit_arguments),
            "destroys": list(job.destroys),
            "diff": diff,
            "summary": preview.get("summary") or preview.get("msg"),
        }
        return self.store.request(
            key=key,
            principal=principal,
            tool=spec.name,
            vmids=tuple(job.vmids),
            digests=digests,
            shown=shown,
            audit_arguments=dict(audit_arguments),
        )

    @staticmethod
    async def digest(bridge: Bridge, vmid: int) -> str:
        digest = (await bridge.guest_facts(vmid)).digest
        if not digest:
            raise ApprovalVoid(f"could not read the config digest of guest {vmid}; nothing was changed")
        return digest

    async def settled(self, approval: Approval, *, wait: float) -> Approval:
        """The approval once decided (waiting at most `wait` s); raises unless it is approved."""
        with anyio.move_on_after(wait):
            while approval.state == "pending":
                await anyio.sleep(WAIT_STEP)
        if approval.state == "approved":
            return approval
        if approval.state == "pending":
            raise ApprovalPending(self.pending_message(approval, approval.shown.get("reason", "")))
        if approval.state == "rejected":
            raise ApprovalRejected(f"{approval.decided_by} rejected approval {approval.id}; nothing was changed")
        raise ApprovalInvalid(
            f"approval {approval.id} is {approval.state}; call again without approval_id to "
            "request a new one; nothing was changed"
        )

    async def verify(self, bridge: Bridge, approval: Approval) -> None:
        """Inside the guests' locks, just before the write: every guest still has the digest the person was shown,
        else the approval is void and nothing is written. The approval is spent either way."""
        for vmid, shown in approval.digests.items():
            try:
                now = await self.digest(bridge, vmid)
            except PolicyError:
                self.store.finish(approval, "void")
                raise
            if now != shown:
                self.store.finish(approval, "void")
                raise ApprovalVoid(
                    f"guest {vmid} changed since approval {approval.id} was requested (config digest {shown[:12]}... "
                    f"is now {now[:12]}...): the approval is void; nothing was changed. Review the change again."
                )
        self.store.finish(approval, "used")
