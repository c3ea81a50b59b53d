"""module_utils/volumes.py: volume names and sizes, new volume text, grow decisions for VMs and containers."""

import pytest
from harness import requests_made, url
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils import volumes
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import Guest

MIB = 1024**2
GIB = 1024**3
STORAGE = {"storage": "local-lvm", "content": "images,rootdir", "enabled": 1, "active": 1, "type": "lvmthin"}


@pytest.mark.parametrize(
    "size,expected",
    [("32G", 32 * 1024**3), ("512M", 512 * 1024**2), ("4194304", 4194304), (None, None), ("garbage", None)],
)
def test_recorded_size(size, expected):
    values = {"file": "local-lvm:vm-100-disk-0"}
    if size is not None:
        values["size"] = size
    assert volumes.recorded_size(values) == expected


def test_find_unused_and_storage():
    config = {
        "unused0": "local-lvm:vm-100-disk-7",
        "unused10": "local-lvm:vm-100-disk-1",
        "unused2": "local-lvm:vm-100-disk-1",
        "scsi0": "local-lvm:vm-100-disk-1",
    }
    assert volumes.find_unused(config, "local-lvm:vm-100-disk-1") == "unused2"
    assert volumes.find_unused(config, "local-lvm:vm-100-disk-9") is None
    assert volumes.volume_storage("local-lvm:vm-100-disk-1") == "local-lvm"


def test_unused_volumes_in_index_order():
    config = {
        "unused10": "local-lvm:vm-100-disk-3",
        "unused2": "local-lvm:vm-100-disk-2",
        "scsi0": "local-lvm:vm-100-disk-0,size=8G",
        "unused0": "local-lvm:vm-100-disk-1",
    }
    assert list(volumes.unused_volumes(config).items()) == [
        ("unused0", "local-lvm:vm-100-disk-1"),
        ("unused2", "local-lvm:vm-100-disk-2"),
        ("unused10", "local-lvm:vm-100-disk-3"),
    ]


def test_container_unused_volumes():
    # pve-container writes unusedN as the bare volume (LXC/Config.pm print_ct_unused, default key volume)
    config = {"rootfs": "local-lvm:vm-200-disk-0,size=8G", "unused1": "local-lvm:vm-200-disk-2"}
    assert volumes.unused_volumes(config, "lxc") == {"unused1": "local-lvm:vm-200-disk-2"}
    assert volumes.find_unused(config, "local-lvm:vm-200-disk-2", "lxc") == "unused1"


@pytest.mark.parametrize(
    "volid,owner",
    [
        ("local-lvm:vm-100-disk-1", 100),
        ("local:100/vm-100-disk-0.qcow2", 100),
        ("local-lvm:base-9000-disk-0/vm-101-disk-0", 101),  # linked clone: the clone owns it
        ("local-zfs:subvol-200-disk-0", 200),
        ("nfs:iso/debian.iso", None),
        ("local-lvm:mydisk", None),
    ],
)
def test_volume_owner(volid, owner):
    assert volumes.volume_owner(volid) == owner


@pytest.mark.parametrize(
    "kind,key,fmt",
    [
        ("qemu", "scsi1", "qemu_scsi"),
        ("qemu", "virtio15", "qemu_virtio"),
        ("qemu", "unused3", "qemu_unused"),
        ("lxc", "rootfs", "lxc_rootfs"),
        ("lxc", "mp12", "lxc_mp"),
        ("lxc", "unused0", "lxc_unused"),
    ],
)
def test_volume_key_format(kind, key, fmt):
    assert volumes.volume_key_format(kind, key) == fmt


@pytest.mark.parametrize(
    "kind,key,size,options,text",
    [
        ("qemu", "scsi1", 32 * GIB, {"iothread": True}, "local-lvm:32,iothread=1"),
        ("lxc", "mp0", 8 * GIB, {"mp": "/srv/data", "backup": True}, "local-lvm:8,mp=/srv/data,backup=1"),
        # 1000 KiB rounds up to 1 MiB: pve-container create_disks would truncate it to 0 MiB
        ("lxc", "mp1", 1000 * 1024, {"mp": "/x"}, "local-lvm:0.0009765625,mp=/x"),
        ("lxc", "rootfs", 512 * MIB, None, "local-lvm:0.5"),
        ("qemu", "virtio0", 1536 * MIB + 1, {}, "local-lvm:1.5009765625"),
    ],
)
def test_new_volume_text(kind, key, size, options, text):
    assert volumes.new_volume_text(kind, key, "local-lvm", size, options) == text


