"""Issue 9.12: every module checks ``node`` (pve-node format) and ``vmid`` before it sends anything."""

import pytest
from harness import pending, requests_made, resources, run_module, url, writes

MODULES = [
    "vm_resources",
    "container_resources",
    "vm_disk",
    "vm_nic",
    "container_nic",
    "container_mountpoint",
    "guest_info",
]


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("node", ["pve1/qemu/100/../../../../access", "pve1/../access", "pve1%2F..", "pve-"])
def test_a_node_that_is_not_a_node_name_fails_before_any_request(api, module, node):
    result, failed = run_module(module, dict(vmid=100, node=node))
    assert failed
    assert result["msg"].startswith(f"node {node!r} is not a Proxmox node name (")
    assert requests_made(api) == []
    assert_outcome_told(module, result)


def assert_outcome_told(module, result):
    """A changing module ends its error with the outcome, once; read-only guest_info says nothing of changes."""
    if module == "guest_info":
        assert "changed" not in result["msg"], result["msg"]
    else:
        assert result["msg"].endswith("; nothing was changed") and result["changed"] is False
        assert result["msg"].count("nothing was changed") == 1, result["msg"]


@pytest.mark.parametrize("module", MODULES)
def test_a_vmid_outside_the_pve_vmid_range_fails_before_any_request(api, module):
    result, failed = run_module(module, dict(vmid=-5, node="pve1"))
    assert failed and result["msg"].startswith("vmid -5 is not a Proxmox VM ID (100 to 999999999)")
    assert requests_made(api) == []
    assert_outcome_told(module, result)


def test_a_stale_name_in_the_resources_is_caught_on_the_first_read_and_looked_up_again(api):
    # VM 100 was renamed web01 -> old and VM 102 renamed -> web01; pvestatd has not caught up (issue 13.7)
    api.get(url("cluster/resources"), json=resources((100, "qemu", "pve1", "running", "web01"), (102, "qemu", "pve2")))
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending({"name": "old", "memory": "2048"}))
    api.get(url("nodes"), json={"data": [{"node": "pve1", "status": "online"}, {"node": "pve2", "status": "online"}]})
    api.get(url("nodes/pve1/qemu"), json={"data": [{"vmid": 100, "name": "old"}]})
    api.get(url("nodes/pve2/qemu"), json={"data": [{"vmid": 102, "name": "web01"}]})
    for node in ("pve1", "pve2"):
        api.get(url(f"nodes/{node}/lxc"), json={"data": []})
    api.get(url("nodes/pve2/qemu/102/pending"), json=pending({"name": "web01", "memory": "1024"}))
    api.put(url("nodes/pve2/qemu/102/config"), json={"data": None})
    api.get(url("nodes/pve2/qemu/102/pending"), json=pending({"name": "web01", "memory": "2048"}, digest="d2"))
    result, failed = run_module("vm_resources", dict(name="web01", memory=2048))
    assert not failed, result
    assert result["vmid"] == 102 and result["changed"] is True
    assert writes(api) == [("PUT", "/nodes/pve2/qemu/102/config", {"memory": "2048", "digest": "d1"})]


def test_a_name_that_matches_its_config_costs_two_gets(api):
    api.get(url("cluster/resources"), json=resources((100, "qemu", "pve1", "running", "web01")))
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending({"name": "web01", "memory": "2048"}))
    result, failed = run_module("vm_resources", dict(name="web01", memory=2048))
    assert not failed and result["changed"] is False
    assert len(requests_made(api)) == 2
