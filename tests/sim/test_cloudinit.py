"""Cloud-init: the drive, the ``[special:cloudinit]`` record of changes and ``GET``/``PUT .../cloudinit``
(qemu-server API2/Qemu.pm cloudinit_pending / cloudinit_update, QemuServer.pm vmconfig_hotplug_pending)."""

import pytest
from proxmoxer import ResourceException


def with_cloudinit_drive(sim, api, vmid=100, node="pve1", **config):
    """Attach ``ide2: local-lvm:cloudinit`` (and ``config``) while the VM is stopped, then start it again."""
    sim.simulator.set_guest_status(vmid, "stopped")
    api.nodes(node).qemu(vmid).config.put(ide2="local-lvm:cloudinit", **config)
    sim.simulator.set_guest_status(vmid, "running")
    return api.nodes(node).qemu(vmid)


def volumes(sim, vmid):
    return {
        volid: vol["size"]
        for volid, vol in sim.simulator.dump_state()["storages"]["pve1"]["local-lvm"]["volumes"].items()
        if vol["vmid"] == vmid
    }


def test_cloudinit_drive_is_a_4mib_cdrom_volume(sim, sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(ide2="local-lvm:cloudinit")
    assert vm.config.get()["ide2"] == "local-lvm:vm-101-cloudinit,media=cdrom"
    assert volumes(sim, 101)["local-lvm:vm-101-cloudinit"] == 4 * 1024 * 1024


def test_second_cloudinit_drive_is_refused(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(ide2="local-lvm:cloudinit")
    with pytest.raises(ResourceException) as exc:
        vm.config.put(ide0="local-lvm:cloudinit")
    assert exc.value.content == "ide0 - cloud-init drive is already attached at 'ide2'"
    assert "ide0" not in vm.config.get()


def test_running_vm_records_added_changed_and_deleted_cloudinit_keys(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, ciuser="alice", nameserver="10.0.0.1")
    assert sorted(vm.cloudinit.get(), key=lambda i: i["key"]) == [
        {"key": "ciuser", "value": "alice"},
        {"key": "nameserver", "value": "10.0.0.1"},
    ]
    vm.config.put(ciuser="bob", searchdomain="example.org", delete="nameserver")
    assert vm.pending.get()[-1]["key"] == "digest"  # cloud-init keys are fast-plugged: nothing pending
    assert [i for i in vm.pending.get() if "pending" in i or "delete" in i] == []
    assert sorted(vm.cloudinit.get(), key=lambda i: i["key"]) == [
        {"key": "ciuser", "value": "alice", "pending": "bob"},
        {"key": "nameserver", "delete": 1},
        {"key": "searchdomain", "pending": "example.org"},
    ]
    assert sim.simulator.dump_state()["guests"]["100"]["cloudinit"] == {
        "added": "searchdomain",
        "ciuser": "alice",
        "nameserver": "10.0.0.1",
    }


def test_reverting_a_value_clears_its_record(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, ciuser="alice")
    vm.config.put(ciuser="bob")
    vm.config.put(ciuser="alice")
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "alice"}]


def test_put_cloudinit_regenerates_and_changes_the_digest(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, ciuser="alice")
    vm.config.put(ciuser="bob")
    digest = vm.config.get()["digest"]
    assert vm.cloudinit.put() is None
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "bob"}]
    assert vm.config.get()["digest"] != digest
    assert sim.simulator.dump_state()["guests"]["100"]["cloudinit"] is None


def test_put_cloudinit_without_a_drive_changes_nothing(sim, sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(ciuser="bob")
    digest = vm.config.get()["digest"]
    assert vm.cloudinit.put() is None
    assert vm.config.get()["digest"] == digest
    # without a cloud-init drive the section is not written (write_vm_config)
    assert sim.simulator.dump_state()["guests"]["100"]["cloudinit"] is None


def test_put_cloudinit_is_refused_on_a_locked_vm(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, ciuser="alice")
    vm.config.put(ciuser="bob")
    sim.simulator.lock_guest(100, "backup")
    with pytest.raises(ResourceException) as exc:
        vm.cloudinit.put()
    assert exc.value.content == "VM is locked (backup)"
    sim.simulator.unlock_guest(100)
    assert {"key": "ciuser", "value": "alice", "pending": "bob"} in vm.cloudinit.get()


def test_stopped_vm_records_nothing(sim, sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(ide2="local-lvm:cloudinit", ciuser="alice")
    vm.config.put(ciuser="bob")
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "bob"}]


def test_hotplug_cloudinit_feature_regenerates_at_once(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, ciuser="alice", hotplug="network,disk,cloudinit")
    vm.config.put(ciuser="bob")
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "bob"}]


def test_changed_ipconfig_is_not_listed_but_recorded(sim, sim_api):
    """API2/Qemu.pm cloudinit_pending walks $cloudinitoptions, which has no ipconfigN: a changed one is
    recorded (and regenerated) but not listed; an added one is."""
    vm = with_cloudinit_drive(sim, sim_api, ipconfig0="ip=dhcp")
    vm.config.put(ipconfig0="ip=10.0.0.5/24,gw=10.0.0.1", ipconfig1="ip=dhcp")
    assert vm.cloudinit.get() == [{"key": "ipconfig1", "pending": "ip=dhcp"}]
    assert sim.simulator.dump_state()["guests"]["100"]["cloudinit"] == {"added": "ipconfig1", "ipconfig0": "ip=dhcp"}


def test_starting_the_vm_regenerates(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, ciuser="alice")
    vm.config.put(ciuser="bob")
    sim.simulator.set_guest_status(100, "stopped")
    sim.simulator.set_guest_status(100, "running")
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "bob"}]


def test_cloudinit_get_masks_the_password(sim, sim_api):
    vm = with_cloudinit_drive(sim, sim_api, cipassword="s3cret")
    vm.config.put(cipassword="other")
    assert vm.cloudinit.get() == [{"key": "cipassword", "value": "**********"}]
