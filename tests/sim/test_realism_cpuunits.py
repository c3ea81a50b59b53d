"""cgroup v2: the update APIs cap cpuunits at 10000 before writing (values
below are kept, 0 included: "v2 can be lower") (PVE::CGroup::clamp_cpu_shares in
qemu-server API2/Qemu.pm $update_vm_api and pve-container API2/LXC/Config.pm update_vm)."""

import pytest

from pve_sim.testing import proxmox_client


@pytest.mark.parametrize(("asked", "stored"), [(262144, 10000), (10000, 10000), (1, 1), (100, 100)])
def test_vm_cpuunits_are_clamped(realism, asked, stored):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(101)
    vm.config.put(cpuunits=asked)
    assert vm.config.get()["cpuunits"] == stored


@pytest.mark.parametrize(("asked", "stored"), [(500000, 10000), (2048, 2048), (0, 0)])
def test_container_cpuunits_are_clamped(realism, asked, stored):
    api = proxmox_client(realism)
    ct = api.nodes("pve2").lxc(201)
    ct.config.put(cpuunits=asked)
    assert ct.config.get()["cpuunits"] == stored


def test_above_the_schema_maximum_is_a_parameter_error_and_writes_nothing(realism):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(101)
    digest = vm.config.get()["digest"]
    with pytest.raises(Exception) as exc:
        vm.config.put(cpuunits=262145)
    assert exc.value.status_code == 400
    assert vm.config.get()["digest"] == digest
