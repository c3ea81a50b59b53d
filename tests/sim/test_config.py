"""Config reads, digests, stale digests, locks and concurrent edits."""

import hashlib
import time

import pytest
from proxmoxer.core import ResourceException

VM100_RAW = """boot: order=scsi0
cores: 2
cpu: x86-64-v2-AES
memory: 2048
meta: creation-qemu=9.2.0,ctime=1735689600
name: web01
net0: virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1
numa: 0
ostype: l26
scsi0: local-lvm:vm-100-disk-0,iothread=1,size=32G
scsihw: virtio-scsi-single
smbios1: uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000100
sockets: 1
vmgenid: 8a1b2c3d-4e5f-4a6b-8c7d-000000000100
"""


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def test_vm_config_shape_and_types(sim_api):
    conf = sim_api.nodes("pve1").qemu(100).config.get()
    assert conf == {
        "boot": "order=scsi0",
        "cores": 2,
        "cpu": "x86-64-v2-AES",
        "memory": "2048",
        "meta": "creation-qemu=9.2.0,ctime=1735689600",
        "name": "web01",
        "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1",
        "numa": 0,
        "ostype": "l26",
        "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
        "scsihw": "virtio-scsi-single",
        "smbios1": "uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000100",
        "sockets": 1,
        "vmgenid": "8a1b2c3d-4e5f-4a6b-8c7d-000000000100",
        "digest": sha1(VM100_RAW),
    }


def test_ct_config_memory_is_an_integer(sim_api):
    conf = sim_api.nodes("pve1").lxc(200).config.get()
    assert (conf["memory"], conf["swap"], conf["cores"], conf["unprivileged"]) == (512, 512, 1, 1)
    assert conf["rootfs"] == "local-lvm:vm-200-disk-0,size=8G"
    assert conf["net0"] == "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth"


def test_pending_lists_every_key_and_the_digest(sim_api):
    items = sim_api.nodes("pve1").qemu(100).pending.get()
    by_key = {i["key"]: i for i in items}
    assert sorted(by_key) == sorted(
        [
            "boot",
            "cores",
            "cpu",
            "memory",
            "meta",
            "name",
            "net0",
            "numa",
            "ostype",
            "scsi0",
            "scsihw",
            "smbios1",
            "sockets",
            "vmgenid",
            "digest",
        ]
    )
    assert by_key["digest"] == {"key": "digest", "value": sha1(VM100_RAW)}
    assert by_key["cores"] == {"key": "cores", "value": 2}


def test_digest_covers_the_pending_section(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(memory="4096")  # VM 100 runs: memory is not hot-pluggable
    assert vm.config.get(current=1)["digest"] == sha1(VM100_RAW + "\n[PENDING]\nmemory: 4096\n")


def test_put_with_current_digest_succeeds_and_changes_digest(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    digest = vm.config.get()["digest"]
    assert vm.config.put(cores=8, digest=digest) is None
    conf = vm.config.get()
    assert conf["cores"] == 8
    assert conf["digest"] != digest


def test_put_with_stale_digest_is_rejected_qemu(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    stale = vm.config.get()["digest"]
    vm.config.put(description="someone else")
    with pytest.raises(ResourceException) as exc:
        vm.config.put(cores=8, digest=stale)
    assert exc.value.status_code == 500
    assert exc.value.content == "checksum mismatch (file change by other user?)"
    assert vm.config.get()["cores"] == 4


def test_put_with_stale_digest_is_rejected_lxc(sim_api):
    ct = sim_api.nodes("pve2").lxc(201)
    stale = ct.config.get()["digest"]
    ct.config.put(description="someone else")
    with pytest.raises(ResourceException) as exc:
        ct.config.put(cores=4, digest=stale)
    assert (exc.value.status_code, exc.value.content) == (
        500,
        "detected modified configuration - file changed by other user? Try again.",
    )


def test_missing_guest_config_file(sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(102).config.get()  # 102 lives on pve2
    assert (exc.value.status_code, exc.value.content) == (
        500,
        "Configuration file 'nodes/pve1/qemu-server/102.conf' does not exist",
    )
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").lxc(299).pending.get()
    assert exc.value.content == "Configuration file 'nodes/pve1/lxc/299.conf' does not exist"


def test_lock_fault_blocks_writes_until_it_expires(sim, sim_api):
    sim.simulator.add_faults({"lock": {"vmid": 100, "lock": "backup", "seconds": 0.4}})
    vm = sim_api.nodes("pve1").qemu(100)
    assert vm.config.get()["lock"] == "backup"
    locked = [r for r in sim_api.cluster.resources.get(type="vm") if r["vmid"] == 100][0]
    assert locked["lock"] == "backup"
    with pytest.raises(ResourceException) as exc:
        vm.config.put(cores=3)
    assert (exc.value.status_code, exc.value.content) == (500, "VM is locked (backup)")
    time.sleep(0.5)
    assert "lock" not in vm.config.get()
    vm.config.put(cores=3)
    assert vm.pending.get()[1] == {"key": "cores", "value": 2, "pending": 3}


def test_lock_fault_on_container(sim, sim_api):
    sim.simulator.lock_guest(200, "snapshot")
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").lxc(200).config.put(cores=2)
    assert exc.value.content == "CT is locked (snapshot)"


def test_concurrent_edit_fault_invalidates_the_digest_just_read(sim, sim_api):
    sim.simulator.add_faults({"concurrent_edit": {"vmid": 101, "times": 1}})
    vm = sim_api.nodes("pve1").qemu(101)
    first = {i["key"]: i for i in vm.pending.get()}["digest"]["value"]
    with pytest.raises(ResourceException) as exc:
        vm.config.put(cores=6, digest=first)
    assert exc.value.content == "checksum mismatch (file change by other user?)"
    again = vm.config.get()
    assert again["description"] == "concurrent edit 1 (pve_sim fault)"
    vm.config.put(cores=6, digest=again["digest"])  # the fault fired once only
    assert vm.config.get()["cores"] == 6


def test_revert_drops_a_pending_change(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(cores=4, sockets=2)
    vm.config.put(revert="cores")
    pending = [i for i in vm.pending.get() if "pending" in i]
    assert pending == [{"key": "sockets", "value": 1, "pending": 2}]
