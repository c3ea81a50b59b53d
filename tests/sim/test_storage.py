"""Storage listing, filters, content, volume delete, and storage errors of disk allocation."""

import pytest
from proxmoxer.core import ResourceException

GiB = 1024**3
MiB = 1024**2


def test_storage_list_of_a_node(sim_api):
    items = {s["storage"]: s for s in sim_api.nodes("pve1").storage.get()}
    assert sorted(items) == ["local", "local-lvm", "nas-backup", "old-nfs"]
    assert items["local-lvm"] == {
        "storage": "local-lvm",
        "type": "lvmthin",
        "content": "images,rootdir",
        "enabled": 1,
        "active": 1,
        "shared": 0,
        "total": 500 * GiB,
        "used": (32 + 32 + 100 + 8) * GiB,
        "avail": (500 - 172) * GiB,
        "used_fraction": 172 / 500,
    }
    assert items["old-nfs"] == {
        "storage": "old-nfs",
        "type": "nfs",
        "content": "images",
        "enabled": 0,
        "active": 0,
        "shared": 1,
        "total": 0,
        "used": 0,
        "avail": 0,
    }
    assert items["local"]["content"] == "iso,vztmpl,backup,import"


def test_storage_filters(sim_api):
    node = sim_api.nodes("pve1")
    assert [s["storage"] for s in node.storage.get(content="images")] == ["local-lvm"]
    assert [s["storage"] for s in node.storage.get(content="backup")] == ["local", "nas-backup"]
    assert [s["storage"] for s in node.storage.get(enabled=1)] == ["local", "local-lvm", "nas-backup"]
    assert [s["storage"] for s in node.storage.get(storage="local-lvm")] == ["local-lvm"]


@pytest.mark.parametrize(
    "query",
    [{"storage": "nope"}, {"storage": "old-nfs", "content": "images"}, {"storage": "nas-backup", "content": "images"}],
)
def test_storage_filter_without_match_is_400(sim_api, query):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").storage.get(**query)
    assert (exc.value.status_code, exc.value.errors) == (400, {"storage": "No such storage."})


def test_storage_status(sim_api):
    st = sim_api.nodes("pve2").storage("nas-backup").status.get()
    assert st == {
        "type": "nfs",
        "content": "backup",
        "enabled": 1,
        "active": 1,
        "shared": 1,
        "total": 2048 * GiB,
        "used": 6 * GiB,
        "avail": 2042 * GiB,
    }


def test_storage_content_list(sim_api):
    content = sim_api.nodes("pve1").storage("local-lvm").content.get(vmid=100)
    assert content == [
        {
            "volid": "local-lvm:vm-100-disk-0",
            "format": "raw",
            "size": 32 * GiB,
            "vmid": 100,
            "content": "images",
            "ctime": 1735689600,
            "used": 8 * GiB,
        }
    ]
    isos = sim_api.nodes("pve1").storage("local").content.get(content="iso")
    assert [(i["volid"], i["size"], i["format"]) for i in isos] == [
        ("local:iso/debian-12.8.0-amd64-netinst.iso", 650 * MiB, "iso")
    ]


def test_content_of_missing_and_disabled_storage(sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").storage("nope").content.get()
    assert (exc.value.status_code, exc.value.content) == (500, "storage 'nope' does not exist")
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").storage("old-nfs").content.get()
    assert exc.value.content == "storage 'old-nfs' is disabled"


def test_delete_volume_runs_an_imgdel_task(sim_api, wait):
    node = sim_api.nodes("pve1")
    node.qemu(101).config.put(delete="scsi1")
    upid = node.storage("local-lvm").content("local-lvm:vm-101-disk-1").delete()
    assert ":imgdel:101@local-lvm:" in upid
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "OK"
    assert node.tasks(upid).log.get()[0] == {"n": 1, "t": "Removed volume 'local-lvm:vm-101-disk-1'"}
    assert [v["volid"] for v in node.storage("local-lvm").content.get(vmid=101)] == ["local-lvm:vm-101-disk-0"]


def test_new_disk_on_missing_storage(sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(101).config.post(scsi3="nope:1")
    assert (exc.value.status_code, exc.value.content) == (500, "storage 'nope' does not exist")


def test_new_disk_on_storage_without_images_content(sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(101).config.post(scsi3="nas-backup:1")
    assert (exc.value.status_code, exc.value.errors) == (
        400,
        {"storage": "storage 'nas-backup' does not support vm images"},
    )


def test_new_disk_on_disabled_storage_fails_in_the_task(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(101)
    status = wait(sim_api, "pve1", vm.config.post(scsi3="old-nfs:1"))
    assert status["exitstatus"] == "storage 'old-nfs' is disabled"
    assert "scsi3" not in vm.config.get()
    with pytest.raises(ResourceException) as exc:
        vm.config.put(scsi3="old-nfs:1")  # the synchronous API dies in the request
    assert (exc.value.status_code, exc.value.content) == (500, "storage 'old-nfs' is disabled")


def test_container_mountpoint_storage_content_check(sim_api):
    ct = sim_api.nodes("pve1").lxc(200)
    with pytest.raises(ResourceException) as exc:
        ct.config.put(mp0="nas-backup:2,mp=/data")
    assert (exc.value.status_code, exc.value.content) == (
        500,
        "storage 'nas-backup' does not allow content type 'rootdir' (Container)",
    )
    with pytest.raises(ResourceException) as exc:
        ct.config.put(mp0="gone:2,mp=/data")
    assert exc.value.content == "storage 'gone' does not exist"


def test_failed_update_rolls_back_volumes_and_config(sim, sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    before = sim.simulator.guest_config(101)
    with pytest.raises(ResourceException) as exc:
        vm.config.put(scsi3="local-lvm:1", scsi4="old-nfs:1")
    assert exc.value.content == "storage 'old-nfs' is disabled"
    assert sim.simulator.guest_config(101) == before
    assert [v["volid"] for v in sim_api.nodes("pve1").storage("local-lvm").content.get(vmid=101)] == [
        "local-lvm:vm-101-disk-0",
        "local-lvm:vm-101-disk-1",
    ]
