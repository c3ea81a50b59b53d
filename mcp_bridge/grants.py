"""Who may do what: the three scopes, their optional per-guest restrictions, and the caller of a call.

A scope string is ``pve:read``, ``pve:write`` or ``pve:destroy``, optionally restricted to guests by VMID (or
range), tag or pool: ``pve:write:vmid:100-199``, ``pve:read:tag:web``, ``pve:destroy:pool:lab``. The same
strings are the ``scopes`` of a static token in the configuration and the ``scope`` claim of an OAuth access
token. A principal holds a scope for a guest when one of its grants of that scope admits the guest.

- ``pve:read``: get_guest_config (and the other read-only tools);
- ``pve:write``: every tool that changes a guest (also with ``dry_run``);
- ``pve:destroy``: additionally, for a call that destroys a volume (``delete_volume``, a plan that purges).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .config import parse_vmid_range

READ, WRITE, DESTROY = "pve:read", "pve:write", "pve:destroy"
SCOPES = (READ, WRITE, DESTROY)
KINDS = ("vmid", "tag", "pool")


def split_tags(value: object) -> frozenset[str]:
    """A guest config's ``tags`` as a set (case-folded): pve-common src/PVE/ParseUtils.pm split_list, which the
    ``pve-tag-list`` format uses (JSONSchema.pm), splits on ``,``, ``;`` and white space; PVE_TAG_RE matches
    tags case-insensitively."""
    if not isinstance(value, str):
        return frozenset()
    return frozenset(tag.casefold() for tag in value.replace(",", " ").replace(";", " ").split())


@dataclass(frozen=True)
class GuestFacts:
    """What a grant or the protection rule needs to know about a guest, read through the collection."""

    tags: frozenset[str] = frozenset()
    pool: str | None = None
    protected: bool = False  # Proxmox `protection: 1`
    digest: str | None = None  # the config digest of the read (approvals.py binds an approval to it)


@dataclass(frozen=True)
class Grant:
    scope: str
    kind: str | None = None  # None: every guest
    value: str | range | None = None

    def admits(self, vmid: int, facts: GuestFacts | None) -> bool | None:
        """True/False, or None when the answer needs the guest's facts and none were read."""
        if self.kind is None:
            return True
        if self.kind == "vmid":
            return vmid in self.value
        if facts is None:
            return None
        if self.kind == "tag":
            return str(self.value).casefold() in facts.tags
        return facts.pool is not None and facts.pool == self.value

    def __str__(self) -> str:
        if self.kind is None:
            return self.scope
        value = self.value
        if isinstance(value, range):
            value = str(value.start) if len(value) == 1 else f"{value.start}-{value.stop - 1}"
        return f"{self.scope}:{self.kind}:{value}"


def parse_grant(text: str) -> Grant:
    """One scope string as a Grant; ValueError for anything that is not one of the forms above."""
    parts = text.split(":")
    scope = ":".join(parts[:2])
    if scope not in SCOPES or len(parts) not in (2, 4):
        raise ValueError(f"scope {text!r} is not pve:read|write|destroy[:vmid|tag|pool:VALUE]")
    if len(parts) == 2:
        return Grant(scope)
    kind, value = parts[2], parts[3]
    if kind not in KINDS or not value:
        raise ValueError(f"scope {text!r}: the restriction must be vmid:N[-M], tag:NAME or pool:NAME")
    if kind == "vmid":
        return Grant(scope, kind, parse_vmid_range(value))
    return Grant(scope, kind, value)


@dataclass(frozen=True)
class Principal:
    """The caller of a tool: a name for the audit log and its grants."""

    name: str
    grants: tuple[Grant, ...]

    @classmethod
    def from_scopes(cls, name: str, scopes: Iterable[str]) -> Principal:
        """Grants from scope strings; strings that are no pve scope (``openid``, a malformed one) grant nothing."""
        grants = []
        for text in scopes:
            try:
                grants.append(parse_grant(text))
            except ValueError:
                continue
        return cls(name, tuple(grants))

    def may_use(self, scopes: Iterable[str]) -> bool:
        """Whether some guest could be granted all of `scopes` (for tools/list: tools that can never be used are
        not shown)."""
        return all(any(grant.scope == scope for grant in self.grants) for scope in scopes)

    def needs_facts(self, scopes: Iterable[str], vmid: int) -> bool:
        """Whether deciding on `scopes` for guest `vmid` needs the guest's tags / pool."""
        return any(self._decide(scope, vmid, None) is None for scope in scopes)

    def holds(self, scope: str, vmid: int, facts: GuestFacts | None) -> bool:
        return bool(self._decide(scope, vmid, facts))

    def _decide(self, scope: str, vmid: int, facts: GuestFacts | None) -> bool | None:
        answers = [grant.admits(vmid, facts) for grant in self.grants if grant.scope == scope]
        if any(answer is True for answer in answers):
            return True
        return None if any(answer is None for answer in answers) else False


# The caller when the transport authenticates no one: stdio (the operator's own process) or loopback HTTP without
# tokens. The operator's policy (read-only, tool / guest allow-lists) still applies.
LOCAL = Principal("local", tuple(Grant(scope) for scope in SCOPES))
