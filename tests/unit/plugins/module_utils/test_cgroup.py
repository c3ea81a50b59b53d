"""cgroup: cpuunits as PVE::CGroup::clamp_cpu_shares stores it, and the node's cgroup-mode from /cluster/resources."""

import pytest
from harness import requests_made, url
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils.apply import Context
from ansible_collections.pve.config.plugins.module_utils.cgroup import (
    MEMORY_KEY,
    clamp_cpu_shares,
    guest_node_mode,
    kept_everywhere,
    needs_cgroup_mode,
    node_cgroup_mode,
    stored_cpuunits,
)
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, GuestState


@pytest.mark.parametrize(
    "shares, mode, stored",
    [
        (262144, 2, 10000),  # "$shares = 10000 if $shares >= 10000"
        (500000, 2, 10000),
        (10001, 2, 10000),
        (10000, 2, 10000),
        (1, 2, 1),  # no lower clamp on v2
        (0, 2, 0),
        (1, 1, 2),  # "$shares = 2 if $shares < 2"
        (0, 1, 2),
        (262144, 1, 262144),  # no upper clamp on v1
        (100, 1, 100),
    ],
)
def test_clamp_cpu_shares(shares, mode, stored):
    assert clamp_cpu_shares(shares, mode) == stored


@pytest.mark.parametrize("shares, kept", [(2, True), (100, True), (10000, True), (1, False), (10001, False)])
def test_kept_everywhere(shares, kept):
    assert kept_everywhere(shares) is kept


NODE_ROWS = {
    "data": [
        {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online", "cgroup-mode": 2},
        {"id": "node/pve2", "type": "node", "node": "pve2", "status": "online", "cgroup-mode": 1},
        {"id": "node/pve3", "type": "node", "node": "pve3", "status": "online"},  # pvestatd has not broadcast it yet
    ]
}


@pytest.mark.parametrize("node, mode", [("pve1", 2), ("pve2", 1), ("pve3", 2), ("pve9", 2)])
def test_node_cgroup_mode_reads_the_node_row(api, pve, node, mode):
    api.get(url("cluster/resources"), json=NODE_ROWS, match=[matchers.query_param_matcher({"type": "node"})])
    assert node_cgroup_mode(pve, node) == mode
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "node"})]


@pytest.mark.parametrize(
    "params, needed",
    [({}, False), ({"cpuunits": None}, False), ({"cpuunits": 2}, False), ({"cpuunits": 10000}, False)]
    + [({"cpuunits": 1}, True), ({"cpuunits": 0}, True), ({"cpuunits": 20000}, True)],
)
def test_needs_cgroup_mode_only_outside_what_every_cgroup_keeps(params, needed):
    assert needs_cgroup_mode(params) is needed


def context(pve, node_info, memory=None):
    guest = Guest(100, "pve1", "qemu", node_info=node_info)
    return Context(pve, guest, {}, GuestState({}, {}, {}, "d1"), dict(memory or {}))


@pytest.mark.parametrize("node_info, mode", [({"type": "node", "node": "pve1", "cgroup-mode": 1}, 1), ({}, 2)])
def test_the_node_row_of_the_lookup_answers_without_a_request(api, pve, node_info, mode):
    assert guest_node_mode(context(pve, node_info)) == mode
    assert requests_made(api) == []


def test_without_the_row_the_node_rows_are_read_once_per_run(api, pve):
    api.get(url("cluster/resources"), json=NODE_ROWS, match=[matchers.query_param_matcher({"type": "node"})])
    stored = stored_cpuunits(context(pve, None), 20000)
    assert (stored.value, stored.remember) == (10000, {MEMORY_KEY: 2})
    assert guest_node_mode(context(pve, None, memory=stored.remember)) == 2  # a re-plan: remembered
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "node"})]
