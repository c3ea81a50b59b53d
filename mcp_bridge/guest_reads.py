"""The bridge's reads of Proxmox, each one run of ``pve.config.guest_info`` through the bridge's runner (a warm
run when the pool has one): the bridge holds no Proxmox session of its own.

- the cluster's guests: guest_info without vmid, one ``GET /cluster/resources?type=vm`` (vmid, name, node, type,
  status, tags, pool, lock, template): the fleet tools' selection and the ``pve://guests`` resource;
- one guest: guest_info with its vmid (config, pending, digest, disks, NICs, tags, pool, protection), which fails
  with ``found: false`` when the guest does not exist;
- `GuestReads`: one call's reads of its guests, each guest read at most once and shared by the pool allow-list,
  the grants, the protection rule and the existence check (so a call costs at most one extra run per guest).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .access import facts_from_guest_info
from .grants import GuestFacts
from .policy import PolicyError
from .runner import ModuleFailed, RunError

GuestInfo = Callable[[int], Awaitable[dict[str, Any]]]


class NoSuchGuest(RunError):
    """The guest does not exist (checked before asking to destroy anything)."""


def is_missing(exc: RunError) -> bool:
    """Whether guest_info failed because no guest has the vmid (its ``found: false``), not for another reason."""
    return isinstance(exc, ModuleFailed) and exc.result.get("found") is False


def reread_view(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit line of a stopped run keeps of guest_info's result: where the guest is, its values in effect
    now (`config`) and the changes waiting for a reboot (`pending`, ``null`` = pending delete)."""
    current = result.get("current")
    return {
        "node": result.get("node"),
        "guest_type": result.get("guest_type"),
        "config": dict(current if isinstance(current, Mapping) else result.get("config") or {}),
        "pending": dict(result.get("pending") or {}),
    }


class GuestReads:
    """One call's guest_info results by vmid (or the error the read ended with), read on first use."""

    def __init__(self, read: GuestInfo) -> None:
        self.read = read
        self._done: dict[int, dict[str, Any] | RunError] = {}

    async def info(self, vmid: int) -> dict[str, Any]:
        """guest_info's result for `vmid`; RunError (ModuleFailed with ``found: false`` for no such guest)."""
        if vmid not in self._done:
            try:
                self._done[vmid] = await self.read(vmid)
            except RunError as exc:
                self._done[vmid] = exc
        done = self._done[vmid]
        if isinstance(done, RunError):
            raise done
        return done

    async def facts(self, vmid: int) -> GuestFacts:
        """The tags, pool and protection the grants and the protection rule need; PolicyError when unread."""
        try:
            return facts_from_guest_info(await self.info(vmid))
        except RunError as exc:
            raise PolicyError(
                f"could not read the tags, pool and protection of guest {vmid} ({exc}); nothing was changed"
            ) from None

    async def require(self, vmid: int) -> None:
        """NoSuchGuest when the guest does not exist, RunError when it could not be read."""
        try:
            await self.info(vmid)
        except RunError as exc:
            if is_missing(exc):
                raise NoSuchGuest(f"guest {vmid} does not exist; nothing was changed") from None
            raise RunError(f"could not read guest {vmid} ({exc}); nothing was changed") from None
