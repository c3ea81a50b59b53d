"""cgroup: cpuunits as PVE::CGroup::clamp_cpu_shares stores it, and the node's cgroup-mode from /cluster/resources."""

import pytest
from harness import requests_made, url
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils.cgroup import (
    clamp_cpu_shares,
    kept_everywhere,
    node_cgroup_mode,
)


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