def test_new_volume_text_refuses_a_comma_in_an_option():
    with pytest.raises(InvalidRequest, match="must not contain a comma"):
        volumes.new_volume_text("lxc", "mp0", "local-lvm", GIB, {"mp": "/a,backup=0"})


def storage_answer(api, item):
    api.get(
        url("nodes/pve1/storage"),
        json={"data": [item]},
        match=[matchers.query_param_matcher({"storage": item["storage"]})],
    )


def test_container_volume_needs_rootdir_content(api, pve):
    storage_answer(api, dict(STORAGE, storage="local", content="iso,vztmpl,backup,images"))
    with pytest.raises(InvalidRequest, match=r"storage 'local' cannot hold rootdir \(its content types: iso"):
        volumes.check_new_volume_storage(pve, "pve1", "lxc", "local")
    assert requests_made(api) == [("GET", "/nodes/pve1/storage", {"storage": "local"})]


def test_vm_volume_needs_images_content(api, pve):
    storage_answer(api, dict(STORAGE, content="rootdir"))
    with pytest.raises(InvalidRequest, match="cannot hold images"):
        volumes.check_new_volume_storage(pve, "pve1", "qemu", "local-lvm")


CT = Guest(200, "pve1", "lxc")
VM = Guest(100, "pve1", "qemu")
CONTENT = "nodes/pve1/storage/local-lvm/content"


def content_answer(api, content, vmid, items):
    api.get(
        url(CONTENT),
        json={"data": items},
        match=[matchers.query_param_matcher({"content": content, "vmid": str(vmid)})],
    )


def grow(pve, guest, requested, recorded, in_effect=True, volid="local-lvm:vm-200-disk-1"):
    result = {}
    size = volumes.grow_size(pve, guest, f"mp0 ({volid})", volid, requested, recorded, in_effect, result)
    return size, result


def test_container_grow_looks_up_the_rootdir_volume(api, pve):
    # pve-storage Plugin.pm list_volumes: a container's volumes are content 'rootdir', never 'images'
    content_answer(api, "rootdir", 200, [{"volid": "local-lvm:vm-200-disk-1", "size": 8 * GIB}])
    assert grow(pve, CT, 10 * GIB + 1, 8 * GIB) == (10 * GIB + MIB, {})
    assert requests_made(api) == [("GET", "/" + CONTENT, {"content": "rootdir", "vmid": "200"})]


def test_vm_grow_looks_up_the_images_volume(api, pve):
    content_answer(api, "images", 100, [{"volid": "local-lvm:vm-100-disk-1", "size": 8 * GIB}])
    assert grow(pve, VM, 10 * GIB, 8 * GIB, volid="local-lvm:vm-100-disk-1") == (10 * GIB, {})


def test_grow_already_large_by_the_storage(api, pve):
    content_answer(api, "rootdir", 200, [{"volid": "local-lvm:vm-200-disk-1", "size": 10 * GIB}])
    assert grow(pve, CT, 10 * GIB, 8 * GIB) == (None, {"size_rounded": True})


def test_grow_no_change_and_rounding_need_no_request(api, pve):
    assert grow(pve, CT, 8 * GIB, 8 * GIB) == (None, {})
    assert grow(pve, CT, 8 * GIB - MIB, 8 * GIB) == (None, {"size_rounded": True})
    assert requests_made(api) == []


def test_shrink_is_refused(api, pve):
    with pytest.raises(InvalidRequest, match=r"mp0 \(local-lvm:vm-200-disk-1\) is 8G; shrinking it to 4G is not"):
        grow(pve, CT, 4 * GIB, 8 * GIB)
    assert requests_made(api) == []


def test_grow_of_a_pending_container_volume_is_refused(api, pve):
    with pytest.raises(InvalidRequest, match="pending until the container reboots, .* only the volume in effect"):
        grow(pve, CT, 16 * GIB, 8 * GIB, in_effect=False)
    assert requests_made(api) == []


def test_grow_without_recorded_size_is_refused(api, pve):
    with pytest.raises(InvalidRequest, match="has no recorded size"):
        grow(pve, CT, 16 * GIB, None)
