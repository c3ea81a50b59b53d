"""container_mountpoint against a faked HTTP API: exact requests (digest included), resize tasks, pending on a
running container, detach/purge, bind mounts, check mode and bad input (a clear error and no write)."""

import pytest
from harness import pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

PATH = "nodes/pve1/lxc/200"
ROOTFS = "local-lvm:vm-200-disk-0,size=8G"
MP0 = "local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=8G"
CONFIG = {
    "hostname": "dns01",
    "memory": "512",
    "ostype": "debian",
    "rootfs": ROOTFS,
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
}
RESIZE_UPID = "UPID:pve1:000A1B3D:0012D9A0:67A0B1D0:resize:200:root@pam!ci:"
LVM = {"storage": "local-lvm", "type": "lvmthin", "content": "rootdir,images", "enabled": 1, "active": 1}
GETS = [("GET", "/cluster/resources", {"type": "vm"}), ("GET", "/" + PATH + "/pending", {})]
STORAGE_GET = ("GET", "/nodes/pve1/storage", {"storage": "local-lvm"})
CONTENT_GET = ("GET", "/nodes/pve1/storage/local-lvm/content", {"content": "rootdir", "vmid": "200"})
GIB = 1024**3
TICKET = {"data": {"ticket": "PVE:root@pam:65F00000::c2lnbmF0dXJl", "CSRFPreventionToken": "65F00000:csrf"}}
ROOT_LOGIN = dict(api_token_id=None, api_token_secret=None, api_user="root@pam", api_password="pw-Hunter2-0d1e")


def container(api, config=None, digest="d1", status="stopped", **kw):
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1", status)),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )
    reread(api, CONFIG if config is None else config, digest, **kw)


def reread(api, config, digest, **kw):
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def storage(api, item=None):
    item = item or LVM
    api.get(
        url("nodes/pve1/storage"),
        json={"data": [item]},
        match=[matchers.query_param_matcher({"storage": item["storage"]})],
    )


def content(api, *volumes):
    """The container's volumes as pve-storage lists them: content rootdir (Plugin.pm list_volumes)."""
    api.get(
        url("nodes/pve1/storage/local-lvm/content"),
        json={"data": [{"volid": volid, "format": "raw", "size": size, "vmid": 200} for volid, size in volumes]},
        match=[matchers.query_param_matcher({"content": "rootdir", "vmid": "200"})],
    )


def put_config(api, body):
    """pve-container API2/LXC/Config.pm update_vm: PUT only, answers null."""
    api.put(url(PATH + "/config"), json={"data": None}, match=[matchers.urlencoded_params_matcher(body)])


def put_resize(api, body):
    """pve-container API2/LXC.pm resize_vm: PUT answering the UPID of a 'resize' task, which is polled."""
    api.put(url(PATH + "/resize"), json={"data": RESIZE_UPID}, match=[matchers.urlencoded_params_matcher(body)])
    api.get(
        url(f"nodes/pve1/tasks/{RESIZE_UPID}/status"),
        json={
            "data": {
                "upid": RESIZE_UPID,
                "node": "pve1",
                "type": "resize",
                "id": "200",
                "status": "stopped",
                "exitstatus": "OK",
            }
        },
    )


def run(args, **kw):
    return run_module("container_mountpoint", dict(vmid=200, **args), **kw)


# --- create -----------------------------------------------------------------------------------------------


def test_create_on_a_storage_writes_storage_colon_gib_with_the_path(api):
    container(api)
    storage(api)
    put_config(api, {"mp0": "local-lvm:8,mp=/srv/data,backup=1", "digest": "d1"})
    reread(api, dict(CONFIG, mp0=MP0), "d2")
    result, failed = run(dict(mountpoint="mp0", storage="local-lvm", size="8G", path="/srv/data", backup=True))
    assert not failed, result
    assert requests_made(api) == GETS + [
        STORAGE_GET,
        ("PUT", "/" + PATH + "/config", {"mp0": "local-lvm:8,mp=/srv/data,backup=1", "digest": "d1"}),
        GETS[1],
    ]
    assert result["changed"] is True
    assert (result["mountpoint"], result["volume"], result["size"]) == ("mp0", "local-lvm:vm-200-disk-1", "8G")
    assert result["diff"] == {"before": {}, "after": {"mp0": MP0}}
    assert result["msg"] == "create mp0 (8G on local-lvm at /srv/data) of LXC container 200 on pve1"
    assert result["pending"] == {} and result["reboot_required"] is False


