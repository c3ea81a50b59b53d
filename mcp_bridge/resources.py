"""Guests as MCP resources: ``pve://guests`` (the cluster's guests) and the template ``pve://guest/{vmid}/config``
(one guest's config, pending changes, digest, disks and NICs: what get_guest_config returns).

Both are read through the collection like the tools (a ``pve.config.guest_info`` run of the bridge's runner:
guest_reads.py), kept for ``resource_ttl`` seconds (ttl_cache.py) and shown under the caller's grants, decided on
every read: a principal sees the guests its ``pve:read`` grants (by VMID, tag or pool) and the operator's
allow-list admit. A guest it may not see reads exactly like a guest that does not exist ("not found"), so a
read tells nothing about guests outside its grants. The cache holds what Proxmox answered, never a principal's
view of it. Every read leaves one audit line (``tool``: ``resources/read``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from .access import current_principal, facts_from_guest_info
from .grants import READ, GuestFacts, Principal
from .guest_reads import is_missing
from .policy import PolicyError
from .runner import RunError
from .tools import TOOLS_BY_NAME, summarize
from .ttl_cache import TtlCache

if TYPE_CHECKING:
    from .server import Bridge

GUESTS_URI = "pve://guests"
CONFIG_URI = "pve://guest/{vmid}/config"
READ_TOOL = TOOLS_BY_NAME["get_guest_config"]  # the same power: offered with it, and its result model
MIME = "application/json"
# pve-common src/PVE/JSONSchema.pm pve_verify_vmid: m/^[1-9][0-9]{2,8}$/ (100 to 999999999, no leading zero)
VMID = re.compile(r"[1-9][0-9]{2,8}")


class NotVisible(ResourceNotFoundError):
    """A guest that does not exist or that the caller may not see: one answer for both."""


def read_at() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_vmid(text: str) -> int | None:
    return int(text) if VMID.fullmatch(text) else None


class GuestResources:
    """The two resources of one bridge: its runner, policy, audit log and a cache of what guest_info read."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.cache = TtlCache(bridge.config.bridge.resource_ttl)

    def admitted(self, principal: Principal, vmid: int, facts: GuestFacts) -> bool:
        """The operator's allow-list (VMIDs or pools) and the caller's pve:read grants for this guest."""
        try:
            self.bridge.policy.check_guest(vmid, lambda _vmid: facts.pool)
        except PolicyError:
            return False
        return principal.holds(READ, vmid, facts)

    async def guests(self) -> str:
        """The guests the caller may see, from one cluster-wide guest_info read (or the cache's copy)."""
        started, principal = time.monotonic(), current_principal()
        try:
            listing, cached = await self.cache.get(GUESTS_URI, self._read_guests)
        except RunError as exc:
            self.audit(GUESTS_URI, principal, started, "error", error=str(exc))
            raise ResourceError(f"{GUESTS_URI}: {exc}") from None
        shown = [guest for guest in listing["guests"] if self.admitted(principal, guest["vmid"], row_facts(guest))]
        self.audit(GUESTS_URI, principal, started, "ok", cached=cached, guests=len(shown))
        return json.dumps({"guests": shown, "read_at": listing["read_at"]}, sort_keys=True)

    async def guest_config(self, vmid: str) -> str:
        """One guest as get_guest_config returns it, when the caller may see it; otherwise not found."""
        started, principal = time.monotonic(), current_principal()
        uri = CONFIG_URI.format(vmid=vmid)
        number = parse_vmid(vmid)
        not_found = NotVisible(f"{uri}: no guest {vmid} that you may read")
        if number is None:
            self.audit(uri, principal, started, "invalid", error="not a VMID (100 to 999999999)")
            raise NotVisible(f"{uri}: not a VMID (100 to 999999999)")
        if not self.may_see_without_reading(principal, number):
            self.audit(uri, principal, started, "denied", error="outside the caller's pve:read grants or allow-list")
            raise not_found
        try:
            result, cached = await self.cache.get(("guest", number), lambda: self._read_guest(number))
        except RunError as exc:
            if is_missing(exc):
                self.audit(uri, principal, started, "failed", error=f"guest {number} does not exist")
                raise not_found from None
            self.audit(uri, principal, started, "error", error=str(exc))
            raise ResourceError(f"{uri}: could not read guest {number} ({exc})") from None
        if not self.admitted(principal, number, facts_from_guest_info(result)):
            self.audit(uri, principal, started, "denied", error="outside the caller's pve:read grants or allow-list")
            raise not_found
        self.audit(uri, principal, started, "ok", cached=cached)
        return json.dumps(config_content(result), sort_keys=True)

    def may_see_without_reading(self, principal: Principal, vmid: int) -> bool:
        """False when the grants or the allow-list refuse `vmid` whatever its tags and pool (no run needed)."""
        policy = self.bridge.policy
        if policy.restricts_guests and not policy.admits_by_vmid(vmid) and not policy.pools:
            return False
        return principal.needs_facts((READ,), vmid) or principal.holds(READ, vmid, None)

    async def _read_guests(self) -> dict[str, Any]:
        self._refuse_when_stopping()
        async with self.bridge.limiter:
            guests = await anyio.to_thread.run_sync(self.bridge.cluster_guests)
        return {"guests": guests, "read_at": read_at()}

    async def _read_guest(self, vmid: int) -> dict[str, Any]:
        self._refuse_when_stopping()
        result = await self.bridge.guest_info(vmid)
        return {**result, "read_at": read_at()}

    def _refuse_when_stopping(self) -> None:
        if self.bridge.stopping:
            raise RunError(f"the bridge is shutting down ({self.bridge.stopping}); nothing was read")

    def audit(self, uri: str, principal: Principal, started: float, outcome: str, **extra: Any) -> None:
        self.bridge.audit.record(
            tool="resources/read",
            arguments={"uri": uri},
            outcome=outcome,
            duration=time.monotonic() - started,
            principal=principal.name,
            **extra,
        )


