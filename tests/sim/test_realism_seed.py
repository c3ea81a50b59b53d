"""Realism seed: VMs written by a newer PVE (cpu guest-phys-bits/level, net host-tunnel) and a volume a
snapshot still holds; the guests of the ideal seed are unchanged."""

import pytest
import requests
from proxmoxer.core import ResourceException

from pve_sim.testing import proxmox_client


def test_newer_sub_keys_are_served_as_stored(realism):
    api = proxmox_client(realism)
    edge = api.nodes("pve1").qemu(110).config.get()
    ci = api.nodes("pve2").qemu(111).config.get()
    assert (edge["cpu"], edge["net0"]) == (
        "host,guest-phys-bits=40",
        "virtio=BC:24:11:00:01:10,bridge=vmbr0,firewall=1,host-tunnel=1",
    )
    assert (ci["cpu"], ci["net0"]) == ("x86-64-v3,level=13", "virtio=BC:24:11:00:01:11,bridge=vmbr0,host-tunnel=0")


def test_writing_them_back_with_one_sub_key_changed_keeps_the_others(realism, wait):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(110)  # running: a bridge change is applied at once
    wait(api, "pve1", vm.config.post(net0="virtio=BC:24:11:00:01:10,bridge=vmbr1,firewall=1,host-tunnel=1"))
    vm.config.put(cpu="host,guest-phys-bits=42")
    conf = vm.config.get()
    assert conf["net0"] == "virtio=BC:24:11:00:01:10,bridge=vmbr1,firewall=1,host-tunnel=1"
    assert conf["cpu"] == "host,guest-phys-bits=42"


def test_a_sub_key_no_pve_knows_is_still_refused(realism):
    api = proxmox_client(realism)
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve1").qemu(110).config.put(net0="virtio=BC:24:11:00:01:10,bridge=vmbr0,warp-drive=1")
    assert exc.value.status_code == 400
    assert exc.value.errors == {"net0": "invalid format - invalid key in comma-separated list property: warp-drive\n"}


def test_the_ideal_seed_guests_are_the_same_with_realism(realism, sim_api):
    with_realism = proxmox_client(realism)
    assert sorted(g["vmid"] for g in with_realism.nodes("pve1").qemu.get()) == [100, 101, 110]
    assert with_realism.nodes("pve1").qemu(100).config.get()["cpu"] == "x86-64-v2-AES"
    assert with_realism.cluster.nextid.get() == "103"


def test_unused_volume_held_by_a_snapshot_cannot_be_deleted(realism, wait):
    api = proxmox_client(realism)
    vm = api.nodes("pve2").qemu(111)
    digest = vm.config.get()["digest"]
    with pytest.raises(ResourceException) as exc:
        vm.config.put(delete="unused0")
    # qemu-server QemuServer.pm try_deallocate_drive
    assert exc.value.content == "unable to delete 'ceph-rbd:vm-111-disk-1' - volume is still in use (snapshot?)"
    conf = vm.config.get()
    assert (conf["unused0"], conf["digest"]) == ("ceph-rbd:vm-111-disk-1", digest)
    status = wait(api, "pve2", vm.config.post(delete="unused0"))
    assert status["exitstatus"] == "unable to delete 'ceph-rbd:vm-111-disk-1' - volume is still in use (snapshot?)"
    volumes = [v["volid"] for v in api.nodes("pve2").storage("ceph-rbd").content.get(vmid=111)]
    assert "ceph-rbd:vm-111-disk-1" in volumes


def test_the_snapshot_config_is_readable(realism):
    api = proxmox_client(realism)
    snap = api.nodes("pve2").qemu(111).config.get(snapshot="before-upgrade")
    assert snap["scsi1"] == "ceph-rbd:vm-111-disk-1,iothread=1,size=10G"
    assert api.nodes("pve2").qemu(111).config.get()["parent"] == "before-upgrade"
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve2").qemu(111).config.get(snapshot="nope")
    assert exc.value.content == "snapshot 'nope' does not exist"


def test_the_state_dump_shows_realism_pvestatd_and_snapshots(realism):
    realism.simulator.pvestatd_tick()
    state = requests.get(realism.url + "/_sim/state", verify=realism.ca_path, timeout=10).json()
    assert state["realism"] is True
    assert state["pvestatd"]["interval"] is None and state["pvestatd"]["rrd"]["110"] == {
        "name": "edge01",
        "status": "running",
    }
    assert list(state["guests"]["111"]["snapshots"]) == ["before-upgrade"]
