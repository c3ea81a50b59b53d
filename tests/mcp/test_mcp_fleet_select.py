"""fleet_select.py and fleet_plan.py without a cluster: which guests a fleet call chooses (the collection's own
selection code), the allow-list check naming every guest refused, and what a plan pins and sends."""

from __future__ import annotations

import pytest

from mcp_bridge.collection import collections_root
from mcp_bridge.config import BridgeSettings
from mcp_bridge.fleet_plan import apply_args, plan_payload, plan_vmids, totals
from mcp_bridge.fleet_select import SelectionError, check_allowed, choose, load_selector
from mcp_bridge.policy import Policy, PolicyError

ROWS = [
    {"vmid": 100, "node": "pve1", "type": "qemu", "name": "web01", "status": "running", "tags": "web;prod"},
    {"vmid": 101, "node": "pve1", "type": "qemu", "name": "db01", "status": "stopped", "pool": "db"},
    {"vmid": 102, "node": "pve2", "type": "qemu", "name": "web02", "status": "running", "tags": "web"},
    {"vmid": 103, "node": "pve2", "type": "qemu", "name": "tpl", "template": 1, "tags": "web"},
    {"vmid": 200, "node": "pve1", "type": "lxc", "name": "dns01", "status": "running", "tags": "web"},
    {"id": "storage/pve1/local", "type": "storage"},
]
SELECTOR = load_selector(collections_root())


def listed(rows):
    """The guests as guest_info lists them from these /cluster/resources rows (its list_guests)."""
    return SELECTOR.cluster_guests(rows, include_templates=True)


def chosen(**kwargs):
    kwargs.setdefault("select", None)
    kwargs.setdefault("entries", None)
    return choose(SELECTOR, listed(ROWS), config=kwargs.pop("config", {"memory": 1}), absent=[], **kwargs)


def test_select_chooses_as_the_module_does_templates_never():
    assert [c.vmid for c in chosen(select={"tags": ["web"]})] == [100, 102, 200]
    assert [c.vmid for c in chosen(select={"tags": ["web"], "types": ["qemu"], "nodes": ["pve2"]})] == [102]
    assert [c.vmid for c in chosen(select={"pools": ["db"], "tags": None})] == [101]
    assert chosen(select={"names": ["dns01"]})[0].guest_type == "lxc"


def test_guests_entries_by_vmid_and_name_keep_their_order_and_change():
    entries = [{"name": "dns01", "config": {"swap": 0}, "absent": []}, {"vmid": 101, "config": {}, "absent": ["x"]}]
    result = chosen(entries=entries)
    assert [(c.vmid, c.config, c.absent, c.pool) for c in result] == [
        (200, {"swap": 0}, [], None),
        (101, {}, ["x"], "db"),
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"select": {"tags": ["none"]}}, "select chose no guest; nothing was run"),
        ({"select": {"types": ["vm"]}}, "select.types: vm is not qemu or lxc; nothing was run"),
        ({"entries": [{"vmid": 103}]}, "guests entry 1: no guest (templates excluded) with vmid 103"),
        ({"entries": [{"name": "nobody"}]}, "guests entry 1: no guest (templates excluded) with name 'nobody'"),
        ({"entries": [{"vmid": 100}, {"name": "web01"}]}, "guests entry 2: guest 100 is listed twice"),
    ],
)
def test_a_selection_that_cannot_be_resolved_is_refused(kwargs, message):
    with pytest.raises(SelectionError) as exc:
        chosen(**kwargs)
    assert str(exc.value).startswith(message), str(exc.value)


def test_two_guests_with_one_name_are_refused():
    rows = ROWS + [{"vmid": 300, "node": "pve2", "type": "qemu", "name": "web01"}]
    with pytest.raises(SelectionError, match="guests entry 1: 2 guests with name 'web01'"):
        choose(SELECTOR, listed(rows), select=None, entries=[{"name": "web01"}], config={}, absent=[])


def test_the_allow_list_is_checked_for_every_guest_and_names_all_refused():
    policy = Policy.from_settings(BridgeSettings(vmids=["100-101"], pools=["lab"]))
    check_allowed(policy, [100, 101, 300], {300: "lab"})
    with pytest.raises(PolicyError) as exc:
        check_allowed(policy, [100, 102, 200, 300], {200: "prod", 300: "lab"})
    assert str(exc.value) == "guests 102, 200 are not in the bridge's allow-list of guests; nothing was run"
    with pytest.raises(PolicyError, match="^guest 102 is not"):
        check_allowed(policy, [102], {})
    check_allowed(Policy(), [1, 2, 3], {})  # no allow-list: every guest


def test_a_plan_pins_the_guests_that_would_change_with_their_digests():
    guests = chosen(select={"tags": ["web"]}, config={"description": "x"})
    results = [
        {"vmid": 100, "changed": True, "digest": "d100", "steps": [{"action": "set", "keys": ["description"]}]},
        {"vmid": 102, "changed": False, "digest": "d102"},
        {"vmid": 200, "changed": True, "failed": True, "msg": "locked"},
    ]
    payload = plan_payload(guests, results, parallel=5, per_node=2)
    assert plan_vmids(payload) == [100] and payload["purge"] is False
    assert apply_args(payload) == {
        "guests": [{"vmid": 100, "if_digest": "d100", "config": {"description": "x"}, "absent": []}],
        "purge": False,
        "parallel": 5,
        "per_node": 2,
        "max_fail_percentage": 100,
    }
    assert plan_payload(guests, results[1:], parallel=5, per_node=2) is None, "nothing would change: no plan"
    assert totals(results, check=True) == {"guests": 3, "changed": 2, "unchanged": 1, "failed": 1, "reboots": 0}


def test_purge_only_when_the_plan_destroys_a_volume():
    guests = choose(
        SELECTOR, listed(ROWS), select=None, entries=[{"vmid": 101, "absent": ["scsi1"]}], config={}, absent=[]
    )
    steps = [{"action": "delete", "keys": ["scsi1"]}, {"action": "purge", "keys": ["scsi1"]}]
    payload = plan_payload(guests, [{"vmid": 101, "changed": True, "digest": "d", "steps": steps}], 10, 4)
    assert payload["destroys"] == {"101": ["scsi1"]} and apply_args(payload)["purge"] is True