def row_facts(guest: Mapping[str, Any]) -> GuestFacts:
    """What the grants need of a listed guest: its tags (compared without case) and pool."""
    tags = guest.get("tags") or ()
    return GuestFacts(tags=frozenset(str(tag).casefold() for tag in tags), pool=guest.get("pool") or None)


def config_content(result: Mapping[str, Any]) -> dict[str, Any]:
    """guest_info's result as get_guest_config's structured result, plus when it was read."""
    data = {key: value for key, value in result.items() if key != "read_at"}
    data["summary"] = summarize(READ_TOOL, data, dry_run=False)
    content = READ_TOOL.result.model_validate(data).model_dump(mode="json")
    return {**content, "read_at": result.get("read_at")}


def register_resources(server: MCPServer, bridge: Bridge) -> GuestResources | None:
    """Add ``pve://guests`` and ``pve://guest/{vmid}/config`` to `server`, when the operator offers the read
    tool (get_guest_config): the resources give the same power."""
    if not bridge.policy.allows_tool(READ_TOOL):
        return None
    resources = GuestResources(bridge)

    @server.resource(
        GUESTS_URI,
        name="guests",
        title="Proxmox VE guests",
        description=(
            "The cluster's VMs and containers you may read: vmid, name, node, type, status, tags, pool, lock, "
            "template (one /cluster/resources read, reused for a few seconds; read_at says when)."
        ),
        mime_type=MIME,
    )
    async def guests() -> str:
        return await resources.guests()

    @server.resource(
        CONFIG_URI,
        name="guest_config",
        title="Proxmox VE guest configuration",
        description=(
            "One guest's configuration, pending changes, config digest, parsed disks and NICs (what get_guest_config "
            "returns), reused for a few seconds (read_at says when). A guest you may not read is not found."
        ),
        mime_type=MIME,
    )
    async def guest_config(vmid: str) -> str:
        return await resources.guest_config(vmid)

    return resources
