"""The bridge's side of plan_fleet_config / apply_fleet_config: choose and check the guests before a run, sign the
check run into a plan, verify a plan before its run, and shape both results. Blocking (reads Proxmox through a
guest_info run): the server calls these in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fleet_plan import (
    FLEET_KIND,
    apply_args,
    check_run_args,
    is_refused_for_digest,
    plan_payload,
    plan_vmids,
    totals,
)
from .fleet_select import Chosen, SelectionError, check_allowed, choose, load_selector
from .plans import PlanInvalid, PlanSigner, expires_text
from .policy import Policy

Guests = Callable[[], list[dict[str, Any]]]


@dataclass(frozen=True)
class FleetJob:
    """One fleet call's run: the guests (in the order chosen), fleet_config's options, and what it destroys."""

    vmids: tuple[int, ...]
    module_args: dict[str, Any]
    check: bool
    chosen: tuple[Chosen, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)
    destroys: Mapping[str, list[str]] = field(default_factory=dict)
    expires_at: str | None = None

    @property
    def removes(self) -> bool:
        """Whether the run removes anything from a guest (absent keys, destroyed volumes)."""
        return bool(self.destroys) or any(change.get("absent") for change in self.payload.get("changes", ()))


class FleetCalls:
    """Choosing, checking and planning for the fleet tools, with the bridge's policy, plan signer and its read of
    the cluster's guests through the collection (`guests`: guest_info's list, one ``/cluster/resources`` read)."""

    def __init__(self, policy: Policy, plans: PlanSigner, guests: Guests, collections_root: Path) -> None:
        self.policy = policy
        self.plans = plans
        self.guests = guests
        self.collections_root = collections_root

    def plan_job(self, args: Any) -> FleetJob:
        """The check run of plan_fleet_config: the chosen guests, every one in the allow-list (else PolicyError
        naming the others; SelectionError for a selection that cannot be resolved)."""
        chosen = choose(
            load_selector(self.collections_root),
            self.guests(),
            select=None if args.select is None else args.select.model_dump(),
            entries=None if args.guests is None else [entry.model_dump() for entry in args.guests],
            config=args.config,
            absent=args.absent,
        )
        check_allowed(self.policy, [c.vmid for c in chosen], {c.vmid: c.pool for c in chosen})
        module_args = check_run_args(chosen, args.purge, args.parallel, args.per_node)
        return FleetJob(tuple(c.vmid for c in chosen), module_args, True, tuple(chosen))

    def apply_job(self, plan_id: str) -> FleetJob:
        """The run of apply_fleet_config: the verified plan's guests, every one in the allow-list now."""
        payload = self.plans.unseal(plan_id, kind=FLEET_KIND)
        vmids = plan_vmids(payload)
        pools = {}
        if self.policy.pools:
            pools = {int(guest["vmid"]): guest.get("pool") for guest in self.guests()}
        check_allowed(self.policy, vmids, pools)
        return FleetJob(
            tuple(vmids),
            apply_args(payload),
            False,
            payload=payload,
            destroys=payload["destroys"],
            expires_at=expires_text(payload["exp"]),
        )

    def planned(self, job: FleetJob, result: Mapping[str, Any]) -> dict[str, Any]:
        """The check run's result with the signed plan of the guests that would change."""
        guests = list(result.get("guests") or [])
        payload = plan_payload(job.chosen, guests, job.module_args["parallel"], job.module_args["per_node"])
        plan_id = expires_at = None
        if payload is not None:
            plan_id, expires_at = self.plans.seal(payload)
        destroys = {} if payload is None else payload["destroys"]
        for guest in guests:
            guest["destroys"] = destroys.get(str(guest.get("vmid")), [])
        counts = totals(guests, check=True)
        vmids = [] if payload is None else plan_vmids(payload)
        summary = (
            f"[dry run, nothing written] {counts['changed']} of {counts['guests']} guests would change"
            f" ({counts['reboots']} predicted to need a reboot), {counts['unchanged']} already as requested"
            + (f", {counts['failed']} failed" if counts["failed"] else "")
            + (f"; destroys volumes on {len(destroys)} guests" if destroys else "")
            + (f"; plan_id for guests {_vmid_list(vmids)}, expires {expires_at}" if plan_id else "; nothing to apply")
        )
        return {
            **result,
            "dry_run": True,
            "guests": guests,
            "totals": counts,
            "plan_id": plan_id,
            "expires_at": expires_at,
            "vmids": vmids,
            "predicted_reboots": [g["vmid"] for g in guests if g.get("pending_predicted") and g.get("changed")],
            "destroys": destroys,
            "summary": summary,
        }

    @staticmethod
    def applied(job: FleetJob, result: Mapping[str, Any]) -> dict[str, Any]:
        """The run's result with its totals and the guests refused because their config changed since the plan."""
        guests = list(result.get("guests") or [])
        counts = totals(guests, check=False)
        refused = [g["vmid"] for g in guests if is_refused_for_digest(g)]
        others = [g for g in guests if g.get("failed") and g["vmid"] not in refused]
        summary = (
            f"{counts['changed']} of {counts['guests']} planned guests changed"
            f" ({counts['reboots']} with keys pending until a reboot)"
            + (f"; refused, config changed since the plan: {_vmid_list(refused)}" if refused else "")
            + ("; failed: " + "; ".join(f"{g['vmid']}: {g.get('msg')}" for g in others[:3]) if others else "")
        )
        return {**result, "guests": guests, "totals": counts, "refused": refused, "summary": summary}


def _vmid_list(vmids: Sequence[int]) -> str:
    shown = ", ".join(map(str, vmids[:20]))
    return shown + (f" and {len(vmids) - 20} more" if len(vmids) > 20 else "")


__all__ = ["FleetCalls", "FleetJob", "PlanInvalid", "SelectionError"]