def test_rerun_is_two_gets(api):
    container(api, dict(CONFIG, mp0=MP0))
    result, failed = run(dict(mountpoint="mp0", storage="local-lvm", size="8G", path="/srv/data", backup=True))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == GETS


def test_first_free_slot_skips_a_mount_point_whose_removal_is_pending(api):
    config = dict(CONFIG, mp0=MP0)
    container(api, config, status="running", deletes=("mp0",))
    storage(api)
    put_config(api, {"mp1": "local-lvm:0.5,mp=/cache,replicate=0", "digest": "d1"})
    new = "local-lvm:vm-200-disk-2,mp=/cache,replicate=0,size=512M"
    reread(api, dict(config, mp1=new), "d2", deletes=("mp0",))
    # the flags equal to what Proxmox does when unset (ro off, backup off) are left out
    result, failed = run(dict(storage="local-lvm", size="512M", path="/cache", ro=False, backup=False, replicate=False))
    assert not failed, result
    assert writes(api) == [
        ("PUT", "/" + PATH + "/config", {"mp1": "local-lvm:0.5,mp=/cache,replicate=0", "digest": "d1"})
    ]
    assert result["mountpoint"] == "mp1" and result["size"] == "512M"


def test_size_is_rounded_up_to_whole_mib(api):
    container(api)
    storage(api)
    put_config(api, {"mp0": "local-lvm:0.0009765625,mp=/x", "digest": "d1"})
    reread(api, dict(CONFIG, mp0="local-lvm:vm-200-disk-1,mp=/x,size=1M"), "d2")
    result, failed = run(dict(mountpoint="mp0", storage="local-lvm", size="1000K", path="/x"))
    assert not failed, result
    assert result["size_rounded"] is True
    assert (
        result["msg"]
        == "create mp0 (1M on local-lvm at /x, 1000K rounded up to whole MiB) of LXC container 200 on pve1"
    )


def test_check_mode_creates_nothing_and_predicts_the_value(api):
    container(api)
    storage(api)
    result, failed = run(dict(mountpoint="mp0", storage="local-lvm", size=8, path="/srv/data"), check=True)
    assert not failed, result
    assert writes(api) == []
    assert result["changed"] is True
    assert result["diff"] == {"before": {}, "after": {"mp0": "local-lvm:8,mp=/srv/data"}}
    assert result["msg"] == "would create mp0 (8G on local-lvm at /srv/data) of LXC container 200 on pve1"


def test_bind_mount_needs_root_login_and_is_written_as_the_host_path(api):
    api.post(url("access/ticket"), json=TICKET)
    container(api)
    put_config(api, {"mp1": "/srv/media,mp=/media,ro=1", "digest": "d1"})
    reread(api, dict(CONFIG, mp1="/srv/media,mp=/media,ro=1"), "d2")
    result, failed = run(dict(ROOT_LOGIN, mountpoint="mp1", volume="/srv/media", path="/media", ro=True))
    assert not failed, result
    assert writes(api) == [
        ("POST", "/access/ticket", {"username": "root@pam", "password": "pw-Hunter2-0d1e"}),
        ("PUT", "/" + PATH + "/config", {"mp1": "/srv/media,mp=/media,ro=1", "digest": "d1"}),
    ]
    assert result["volume"] == "/srv/media" and "size" not in result
    assert result["msg"] == "add bind mount mp1 (/srv/media at /media) of LXC container 200 on pve1"


def test_bind_mount_with_a_token_is_refused_before_any_write(api):
    container(api)
    result, failed = run(dict(mountpoint="mp1", volume="/dev/sdb1", path="/data"))
    assert failed
    assert "writing mp1 as a device mount needs api_user root@pam with api_password" in result["msg"]
    assert "(logged in as root@pam!ci)" in result["msg"]
    assert requests_made(api) == GETS


# --- grow and options --------------------------------------------------------------------------------------


