"""tags are stored as pve-guest-common's get_unique_tags leaves them (default tag-style: lowercased, sorted
case-insensitively, duplicates dropped, ';'-joined), for VMs and containers."""

import pytest


@pytest.mark.parametrize(
    ("asked", "stored"),
    [("web;Prod;web", "prod;web"), ("B,a c", "a;b;c"), ("Zeta;alpha;ALPHA", "alpha;zeta")],
)
def test_vm_and_container_tags_are_normalised(sim_api, asked, stored):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(tags=asked)
    assert vm.config.get()["tags"] == stored
    ct = sim_api.nodes("pve2").lxc(201)
    ct.config.put(tags=asked)
    assert ct.config.get()["tags"] == stored
