"""A plan as plain text: the facts the App view (plan_view.html) shows, for hosts that do not render MCP Apps and for
the model. plan_guest_config: per-key before -> after, keys predicted to stay pending until a reboot, volumes
destroyed, the steps, the config digest and the expiry; plan_fleet_config: the totals and one block per guest.
The words match the view's ("(not set)", "(removed)", "pending until a reboot") so both read the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def changes(diff: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """(key, before, after) of every key the diff names, sorted; "(not set)" / "(removed)" for a missing side."""
    before, after = dict((diff or {}).get("before") or {}), dict((diff or {}).get("after") or {})
    return [
        (key, shown(before[key]) if key in before else "(not set)", shown(after[key]) if key in after else "(removed)")
        for key in sorted({*before, *after})
    ]


def steps_text(steps: Sequence[Mapping[str, Any]] | None) -> str:
    return "; ".join(
        f"{n}. {step.get('action')} {', '.join(step.get('keys') or [])}" for n, step in enumerate(steps or (), 1)
    )


def validity(result: Mapping[str, Any]) -> str:
    if result.get("plan_id"):
        return f"nothing written; valid until {result.get('expires_at')}"
    return "nothing written; nothing to apply"


def guest_plan_text(result: Mapping[str, Any]) -> str:
    kind = {"qemu": "VM", "lxc": "CT"}.get(str(result.get("guest_type")), "guest")
    where = f" on node {result['node']}" if result.get("node") else ""
    pending = list(result.get("pending_predicted") or [])
    destroys = list(result.get("destroys") or [])
    lines = [
        f"Plan for {kind} {result.get('vmid')}{where} ({validity(result)}); "
        f"computed from config digest {result.get('digest')}"
    ]
    rows = changes(result.get("diff"))
    if not result.get("changed"):
        lines.append("No change: the guest already has this config.")
    if rows:
        lines.append("Changes (before -> after):")
    for key, before, after in rows:
        notes = ["pending until a reboot"] * (key in pending) + ["destroys its volume"] * (key in destroys)
        lines.append(f"  {key}: {before} -> {after}" + "".join(f" [{note}]" for note in notes))
    if pending:
        lines.append(
            f"Predicted reboot: {', '.join(pending)} stay pending until the guest is rebooted (the tools never reboot)."
        )
    if destroys:
        volumes = list(result.get("destroyed_volumes") or [])
        lines.append(
            f"Destroys the volumes of {', '.join(destroys)}"
            + (f" ({', '.join(volumes)})" if volumes else "")
            + ": applying needs the user's confirmation."
        )
    if result.get("steps"):
        lines.append(f"Steps: {steps_text(result['steps'])}")
    lines.extend(f"warning: {w}" for w in result.get("warnings") or [])
    return "\n".join(lines)


def fleet_plan_text(result: Mapping[str, Any]) -> str:
    totals = result.get("totals") or {}
    lines = [
        f"Fleet plan: {totals.get('changed')} of {totals.get('guests')} guests would change ({validity(result)})"
        + (f"; applies to guests {', '.join(map(str, result.get('vmids') or []))}" if result.get("plan_id") else ""),
        f"Totals: {totals.get('guests')} guests, {totals.get('changed')} would change, {totals.get('unchanged')} "
        f"unchanged, {totals.get('failed')} failed, {totals.get('reboots')} predicted reboots",
    ]
    if result.get("predicted_reboots"):
        guests = ", ".join(map(str, result["predicted_reboots"]))
        lines.append(f"Predicted reboot: guests {guests} keep keys pending until they are rebooted.")
    destroys = result.get("destroys") or {}
    if destroys:
        each = "; ".join(f"guest {vmid}: {', '.join(keys)}" for vmid, keys in destroys.items())
        lines.append(f"Destroys volumes: {each}. Applying needs the user's confirmation.")
    for guest in result.get("guests") or []:
        status = "failed" if guest.get("failed") else "would change" if guest.get("changed") else "unchanged"
        about = " ".join(str(guest[k]) for k in ("name",) if guest.get(k))
        where = ", ".join(str(guest[k]) for k in ("guest_type", "node") if guest.get(k))
        head = f"Guest {guest.get('vmid')}" + (f" {about}" if about else "") + (f" ({where})" if where else "")
        lines.append(f"{head}: {status}" + (f"; digest {guest['digest']}" if guest.get("digest") else ""))
        if guest.get("failed"):
            lines.append(f"  {guest.get('msg')}")
            continue
        lines.extend(f"  {key}: {before} -> {after}" for key, before, after in changes(guest.get("diff")))
        if guest.get("steps"):
            lines.append(f"  steps: {steps_text(guest['steps'])}")
        if guest.get("pending_predicted"):
            lines.append(f"  reboot: {', '.join(guest['pending_predicted'])}")
        if guest.get("destroys"):
            lines.append(f"  destroys: {', '.join(guest['destroys'])}")
    return "\n".join(lines)


def plan_text(mode: str, result: Mapping[str, Any]) -> str | None:
    """The text of a plan tool's result (ToolSpec.mode "plan" / "fleet_plan"); None for the other tools."""
    if mode == "plan":
        return guest_plan_text(result)
    if mode == "fleet_plan":
        return fleet_plan_text(result)
    return None