def test_grow_of_a_running_container_resizes_in_a_task(api):
    container(api, dict(CONFIG, mp0=MP0), status="running")
    content(api, ("local-lvm:vm-200-disk-0", 8 * GIB), ("local-lvm:vm-200-disk-1", 8 * GIB))
    put_resize(api, {"disk": "mp0", "size": "20G", "digest": "d1"})
    grown = MP0.replace("size=8G", "size=20G")
    reread(api, dict(CONFIG, mp0=grown), "d2")
    result, failed = run(dict(mountpoint="mp0", size="20G"))
    assert not failed, result
    assert requests_made(api) == GETS + [
        CONTENT_GET,
        ("PUT", "/" + PATH + "/resize", {"disk": "mp0", "size": "20G", "digest": "d1"}),
        ("GET", f"/nodes/pve1/tasks/{RESIZE_UPID}/status", {}),
        GETS[1],
    ]
    assert result["task"] == RESIZE_UPID and result["size"] == "20G"
    assert result["diff"] == {"before": {"mp0": MP0}, "after": {"mp0": grown}}
    assert result["msg"] == "grow mp0 from 8G to 20G of LXC container 200 on pve1"


def test_grow_of_rootfs(api):
    container(api)
    content(api, ("local-lvm:vm-200-disk-0", 8 * GIB))
    put_resize(api, {"disk": "rootfs", "size": "12G", "digest": "d1"})
    reread(api, dict(CONFIG, rootfs="local-lvm:vm-200-disk-0,size=12G"), "d2")
    result, failed = run(dict(mountpoint="rootfs", size="12G"))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/resize", {"disk": "rootfs", "size": "12G", "digest": "d1"})]
    assert result["mountpoint"] == "rootfs" and result["size"] == "12G"


def test_grow_then_option_change_on_a_running_container_stays_pending(api):
    container(api, dict(CONFIG, mp0=MP0), status="running")
    content(api, ("local-lvm:vm-200-disk-1", 8 * GIB))
    put_resize(api, {"disk": "mp0", "size": "10G", "digest": "d1"})
    grown = MP0.replace("size=8G", "size=10G")
    reread(api, dict(CONFIG, mp0=grown), "d2")
    wanted = grown + ",ro=1"
    put_config(api, {"mp0": wanted, "digest": "d2"})
    # pve-container vmconfig_hotplug_pending: "don't try to hotplug over existing mp" - the value stays pending
    reread(api, dict(CONFIG, mp0=grown), "d3", pending_values={"mp0": wanted})
    result, failed = run(dict(mountpoint="mp0", size="10G", ro=True))
    assert not failed, result
    assert writes(api) == [
        ("PUT", "/" + PATH + "/resize", {"disk": "mp0", "size": "10G", "digest": "d1"}),
        ("PUT", "/" + PATH + "/config", {"mp0": wanted, "digest": "d2"}),
    ]
    assert result["pending"] == {"mp0": wanted} and result["reboot_required"] is True
    assert result["msg"] == (
        "grow mp0 from 8G to 10G; set ro=1 of mp0 of LXC container 200 on pve1 (pending until reboot: mp0)"
    )


def test_volume_already_larger_by_storage_rounding_is_no_change(api):
    container(api, dict(CONFIG, mp0=MP0))
    content(api, ("local-lvm:vm-200-disk-1", 8 * GIB + 4 * 1024**2))  # an LVM extent more than size=
    result, failed = run(dict(mountpoint="mp0", size="8194M", path="/srv/data"))
    assert not failed, result
    assert result["changed"] is False and result["size_rounded"] is True
    assert writes(api) == []


# --- detach and destroy ------------------------------------------------------------------------------------


def test_detach_keeps_the_volume_as_unused(api):
    container(api, dict(CONFIG, mp0=MP0))
    put_config(api, {"delete": "mp0", "digest": "d1"})
    reread(api, dict(CONFIG, unused0="local-lvm:vm-200-disk-1"), "d2")
    result, failed = run(dict(mountpoint="mp0", state="absent"))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/config", {"delete": "mp0", "digest": "d1"})]
    assert result["volume"] == "local-lvm:vm-200-disk-1" and "destroyed_volume" not in result
    assert result["diff"] == {"before": {"mp0": MP0}, "after": {}}
    assert result["msg"] == "detach mp0 (volume local-lvm:vm-200-disk-1) of LXC container 200 on pve1"


