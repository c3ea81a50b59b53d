"""Issue 9.12: every module checks ``node`` (pve-node format) and ``vmid`` before it sends anything."""

import pytest
from harness import requests_made, run_module

MODULES = ["vm_resources", "container_resources", "vm_disk", "vm_nic", "container_nic", "guest_info"]


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("node", ["pve1/qemu/100/../../../../access", "pve1/../access", "pve1%2F..", "pve-"])
def test_a_node_that_is_not_a_node_name_fails_before_any_request(api, module, node):
    result, failed = run_module(module, dict(vmid=100, node=node))
    assert failed
    assert result["msg"].startswith(f"node {node!r} is not a Proxmox node name (")
    assert requests_made(api) == []
    if module != "guest_info":
        assert result["msg"].endswith("; nothing was changed") and result["changed"] is False


@pytest.mark.parametrize("module", MODULES)
def test_a_vmid_outside_the_pve_vmid_range_fails_before_any_request(api, module):
    result, failed = run_module(module, dict(vmid=-5, node="pve1"))
    assert failed and result["msg"].startswith("vmid -5 is not a Proxmox VM ID (100 to 999999999)")
    assert requests_made(api) == []
