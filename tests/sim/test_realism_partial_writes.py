"""Realism: a failed QEMU update leaves what it already wrote - [PENDING] entries and allocated volumes -
as qemu-server's $update_vm_api writes the config per option and vmconfig_hotplug_pending only collects errors."""

import pytest
import requests
from proxmoxer.core import ResourceException

from pve_sim.testing import proxmox_client


def test_failed_disk_hotplug_leaves_the_pending_disk_and_its_volume(realism, wait):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(100)  # running
    realism.simulator.hotplug_fault(100, key="scsi1", message="VM 100 qmp command 'device_add' failed - no slot")
    with pytest.raises(ResourceException) as exc:
        vm.config.put(scsi1="local-lvm:2", cores=4)
    assert exc.value.status_code == 400
    assert exc.value.errors == {"scsi1": "hotplug problem - VM 100 qmp command 'device_add' failed - no slot\n"}
    pending = {p["key"]: p for p in vm.pending.get()}
    assert pending["scsi1"]["pending"] == "local-lvm:vm-100-disk-1,size=2G"
    assert "value" not in pending["scsi1"]
    assert pending["cores"] == {"key": "cores", "value": 2, "pending": 4}  # not hot-pluggable without cpu hotplug
    volumes = [v["volid"] for v in api.nodes("pve1").storage("local-lvm").content.get(vmid=100)]
    assert "local-lvm:vm-100-disk-1" in volumes


def test_failed_nic_hotplug_over_post_fails_the_task_and_leaves_the_nic_pending(realism, wait):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(100)
    realism.simulator.hotplug_fault(100, key=r"net\d+")
    status = wait(api, "pve1", vm.config.post(net1="virtio,bridge=vmbr1"))
    assert status["exitstatus"].startswith("400 Parameter verification failed. net1: hotplug problem - VM 100 qmp")
    pending = {p["key"]: p for p in vm.pending.get()}
    assert pending["net1"]["pending"].startswith("virtio=BC:24:11:")
    # the fault was used once: the next try plugs the NIC
    wait(api, "pve1", vm.config.post(net1=pending["net1"]["pending"]))
    assert "pending" not in {p["key"]: p for p in vm.pending.get()}["net1"]


def test_a_die_halfway_keeps_the_options_written_before_it(realism):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(101)  # stopped
    with pytest.raises(ResourceException) as exc:
        # the first disk is allocated and written to [PENDING], the second does not fit on the storage
        vm.config.put(scsi2="local-lvm:4", scsi3="local-lvm:100000")
    assert "not enough free space on storage 'local-lvm'" in str(exc.value)
    conf = vm.config.get()
    assert conf.get("scsi2") == "local-lvm:vm-101-disk-2,size=4G"
    assert "scsi3" not in conf


def test_without_realism_the_same_failure_changes_nothing(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    digest = vm.config.get()["digest"]
    with pytest.raises(ResourceException):
        vm.config.put(scsi2="local-lvm:4", scsi3="local-lvm:100000")
    assert vm.config.get()["digest"] == digest


def test_bad_hotplug_fault_specs_are_refused(realism):
    for spec, error in [
        ({"key": "scsi1"}, "'hotplug' needs at least 'vmid'"),
        ({"vmid": 100, "key": "("}, "'key' is not a valid regex"),
        ({"vmid": 999}, "no guest 999 in the simulator"),
    ]:
        resp = requests.post(realism.url + "/_sim/faults", json={"hotplug": spec}, verify=realism.ca_path, timeout=10)
        assert resp.status_code == 400 and resp.json()["error"].startswith(error), resp.json()
    assert realism.simulator.faults.dump()["hotplug"] == []


def lxc_volumes(api):
    return sorted(v["volid"] for v in api.nodes("pve2").storage("local-lvm").content.get(vmid=201))


def test_container_update_with_errors_writes_no_config_but_leaves_the_new_volume(realism):
    api = proxmox_client(realism)
    ct = api.nodes("pve2").lxc(201)  # stopped: pending changes are applied at once
    digest = ct.config.get()["digest"]
    with pytest.raises(ResourceException) as exc:
        ct.config.put(mp0="local-lvm:1,mp=/a", mp1="local-lvm:100000,mp=/b")
    assert exc.value.status_code == 400 and set(exc.value.errors) == {"mp1"}
    assert ct.config.get()["digest"] == digest  # "don't write to config if we get any errors"
    assert lxc_volumes(api) == ["local-lvm:vm-201-disk-0", "local-lvm:vm-201-disk-1"]  # mp0's, referenced nowhere


def test_without_realism_the_container_volume_is_rolled_back_too(sim_api):
    with pytest.raises(ResourceException):
        sim_api.nodes("pve2").lxc(201).config.put(mp0="local-lvm:1,mp=/a", mp1="local-lvm:100000,mp=/b")
    assert lxc_volumes(sim_api) == ["local-lvm:vm-201-disk-0"]
