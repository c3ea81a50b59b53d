"""What a fleet plan holds and the fleet_config runs it stands for (no I/O here).

A fleet plan's payload (signed by plans.PlanSigner like a guest plan, with ``kind: fleet``): the changes (each
distinct `config`/`absent` once), the guests as ``[vmid, digest, change index]`` in the order they were chosen,
`purge` (only when the plan destroys a volume), what it destroys per guest, and the concurrency limits. Only the
guests the check run found something to change on go into the plan; the others are reported, not pinned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .fleet_select import Chosen
from .plans import destroyed_keys

FLEET_KIND = "fleet"
# fleet_config runs every guest to its end and reports each one; the tools report failures per guest
# themselves, so the task is never failed by their count.
ALL_GUESTS_RUN = 100


def check_run_args(chosen: Sequence[Chosen], purge: bool, parallel: int, per_node: int) -> dict[str, Any]:
    """fleet_config options for the plan's check run: exactly the chosen guests, by vmid."""
    return {
        "guests": [{"vmid": c.vmid, "config": c.config, "absent": c.absent} for c in chosen],
        "purge": purge,
        "parallel": parallel,
        "per_node": per_node,
        "max_fail_percentage": ALL_GUESTS_RUN,
    }


def plan_payload(
    chosen: Sequence[Chosen], guests: Sequence[Mapping[str, Any]], parallel: int, per_node: int
) -> dict[str, Any] | None:
    """The payload pinning every guest that would change (None: none would), from the check run's `guests`."""
    by_vmid = {c.vmid: c for c in chosen}
    changes: list[dict[str, Any]] = []
    pinned: list[list[Any]] = []
    destroys: dict[str, list[str]] = {}
    for result in guests:
        if result.get("failed") or not result.get("changed") or result.get("vmid") not in by_vmid:
            continue
        guest = by_vmid[result["vmid"]]
        change = {"config": guest.config, "absent": guest.absent}
        if change not in changes:
            changes.append(change)
        pinned.append([guest.vmid, str(result.get("digest") or ""), changes.index(change)])
        keys = destroyed_keys(result.get("steps") or ())
        if keys:
            destroys[str(guest.vmid)] = keys
    if not pinned:
        return None
    return {
        "kind": FLEET_KIND,
        "changes": changes,
        "guests": pinned,
        "purge": bool(destroys),
        "destroys": destroys,
        "parallel": parallel,
        "per_node": per_node,
    }


def plan_vmids(payload: Mapping[str, Any]) -> list[int]:
    return [int(vmid) for vmid, _digest, _change in payload["guests"]]


def apply_args(payload: Mapping[str, Any]) -> dict[str, Any]:
    """fleet_config options that apply exactly the plan: its guests by vmid, each bound to its digest."""
    changes = payload["changes"]
    return {
        "guests": [
            {"vmid": vmid, "if_digest": digest, **changes[change]} for vmid, digest, change in payload["guests"]
        ],
        "purge": bool(payload["purge"]),
        "parallel": payload["parallel"],
        "per_node": payload["per_node"],
        "max_fail_percentage": ALL_GUESTS_RUN,
    }


def totals(guests: Sequence[Mapping[str, Any]], *, check: bool) -> dict[str, int]:
    """Counts of a run's guests; `reboots`: guests with keys pending (check mode: predicted pending)."""
    reboot_key = "pending_predicted" if check else "pending"
    return {
        "guests": len(guests),
        "changed": sum(1 for g in guests if g.get("changed")),
        "unchanged": sum(1 for g in guests if not g.get("changed") and not g.get("failed")),
        "failed": sum(1 for g in guests if g.get("failed")),
        "reboots": sum(1 for g in guests if g.get(reboot_key)),
    }


def is_refused_for_digest(guest: Mapping[str, Any]) -> bool:
    """A guest that if_digest refused (guest_config check_guest's wording: nothing was written to it)."""
    return bool(guest.get("failed")) and "changed since the plan was made" in str(guest.get("msg") or "")
