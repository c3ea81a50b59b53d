"""Realism: storages allocate and resize as their pve-storage plugins do (ZFS pads to 1 MiB, RBD rounds to MiB,
thick LVM to 4 MiB extents); the config's size= is what was asked, resize compares with the actual volume size."""

import pytest
from proxmoxer.core import ResourceException

from pve_sim import Simulator
from pve_sim.testing import proxmox_client

KiB, MiB, GiB = 1024, 1024**2, 1024**3


def volume_size(api, node, storage, volid):
    sizes = {v["volid"]: v["size"] for v in api.nodes(node).storage(storage).content.get()}
    return sizes[volid]


def test_realism_seeds_zfs_rbd_and_thick_lvm_storages_on_both_nodes(realism):
    api = proxmox_client(realism)
    for node in ("pve1", "pve2"):
        types = {s["storage"]: s["type"] for s in api.nodes(node).storage.get()}
        assert {k: types[k] for k in ("local-zfs", "ceph-rbd", "san-lvm")} == {
            "local-zfs": "zfspool",
            "ceph-rbd": "rbd",
            "san-lvm": "lvm",
        }


def test_without_realism_the_extra_storages_are_not_there(sim_api):
    assert sorted(s["storage"] for s in sim_api.nodes("pve1").storage.get()) == [
        "local",
        "local-lvm",
        "nas-backup",
        "old-nfs",
    ]


@pytest.mark.parametrize(
    ("storage", "gib", "asked", "allocated"),
    [
        # 1.0001 GiB = 1048680.86 KiB, convert_size rounds up to 1048681 KiB; zfs_create_zvol pads to 1025 MiB
        ("local-zfs", "1.0001", "1048681K", 1025 * MiB),
        # 1536 KiB: rbd create --size int((1536 + 1023) / 1024) = 2 MiB
        ("ceph-rbd", "0.00146484375", "1536K", 2 * MiB),
        # 1 MiB: lvcreate rounds up to one 4 MiB extent
        ("san-lvm", "0.0009765625", "1M", 4 * MiB),
        # lvmthin and dir storages allocate what was asked
        ("local-lvm", "0.00146484375", "1536K", 1536 * KiB),
    ],
)
def test_new_disk_gets_the_plugins_size_while_size_shows_what_was_asked(realism, wait, storage, gib, asked, allocated):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(101)
    wait(api, "pve1", vm.config.post(scsi2=f"{storage}:{gib}"))
    conf = vm.config.get()["scsi2"]
    volid = conf.split(",")[0]
    assert conf == f"{volid},size={asked}"
    assert volume_size(api, "pve1", storage, volid) == allocated


def test_resize_compares_with_the_volume_not_with_size(realism, wait):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(101)
    wait(api, "pve1", vm.config.post(scsi2="local-zfs:1.0001"))
    volid = "local-zfs:vm-101-disk-0"
    digest = vm.config.get()["digest"]

    # the size= the config shows is smaller than the padded zvol: asking for it is a shrink
    status = wait(api, "pve1", vm.resize.put(disk="scsi2", size="1048681K"))
    assert status["exitstatus"] == "shrinking disks is not supported"
    # the volume's own size: nothing to do, size= stays as it was (Qemu.pm resize_vm: return if $size == $newsize)
    status = wait(api, "pve1", vm.resize.put(disk="scsi2", size="1025M"))
    assert status["exitstatus"] == "OK"
    conf = vm.config.get()
    assert (conf["scsi2"], conf["digest"]) == (f"{volid},size=1048681K", digest)
    # a real grow: size= records the new size, the zvol is padded to whole MiB
    wait(api, "pve1", vm.resize.put(disk="scsi2", size="+1536K"))
    assert vm.config.get()["scsi2"] == f"{volid},size={1025 * 1024 + 1536}K"
    assert volume_size(api, "pve1", "local-zfs", volid) == 1027 * MiB


@pytest.mark.parametrize(("storage", "grow"), [("ceph-rbd", "+1K"), ("san-lvm", "+1M")])
def test_resize_rounds_like_the_plugin(realism, wait, storage, grow):
    api = proxmox_client(realism)
    node, vmid = ("pve2", 111) if storage == "ceph-rbd" else ("pve1", 101)
    vm = api.nodes(node).qemu(vmid)
    if storage == "san-lvm":
        wait(api, node, vm.config.post(scsi2="san-lvm:1"))
        disk, volid, before = "scsi2", "san-lvm:vm-101-disk-0", GiB
    else:
        disk, volid, before = "scsi0", "ceph-rbd:vm-111-disk-0", 64 * GiB
    assert wait(api, node, vm.resize.put(disk=disk, size=grow))["exitstatus"] == "OK"
    if storage == "ceph-rbd":  # rbd resize --size int(ceil($size / 1024 / 1024)) MiB
        assert volume_size(api, node, storage, volid) == before + MiB
    else:  # lvextend -L 1025M: rounded up to whole 4 MiB extents
        assert volume_size(api, node, storage, volid) == before + 4 * MiB


def test_container_mount_point_on_zfs_is_a_subvol_with_the_exact_quota(realism, wait):
    api = proxmox_client(realism)
    ct = api.nodes("pve2").lxc(201)
    ct.config.put(mp0="local-zfs:1.5,mp=/srv")
    conf = ct.config.get()["mp0"]
    assert conf == "local-zfs:subvol-201-disk-0,mp=/srv,size=1536M"
    assert volume_size(api, "pve2", "local-zfs", "local-zfs:subvol-201-disk-0") == 1536 * MiB


def test_without_realism_every_storage_allocates_what_was_asked():
    sim = Simulator(realism=True)  # seeded with the extra storages
    sim.realism = False
    with sim.state.lock:
        volid = sim.state.alloc_volume("pve1", "ceph-rbd", 101, 1536 * KiB)
        assert sim.state.find_volume("pve1", volid).size == 1536 * KiB
        sim.state.resize_volume("pve1", volid, 1537 * KiB)
        assert sim.state.find_volume("pve1", volid).size == 1537 * KiB


def test_resize_of_an_unknown_size_string_is_refused_by_the_schema(realism):
    api = proxmox_client(realism)
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve1").qemu(101).resize.put(disk="scsi0", size="1.5X")
    assert exc.value.status_code == 400


def test_a_running_vm_on_rbd_is_resized_by_qemu_to_whole_kib(realism, wait):
    api = proxmox_client(realism)
    realism.simulator.set_guest_status(111, "running")
    vm = api.nodes("pve2").qemu(111)
    assert wait(api, "pve2", vm.resize.put(disk="scsi0", size="+1000"))["exitstatus"] == "OK"
    assert volume_size(api, "pve2", "ceph-rbd", "ceph-rbd:vm-111-disk-0") == 64 * GiB + KiB
    assert vm.config.get()["scsi0"] == f"ceph-rbd:vm-111-disk-0,iothread=1,size={64 * GiB + 1000}"