def test_purge_detaches_then_destroys_the_unused_volume(api):
    container(api, dict(CONFIG, mp0=MP0))
    put_config(api, {"delete": "mp0", "digest": "d1"})
    reread(api, dict(CONFIG, unused0="local-lvm:vm-200-disk-1"), "d2")
    put_config(api, {"delete": "unused0", "digest": "d2"})
    reread(api, CONFIG, "d3")
    result, failed = run(dict(mountpoint="mp0", state="absent", purge=True))
    assert not failed, result
    assert writes(api) == [
        ("PUT", "/" + PATH + "/config", {"delete": "mp0", "digest": "d1"}),
        ("PUT", "/" + PATH + "/config", {"delete": "unused0", "digest": "d2"}),
    ]
    assert result["destroyed_volume"] == "local-lvm:vm-200-disk-1"


def test_purge_on_a_running_container_stops_at_the_pending_detach(api):
    container(api, dict(CONFIG, mp0=MP0), status="running")
    put_config(api, {"delete": "mp0", "digest": "d1"})
    reread(api, dict(CONFIG, mp0=MP0), "d2", deletes=("mp0",))
    result, failed = run(dict(mountpoint="mp0", state="absent", purge=True))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/config", {"delete": "mp0", "digest": "d1"})]
    assert "destroyed_volume" not in result
    assert result["pending"] == {"mp0": None}
    assert result["msg"] == (
        "detached mp0 of LXC container 200 on pve1, but the removal is pending until the container reboots; "
        "volume local-lvm:vm-200-disk-1 was not destroyed, run again after the reboot"
    )


def test_destroy_an_unused_volume(api):
    container(api, dict(CONFIG, unused3="local-lvm:vm-200-disk-4"))
    put_config(api, {"delete": "unused3", "digest": "d1"})
    reread(api, CONFIG, "d2")
    result, failed = run(dict(mountpoint="unused3", state="absent", purge=True))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/config", {"delete": "unused3", "digest": "d1"})]
    assert result["msg"] == "destroy volume local-lvm:vm-200-disk-4 (unused3) of LXC container 200 on pve1"


def test_removing_a_bind_mount_drops_the_key_only(api):
    container(api, dict(CONFIG, mp1="/srv/media,mp=/media"))
    put_config(api, {"delete": "mp1", "digest": "d1"})
    reread(api, CONFIG, "d2")
    result, failed = run(dict(mountpoint="mp1", state="absent"))  # deleting needs no root login
    assert not failed, result
    assert result["volume"] == "/srv/media"
    assert result["msg"] == "remove bind mount mp1 (/srv/media) of LXC container 200 on pve1"


def test_absent_on_an_empty_key_is_no_change(api):
    container(api)
    result, failed = run(dict(mountpoint="mp4", state="absent"))
    assert not failed and result["changed"] is False
    assert requests_made(api) == GETS


# --- bad input: a clear error, no write --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(mountpoint="mp256"), "mountpoint 'mp256' is out of range: mount points are mp0 to mp255"),
        (dict(mountpoint="scsi0"), "mountpoint 'scsi0' is not a mount point: use mp0 to mp255 or rootfs"),
        (dict(state="absent"), "state=absent needs mountpoint"),
        (dict(mountpoint="rootfs", state="absent"), "rootfs cannot be removed"),
        (
            dict(mountpoint="rootfs", size="10G", path="/x"),
            "mountpoint=rootfs can only be grown: give size (and nothing of path)",
        ),
        (dict(mountpoint="rootfs"), "mountpoint=rootfs can only be grown"),
        (
            dict(mountpoint="mp0", purge=True, size=1, storage="local-lvm", path="/x"),
            "purge only applies with state=absent",
        ),
        (dict(mountpoint="unused0"), "mountpoint unused0 is an unused volume, not a mountpoint slot"),
        (dict(mountpoint="unused0", state="absent"), "set purge=true to destroy it"),
        (dict(mountpoint="mp0", volume="srv/media", path="/m"), "volume 'srv/media' is not a host path"),
        (dict(mountpoint="mp0", volume="/srv", size=2, path="/m"), "it takes no size"),
        (
            dict(mountpoint="mp0", storage="local-lvm", size=2, path="/srv/../etc"),
            "contains illegal character sequences",
        ),
        (dict(mountpoint="mp0", storage="local-lvm", size=0, path="/x"), "size must be positive"),
        (dict(mountpoint="mp0", storage="local-lvm", size=1, path="/x,ro=1"), "must not contain a comma"),
    ],
)
def test_bad_arguments_fail_before_any_write(api, args, message):
    container(api)
    storage(api)
    result, failed = run(args)
    assert failed and message in result["msg"], result
    assert writes(api) == []


