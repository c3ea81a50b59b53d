"""Which guests a fleet call touches, decided by the bridge before anything runs, and checked against its policy.

plan_fleet_config resolves `select` (or the `guests` entries' names) to an exact list of VMIDs from the cluster's
guests as ``pve.config.guest_info`` lists them (one run, one ``GET /cluster/resources?type=vm``; each guest is
``cluster_guests.guest_facts`` of its row), using the collection's own selection code
(``plugins/module_utils/cluster_guests.py``, imported from the collection the bridge runs: the `select` of a tool
call chooses exactly the guests the module's `select` would). The module then only ever gets that list (its
`guests` entries by vmid), so no guest outside it is read or written. Every chosen guest must pass the operator's
allow-list (VMIDs or pools, with the pools from the same list): otherwise the call is refused, naming each guest
not allowed, and nothing runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .policy import Policy, PolicyError

SELECTOR = "ansible_collections.pve.config.plugins.module_utils.cluster_guests"
SELECT_KEYS = (
    "tags",
    "pools",
    "nodes",
    "types",
    "names",
    "vmids",
)  # fleet_config's select keys (module_utils/fleet.py)


class SelectionError(ValueError):
    """A selection the bridge cannot resolve (an unknown or ambiguous name, no guest chosen); safe to show."""


def load_selector(root: Path) -> Any:
    """cluster_guests.py of the collection under `root` (a directory holding ``ansible_collections/pve/config``)."""
    if str(root) not in sys.path:
        sys.path.append(str(root))
    return importlib.import_module(SELECTOR)


@dataclass(frozen=True)
class Chosen:
    """One guest of a fleet call, and the change it gets."""

    vmid: int
    node: str | None
    guest_type: str
    name: str | None
    pool: str | None
    config: dict[str, Any]
    absent: list[str]


def choose(
    selector: Any,
    guests: Iterable[Mapping[str, Any]],
    *,
    select: Mapping[str, list[Any]] | None,
    entries: Sequence[Mapping[str, Any]] | None,
    config: Mapping[str, Any],
    absent: list[str],
) -> list[Chosen]:
    """The guests of a call: those `select` matches (templates never, as the module), or each `guests` entry
    found by vmid or name; SelectionError for an entry no guest (or more than one) answers to. `guests`: guest_info's
    list (the facts of ``cluster_guests.guest_facts``, templates included)."""
    facts = sorted((dict(g) for g in guests if not g.get("template")), key=lambda g: g["vmid"])
    if select is not None:
        try:
            filters = selector.checked_filters(
                {k: v for k, v in select.items() if v is not None}, SELECT_KEYS, "select"
            )
        except Exception as exc:  # the collection's InvalidRequest: its message is safe to show
            raise SelectionError(f"{getattr(exc, 'msg', exc)}; nothing was run") from None
        chosen = [
            _chosen(f, config, absent)
            for f in facts
            if filters and selector.matches(f, filters)  # no filter chooses nothing, as the module refuses it
        ]
        if not chosen:
            raise SelectionError("select chose no guest; nothing was run")
        return chosen
    found, seen = [], set()
    for number, entry in enumerate(entries or (), 1):
        if entry.get("vmid") is not None:
            hits = [f for f in facts if f["vmid"] == entry["vmid"]]
            what = f"vmid {entry['vmid']}"
        else:
            hits = [f for f in facts if f["name"] == entry.get("name")]
            what = f"name {entry.get('name')!r}"
        if len(hits) != 1:
            reason = "no guest (templates excluded)" if not hits else f"{len(hits)} guests"
            raise SelectionError(f"guests entry {number}: {reason} with {what} in the cluster; nothing was run")
        if hits[0]["vmid"] in seen:
            raise SelectionError(f"guests entry {number}: guest {hits[0]['vmid']} is listed twice; nothing was run")
        seen.add(hits[0]["vmid"])
        found.append(_chosen(hits[0], entry.get("config") or {}, entry.get("absent") or []))
    return found


def _chosen(facts: Mapping[str, Any], config: Mapping[str, Any], absent: list[str]) -> Chosen:
    return Chosen(facts["vmid"], facts["node"], facts["type"], facts["name"], facts["pool"], dict(config), list(absent))


def check_allowed(policy: Policy, vmids: Iterable[int], pools: Mapping[int, str | None]) -> None:
    """Refuse unless every guest is in the allow-list (by VMID, or by its pool in `pools`), naming all the others."""
    refused = []
    for vmid in vmids:
        try:
            policy.check_guest(vmid, pools.get)
        except PolicyError:
            refused.append(vmid)
    if refused:
        raise PolicyError(
            f"guest{'s' if len(refused) > 1 else ''} {', '.join(map(str, refused))} "
            f"{'are' if len(refused) > 1 else 'is'} not in the bridge's allow-list of guests; nothing was run"
        )
