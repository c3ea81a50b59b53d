"""Disk allocation, unusedN, unlink, resize - through proxmoxer and task polling."""

import pytest
from proxmoxer.core import ResourceException

GiB = 1024**3


def volumes(api, node, vmid):
    return {v["volid"]: v["size"] for v in api.nodes(node).storage("local-lvm").content.get(vmid=vmid)}


def test_post_allocates_a_new_disk_in_a_qmconfig_task(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(101)
    upid = vm.config.post(scsi2="local-lvm:4,iothread=1")
    assert upid.startswith("UPID:pve1:") and upid.endswith(":qmconfig:101:root@pam!pve-config:")
    status = wait(sim_api, "pve1", upid)
    assert (
        status["status"],
        status["exitstatus"],
        status["type"],
        status["id"],
        status["user"],
        status["tokenid"],
    ) == ("stopped", "OK", "qmconfig", "101", "root@pam", "pve-config")
    log = sim_api.nodes("pve1").tasks(upid).log.get()
    assert log == [
        {"n": 1, "t": "update VM 101: -scsi2 local-lvm:4,iothread=1"},
        {"n": 2, "t": "scsi2: successfully created disk 'local-lvm:vm-101-disk-2,iothread=1,size=4G'"},
        {"n": 3, "t": "TASK OK"},
    ]
    assert vm.config.get()["scsi2"] == "local-lvm:vm-101-disk-2,iothread=1,size=4G"
    assert volumes(sim_api, "pve1", 101)["local-lvm:vm-101-disk-2"] == 4 * GiB


def test_fractional_size_and_sorted_sub_options(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(100)
    wait(sim_api, "pve1", vm.config.post(scsi1="local-lvm:0.5,ssd=1,discard=on,cache=writeback"))
    assert vm.config.get()["scsi1"] == "local-lvm:vm-100-disk-1,cache=writeback,discard=on,size=512M,ssd=1"


def test_put_also_allocates_synchronously(sim_api):
    ct_vm = sim_api.nodes("pve2").qemu(102)
    assert ct_vm.config.put(virtio1="local-lvm:2") is None
    assert ct_vm.config.get()["virtio1"] == "local-lvm:vm-102-disk-1,size=2G"


def test_lowest_free_disk_number_is_used(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(delete="scsi1")  # vm-101-disk-1 becomes unused0, stays on the storage
    wait(sim_api, "pve1", vm.config.post(scsi5="local-lvm:1"))
    conf = vm.config.get()
    assert conf["unused0"] == "local-lvm:vm-101-disk-1"
    assert conf["scsi5"] == "local-lvm:vm-101-disk-2,size=1G"


def test_delete_disk_moves_the_volume_to_unused(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(delete="scsi1")
    conf = vm.config.get()
    assert "scsi1" not in conf
    assert conf["unused0"] == "local-lvm:vm-101-disk-1"
    assert volumes(sim_api, "pve1", 101)["local-lvm:vm-101-disk-1"] == 100 * GiB


def test_delete_unused_destroys_the_volume(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(delete="scsi1")
    vm.config.put(delete="unused0")
    assert "unused0" not in vm.config.get()
    assert sorted(volumes(sim_api, "pve1", 101)) == ["local-lvm:vm-101-disk-0"]


def test_delete_disk_of_running_vm_is_hotplugged(sim_api):
    vm = sim_api.nodes("pve2").qemu(102)
    vm.config.put(scsi1="local-lvm:1")
    vm.config.put(delete="scsi1")
    assert vm.config.get(current=1)["unused0"] == "local-lvm:vm-102-disk-1"
    assert [i for i in vm.pending.get() if "pending" in i or "delete" in i] == []


def test_unlink_force_destroys_without_unused(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    assert vm.unlink.put(idlist="scsi1", force=1) is None
    conf = vm.config.get()
    assert "scsi1" not in conf and "unused0" not in conf
    assert sorted(volumes(sim_api, "pve1", 101)) == ["local-lvm:vm-101-disk-0"]


def test_unlink_without_force_keeps_the_volume(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.unlink.put(idlist="scsi1")
    assert vm.config.get()["unused0"] == "local-lvm:vm-101-disk-1"


def test_resize_grows_in_a_task(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(100)
    upid = vm.resize.put(disk="scsi0", size="+2G")
    assert ":resize:100:" in upid
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "OK"
    assert vm.config.get()["scsi0"] == "local-lvm:vm-100-disk-0,iothread=1,size=34G"
    assert volumes(sim_api, "pve1", 100)["local-lvm:vm-100-disk-0"] == 34 * GiB
    wait(sim_api, "pve1", vm.resize.put(disk="scsi0", size="40G"))
    assert vm.config.get()["scsi0"] == "local-lvm:vm-100-disk-0,iothread=1,size=40G"


def test_resize_shrink_fails_in_the_task(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(100)
    upid = vm.resize.put(disk="scsi0", size="16G")  # the worker refuses, the PUT itself is 200
    status = wait(sim_api, "pve1", upid)
    assert status["exitstatus"] == "shrinking disks is not supported"
    assert sim_api.nodes("pve1").tasks(upid).log.get()[-1] == {
        "n": 1,
        "t": "TASK ERROR: shrinking disks is not supported",
    }
    assert vm.config.get()["scsi0"] == "local-lvm:vm-100-disk-0,iothread=1,size=32G"


def test_resize_with_stale_digest_fails_in_the_task(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(100)
    status = wait(sim_api, "pve1", vm.resize.put(disk="scsi0", size="+1G", digest="0" * 40))
    assert status["exitstatus"] == "checksum mismatch (file change by other user?)"


def test_resize_size_pattern_and_disk_enum_are_checked(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    with pytest.raises(ResourceException) as exc:
        vm.resize.put(disk="scsi0", size="2X")
    assert exc.value.errors == {"size": "value does not match the regex pattern"}
    with pytest.raises(ResourceException) as exc:
        vm.resize.put(disk="unused0", size="+1G")
    assert exc.value.errors["disk"].startswith("value 'unused0' does not have a value in the enumeration 'ide0, ")


def test_container_resize_grow_and_shrink(sim_api, wait):
    ct = sim_api.nodes("pve1").lxc(200)
    assert wait(sim_api, "pve1", ct.resize.put(disk="rootfs", size="+2G"))["exitstatus"] == "OK"
    assert ct.config.get()["rootfs"] == "local-lvm:vm-200-disk-0,size=10G"
    with pytest.raises(ResourceException) as exc:
        ct.resize.put(disk="rootfs", size="4G")  # pve-container checks before forking
    assert (exc.value.status_code, exc.value.content) == (500, "unable to shrink disk size")


def test_container_mountpoint_allocation_and_unused(sim_api):
    ct = sim_api.nodes("pve2").lxc(201)  # stopped: applied directly
    ct.config.put(mp0="local-lvm:3,mp=/srv/data,backup=1")
    assert ct.config.get()["mp0"] == "local-lvm:vm-201-disk-1,mp=/srv/data,backup=1,size=3G"
    ct.config.put(delete="mp0")
    assert ct.config.get()["unused0"] == "local-lvm:vm-201-disk-1"
    ct.config.put(delete="unused0")
    assert "local-lvm:vm-201-disk-1" not in volumes(sim_api, "pve2", 201)