def test_shrink_is_refused(api):
    container(api, dict(CONFIG, mp0=MP0))
    result, failed = run(dict(mountpoint="mp0", size="4G"))
    assert failed
    assert result["msg"].startswith(
        "mp0 (local-lvm:vm-200-disk-1) of container 200 is 8G; shrinking it to 4G is not supported"
    )
    assert requests_made(api) == GETS


def test_slot_in_use_with_if_exists_fail(api):
    container(api, dict(CONFIG, mp0=MP0))
    result, failed = run(dict(mountpoint="mp0", storage="local-lvm", size=8, path="/srv/data", if_exists="fail"))
    assert failed
    assert result["msg"].startswith(
        "mount point mp0 of LXC container 200 is in use (local-lvm:vm-200-disk-1, 8G at /srv/data); "
        "if_exists=fail creates mount points only"
    )
    assert requests_made(api) == GETS


def test_storage_without_rootdir_content(api):
    container(api)
    storage(api, {"storage": "local", "type": "dir", "content": "iso,vztmpl,backup,images", "enabled": 1})
    result, failed = run(dict(mountpoint="mp0", storage="local", size=8, path="/srv/data"))
    assert failed
    assert result["msg"].startswith(
        "storage 'local' cannot hold rootdir (its content types: iso, vztmpl, backup, images)"
    )
    assert requests_made(api) == GETS + [("GET", "/nodes/pve1/storage", {"storage": "local"})]


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(mountpoint="mp0", size=8), "mp0 is empty on container 200: creating a mount point needs path"),
        (dict(mountpoint="mp0", path="/x"), "creating a mount point needs storage and size"),
    ],
)
def test_create_without_what_it_needs(api, args, message):
    container(api)
    result, failed = run(args)
    assert failed and message in result["msg"], result
    assert requests_made(api) == GETS


@pytest.mark.parametrize(
    "config, args, message",
    [
        (dict(mp0=MP0), dict(storage="other"), "is on storage local-lvm, not other; moving volumes is not done"),
        (dict(mp0=MP0), dict(volume="/srv"), "holds local-lvm:vm-200-disk-1, not /srv; remove it (state=absent)"),
        (
            dict(mp0="/srv/media,mp=/m"),
            dict(size=4),
            "mp0 (/srv/media) of container 200 is a bind mount of a host path: it has no size",
        ),
        (
            dict(mp0="/srv/media,mp=/m"),
            dict(state="absent", purge=True),
            "is a bind mount of /srv/media: there is no volume to destroy",
        ),
        (dict(mp0="/srv/media,mp=/m"), dict(ro=True), "writing mp0 as a bind mount needs api_user root@pam"),
    ],
)
def test_existing_mount_point_refusals(api, config, args, message):
    container(api, dict(CONFIG, **config))
    result, failed = run(dict(mountpoint="mp0", **args))
    assert failed and message in result["msg"], result
    assert requests_made(api) == GETS


def test_proxmox_refusal_is_reported_with_nothing_changed(api):
    container(api, dict(CONFIG, mp0=MP0))
    content(api, ("local-lvm:vm-200-disk-1", 8 * GIB))
    pve_error(api, "PUT", PATH + "/resize", "unable to shrink disk size")
    reread(api, dict(CONFIG, mp0=MP0), "d1")
    result, failed = run(dict(mountpoint="mp0", size="9G"))
    assert failed and "unable to shrink disk size" in result["msg"], result
    assert "nothing was changed" in result["msg"] and result["changed"] is False
