"""The per-call authorisation: the caller's scopes for the guest, and no destructive call on a protected guest.

Deciding may need the guest's tags, pool and ``protection``; they are read through the collection (one
``pve.config.guest_info`` run, the bridge's only way to Proxmox; guest_reads.GuestReads) at most once per call,
and only when needed: a destructive call (protection), or a grant by tag or pool that a grant by VMID does not already settle.
A read that fails refuses the call (fail closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token

from .grants import DESTROY, LOCAL, READ, WRITE, GuestFacts, Principal, split_tags
from .policy import PolicyError
from .tools import ToolSpec

FactsReader = Callable[[int], Awaitable[GuestFacts]]


class Protected(PolicyError):
    """A destructive call on a protected guest."""


def current_principal() -> Principal:
    """The caller of the request being served: its access token's principal (static token or OAuth), or LOCAL
    when the transport authenticated no one (stdio, loopback HTTP without tokens)."""
    token = get_access_token()
    if token is None:
        return LOCAL
    name = token.client_id
    if (token.claims or {}).get("iss") is not None:
        name = f"oauth:{token.subject or token.client_id}"
    return Principal.from_scopes(name, token.scopes)


def required_scopes(spec: ToolSpec, destroys: bool) -> tuple[str, ...]:
    if spec.read_only:
        return (READ,)
    return (WRITE, DESTROY) if destroys else (WRITE,)


def is_destructive(spec: ToolSpec, dry_run: bool, destroys: bool) -> bool:
    """A call that removes something from a guest (a tool annotated destructive) or destroys a volume."""
    return not dry_run and (destroys or bool(spec.annotations.destructive_hint))


def facts_from_guest_info(result: Mapping[str, Any]) -> GuestFacts:
    """Tags, pool and protection from guest_info's result; current and pending values both count, so a pending
    ``protection`` or tag already protects (fail closed)."""
    views = [result.get("current") or {}, result.get("config") or {}]
    tags: frozenset[str] = frozenset().union(*(split_tags(view.get("tags")) for view in views))
    protected = any(str(view.get("protection", "0")).strip().lower() in ("1", "true", "yes", "on") for view in views)
    pool = result.get("pool")
    digest = result.get("digest")
    return GuestFacts(
        tags=tags,
        pool=pool if isinstance(pool, str) and pool else None,
        protected=protected,
        digest=digest if isinstance(digest, str) and digest else None,
    )


def protection_reason(facts: GuestFacts, protected_tags: Iterable[str]) -> str | None:
    if facts.protected:
        return "Proxmox protection: 1"
    found = sorted(facts.tags & {tag.casefold() for tag in protected_tags})
    return f"tag {found[0]}" if found else None


async def authorise(
    principal: Principal,
    spec: ToolSpec,
    vmid: int,
    *,
    dry_run: bool,
    destroys: bool,
    protected_tags: Iterable[str],
    read_facts: FactsReader,
) -> None:
    """Raise PolicyError (Protected for a protected guest) unless `principal` may make this call on `vmid`."""
    scopes = required_scopes(spec, destroys)
    destructive = is_destructive(spec, dry_run, destroys)
    facts = None
    if destructive or principal.needs_facts(scopes, vmid):
        facts = await read_facts(vmid)
    missing = [scope for scope in scopes if not principal.holds(scope, vmid, facts)]
    if missing:
        raise PolicyError(
            f"{principal.name} may not call {spec.name} on guest {vmid}: it needs {' and '.join(missing)} for "
            "this guest; nothing was changed"
        )
    reason = protection_reason(facts, protected_tags) if destructive and facts is not None else None
    if reason:
        raise Protected(
            f"guest {vmid} is protected ({reason}): {spec.name} is refused there whatever the arguments or "
            "confirmations; nothing was changed"
        )
