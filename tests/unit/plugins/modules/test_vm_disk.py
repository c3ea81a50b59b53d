"""vm_disk against a faked HTTP API: exact requests (digest included), tasks, idempotence, check/diff, bad input."""

import pytest
from harness import DIGEST_MISMATCH, pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

PATH = "nodes/pve1/qemu/100"
SCSI0 = "local-lvm:vm-100-disk-0,iothread=1,size=8G"
DISK1 = "local-lvm:vm-100-disk-1,discard=on,iothread=1,size=32G"
CONFIG = {
    "name": "web01",
    "memory": "2048",
    "scsihw": "virtio-scsi-single",
    "boot": "order=scsi0;ide2;net0",
    "scsi0": SCSI0,
    "ide2": "none,media=cdrom",
    "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0",
}
UPID = "UPID:pve1:000A1B2C:0012D687:67A0B1C2:qmconfig:100:root@pam!ci:"
RESIZE_UPID = "UPID:pve1:000A1B3D:0012D9A0:67A0B1D0:qmresize:100:root@pam!ci:"
LVM = {
    "storage": "local-lvm",
    "type": "lvmthin",
    "content": "rootdir,images",
    "enabled": 1,
    "active": 1,
    "shared": 0,
    "total": 68182605824,
    "used": 4294967296,
    "avail": 63887638528,
    "used_fraction": 0.063,
}

GETS = [("GET", "/cluster/resources", {"type": "vm"}), ("GET", "/" + PATH + "/pending", {})]
STORAGE_GET = ("GET", "/nodes/pve1/storage", {"storage": "local-lvm"})
CONTENT_GET = ("GET", "/nodes/pve1/storage/local-lvm/content", {"content": "images", "vmid": "100"})
GIB = 1024**3
MIB = 1024**2


def guest(api, config=None, digest="d1", **kw):
    config = CONFIG if config is None else config
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )
    reread(api, config, digest, **kw)


def reread(api, config, digest, **kw):
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def storage(api, name="local-lvm", items=None):
    api.get(
        url("nodes/pve1/storage"),
        json={"data": [dict(LVM)] if items is None else items},
        match=[matchers.query_param_matcher({"storage": name})],
    )


def content(api, *volumes):
    """GET .../storage/local-lvm/content?content=images&vmid=100: the volumes' actual sizes."""
    items = [{"volid": volid, "format": "raw", "size": size, "vmid": 100} for volid, size in volumes]
    api.get(
        url("nodes/pve1/storage/local-lvm/content"),
        json={"data": items},
        match=[matchers.query_param_matcher({"content": "images", "vmid": "100"})],
    )


def task(api, upid, exitstatus="OK", running=0, log=None):
    kind = upid.split(":")[5]
    status = url(f"nodes/pve1/tasks/{upid}/status")
    base = {
        "upid": upid,
        "node": "pve1",
        "pid": 662316,
        "pstart": 1234567,
        "starttime": 1738584514,
        "type": kind,
        "id": "100",
        "user": "root@pam!ci",
    }
    for _poll in range(running):
        api.get(status, json={"data": dict(base, status="running")})
    api.get(status, json={"data": dict(base, status="stopped", exitstatus=exitstatus)})
    if log is not None:
        api.get(
            url(f"nodes/pve1/tasks/{upid}/log"),
            json={"data": [{"n": i + 1, "t": t} for i, t in enumerate(log)]},
            match=[matchers.query_param_matcher({"start": "0", "limit": "500"})],
        )


def status_get(upid):
    return ("GET", f"/nodes/pve1/tasks/{upid}/status", {})


def post_config(api, body, data=UPID):
    api.post(url(PATH + "/config"), json={"data": data}, match=[matchers.urlencoded_params_matcher(body)])


def config_task(api, body):
    """A drive write: POST .../config answers the qmconfig UPID, whose status is then polled once."""
    post_config(api, body)
    task(api, UPID)


def put_resize(api, body):
    api.put(url(PATH + "/resize"), json={"data": RESIZE_UPID}, match=[matchers.urlencoded_params_matcher(body)])


def grow_to_40g(api):
    """scsi1 grows 32G -> 40G: config read, volume listing, resize and its task, re-read; the grown drive."""
    guest(api, dict(CONFIG, scsi1=DISK1))
    content(api, ("local-lvm:vm-100-disk-0", 8 * GIB), ("local-lvm:vm-100-disk-1", 32 * GIB))
    put_resize(api, {"disk": "scsi1", "size": "40G", "digest": "d1"})
    task(api, RESIZE_UPID)
    grown = DISK1.replace("size=32G", "size=40G")
    reread(api, dict(CONFIG, scsi1=grown), "d2")
    return grown


# --- create -----------------------------------------------------------------------------------------------


def test_create_in_given_slot_posts_and_waits_for_the_task(api):
    guest(api)
    storage(api)
    new = "local-lvm:32,discard=on,iothread=1"
    post_config(api, {"scsi1": new, "digest": "d1"})
    task(api, UPID, running=1)
    reread(api, dict(CONFIG, scsi1=DISK1), "d2")
    result, failed = run_module(
        "vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size="32G", discard=True, iothread=True, ssd=False)
    )
    assert not failed, result
    assert requests_made(api) == GETS + [
        STORAGE_GET,
        ("POST", "/" + PATH + "/config", {"scsi1": new, "digest": "d1"}),
        status_get(UPID),
        status_get(UPID),
        GETS[1],
    ]
    assert result["changed"] is True
    assert result["disk"] == "scsi1" and result["volume"] == "local-lvm:vm-100-disk-1" and result["size"] == "32G"
    assert result["task"] == UPID
    assert result["diff"] == {"before": {}, "after": {"scsi1": DISK1}}
    assert result["config"]["scsi1"] == DISK1
    assert result["msg"] == "create scsi1 (32G on local-lvm) of QEMU VM 100 on pve1"


def test_create_in_first_free_slot_remembers_it(api):
    config = dict(CONFIG, scsi1=DISK1)
    guest(api, config)
    storage(api)
    post_config(api, {"scsi2": "local-lvm:0.5", "digest": "d1"})
    task(api, UPID)
    new = "local-lvm:vm-100-disk-2,size=512M"
    reread(api, dict(config, scsi2=new), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, storage="local-lvm", size="512M"))
    assert not failed, result
    assert writes(api) == [("POST", "/" + PATH + "/config", {"scsi2": "local-lvm:0.5", "digest": "d1"})]
    assert result["disk"] == "scsi2" and result["volume"] == "local-lvm:vm-100-disk-2" and result["size"] == "512M"
    assert result["diff"] == {"before": {}, "after": {"scsi2": new}}


def test_first_free_slot_of_another_bus_skips_a_slot_whose_removal_is_pending(api):
    config = dict(CONFIG, virtio0="local-lvm:vm-100-disk-3,size=4G")
    guest(api, config, deletes=("virtio0",))
    storage(api)
    post_config(api, {"virtio1": "local-lvm:4", "digest": "d1"})
    task(api, UPID)
    reread(api, dict(config, virtio1="local-lvm:vm-100-disk-4,size=4G"), "d2", deletes=("virtio0",))
    result, failed = run_module("vm_disk", dict(vmid=100, bus="virtio", storage="local-lvm", size=4))
    assert not failed, result
    assert result["disk"] == "virtio1"
    assert writes(api) == [("POST", "/" + PATH + "/config", {"virtio1": "local-lvm:4", "digest": "d1"})]


def test_create_with_format_and_options_off_by_default_left_out(api):
    guest(api)
    storage(
        api,
        "local",
        [{"storage": "local", "type": "dir", "content": "iso,vztmpl,backup,images", "enabled": 1, "active": 1}],
    )
    post_config(api, {"sata0": "local:10,format=qcow2,cache=writeback,backup=0", "digest": "d1"})
    task(api, UPID)
    reread(api, dict(CONFIG, sata0="local:100/vm-100-disk-1.qcow2,backup=0,cache=writeback,size=10G"), "d2")
    result, failed = run_module(
        "vm_disk",
        dict(
            vmid=100,
            disk="sata0",
            storage="local",
            size=10,
            format="qcow2",
            cache="writeback",
            backup=False,
            ssd=False,
            discard=False,
        ),
    )
    assert not failed, result
    assert result["volume"] == "local:100/vm-100-disk-1.qcow2"
    assert len(writes(api)) == 1


def test_task_with_warnings_is_success(api):
    guest(api)
    storage(api)
    post_config(api, {"scsi1": "local-lvm:32", "digest": "d1"})
    task(api, UPID, exitstatus="WARNINGS: 1")
    reread(api, dict(CONFIG, scsi1="local-lvm:vm-100-disk-1,size=32G"), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=32))
    assert not failed, result
    assert result["changed"] is True and result["task"] == UPID


def test_failed_task_reports_the_log_tail(api):
    guest(api)
    storage(api)
    post_config(api, {"scsi1": "local-lvm:32", "digest": "d1"})
    log = [
        "create full clone of drive scsi1",
        '  Volume group "pve" has insufficient free space (100 extents): 8192 required.',
        "TASK ERROR: error during cfs-locked 'storage-local-lvm' operation: lvcreate failed",
    ]
    task(api, UPID, exitstatus="error during cfs-locked 'storage-local-lvm' operation: lvcreate failed", log=log)
    reread(api, CONFIG, "d1")  # the outcome of the failed write is read, not assumed
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=32))
    assert failed
    assert "lvcreate failed" in result["msg"] and "insufficient free space" in result["msg"]
    assert result["msg"].endswith("; the write was accepted; its outcome: no change to the config")
    assert result["changed"] is False and "scsi1" not in result["config"]
    assert result["task"] == UPID and result["task_log"] == log
    assert requests_made(api)[-2:] == [
        ("GET", f"/nodes/pve1/tasks/{UPID}/log", {"start": "0", "limit": "500"}),
        GETS[1],
    ]


def test_rerun_is_a_noop_with_two_gets(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    result, failed = run_module(
        "vm_disk",
        dict(
            vmid=100,
            disk="scsi1",
            storage="local-lvm",
            size="32G",
            discard=True,
            iothread=True,
            ssd=False,
            backup=True,
            cache="none",
        ),
    )
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == GETS
    assert result["diff"] == {"before": {}, "after": {}}
    assert (result["disk"], result["volume"], result["size"]) == ("scsi1", "local-lvm:vm-100-disk-1", "32G")


def test_check_mode_create_validates_storage_and_predicts(api):
    guest(api)
    storage(api)
    result, failed = run_module(
        "vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=32, ssd=True), check=True, diff=True
    )
    assert not failed, result
    assert result["changed"] is True
    assert requests_made(api) == GETS + [STORAGE_GET]
    assert result["diff"] == {"before": {}, "after": {"scsi1": "local-lvm:32,ssd=1"}}
    assert result["config"]["scsi1"] == "local-lvm:32,ssd=1"
    assert result["disk"] == "scsi1" and "volume" not in result
    assert result["msg"].startswith("would create scsi1")


# --- update ----------------------------------------------------------------------------------------------


def test_grow_sends_resize_with_digest_and_waits(api):
    grown = grow_to_40g(api)
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="40G"))
    assert not failed, result
    assert requests_made(api) == GETS + [
        CONTENT_GET,
        ("PUT", "/" + PATH + "/resize", {"disk": "scsi1", "size": "40G", "digest": "d1"}),
        status_get(RESIZE_UPID),
        GETS[1],
    ]
    assert result["diff"] == {"before": {"scsi1": DISK1}, "after": {"scsi1": grown}}
    assert result["size"] == "40G" and result["task"] == RESIZE_UPID
    assert result["msg"] == "grow scsi1 from 32G to 40G of QEMU VM 100 on pve1"


def test_check_mode_grow_predicts_the_size(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    content(api, ("local-lvm:vm-100-disk-1", 32 * GIB))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=64), check=True)
    assert not failed and result["changed"] is True
    assert writes(api) == []
    assert result["diff"]["after"] == {"scsi1": DISK1.replace("size=32G", "size=64G")}


@pytest.mark.parametrize("size", ["16G", 16, "16384M"])
def test_shrink_is_refused(api, size):
    guest(api, dict(CONFIG, scsi1=DISK1))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=size))
    assert failed
    assert "is 32G; shrinking it to 16G is not supported" in result["msg"]
    assert result["msg"].endswith("nothing was changed")
    assert requests_made(api) == GETS


def test_option_change_keeps_the_other_sub_keys(api):
    current = "local-lvm:vm-100-disk-1,aio=native,iothread=1,serial=DATA1,size=32G"
    guest(api, dict(CONFIG, scsi1=current))
    wanted = "local-lvm:vm-100-disk-1,aio=native,iothread=1,serial=DATA1,size=32G,cache=writeback,backup=0"
    config_task(api, {"scsi1": wanted, "digest": "d1"})
    reread(api, dict(CONFIG, scsi1=wanted), "d2")
    result, failed = run_module(
        "vm_disk", dict(vmid=100, disk="scsi1", cache="writeback", backup=False, iothread=True), diff=True
    )
    assert not failed, result
    assert writes(api) == [("POST", "/" + PATH + "/config", {"scsi1": wanted, "digest": "d1"})]
    assert result["diff"] == {"before": {"scsi1": current}, "after": {"scsi1": wanted}}
    assert result["msg"] == "set cache=writeback, backup=0 of scsi1 of QEMU VM 100 on pve1"
    assert result["task"] == UPID


def test_discard_false_changes_on_to_ignore(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    wanted = DISK1.replace("discard=on", "discard=ignore")
    config_task(api, {"scsi1": wanted, "digest": "d1"})
    reread(api, dict(CONFIG, scsi1=wanted), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", discard=False))
    assert not failed, result
    assert writes(api) == [("POST", "/" + PATH + "/config", {"scsi1": wanted, "digest": "d1"})]


def test_resize_and_option_change_are_two_writes_with_their_own_digest(api):
    grown = grow_to_40g(api)
    final = grown + ",cache=writeback"
    config_task(api, {"scsi1": final, "digest": "d2"})
    reread(api, dict(CONFIG, scsi1=final), "d3")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=40, cache="writeback"))
    assert not failed, result
    assert requests_made(api) == GETS + [
        CONTENT_GET,
        ("PUT", "/" + PATH + "/resize", {"disk": "scsi1", "size": "40G", "digest": "d1"}),
        status_get(RESIZE_UPID),
        GETS[1],
        ("POST", "/" + PATH + "/config", {"scsi1": final, "digest": "d2"}),
        status_get(UPID),
        GETS[1],
    ]
    assert result["diff"] == {"before": {"scsi1": DISK1}, "after": {"scsi1": final}}
    assert result["size"] == "40G" and result["task"] == UPID
    assert result["msg"] == ("grow scsi1 from 32G to 40G; set cache=writeback of scsi1 of QEMU VM 100 on pve1")


def test_options_write_failing_after_the_grow_reports_only_the_grow(api):
    # Issue 9.4: the failure listed "grow ... then set cache=writeback" as already applied.
    grown = grow_to_40g(api)
    failing = "UPID:pve1:000A1B5A:0012DB00:67A0B1F0:qmconfig:100:root@pam!ci:"
    post_config(api, {"scsi1": grown + ",cache=writeback", "digest": "d2"}, data=failing)
    task(api, failing, exitstatus="unable to apply cache", log=["TASK ERROR: unable to apply cache"])
    reread(api, dict(CONFIG, scsi1=grown), "d3")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=40, cache="writeback"))
    assert failed
    assert result["msg"].endswith(
        "already applied: grow scsi1 from 32G to 40G; the write was accepted; its outcome: no change to the config"
    ), result["msg"]
    assert result["changed"] is True


def test_check_mode_resize_and_options_predicts_both(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    content(api, ("local-lvm:vm-100-disk-1", 32 * GIB))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=40, cache="writeback"), check=True)
    assert not failed and writes(api) == []
    assert result["diff"] == {
        "before": {"scsi1": DISK1},
        "after": {"scsi1": DISK1.replace("size=32G", "size=40G") + ",cache=writeback"},
    }
    assert result["msg"].startswith("would grow scsi1 from 32G to 40G, then set cache=writeback")


def test_storage_mismatch_is_refused(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="ceph-pool", size=32))
    assert failed
    assert "is on storage local-lvm, not ceph-pool" in result["msg"] and "nothing was changed" in result["msg"]
    assert writes(api) == []


def test_format_mismatch_is_refused(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", format="qcow2"))
    assert failed and "has format raw, not qcow2" in result["msg"]
    assert writes(api) == []


# --- absent ----------------------------------------------------------------------------------------------


def test_detach_leaves_the_volume_unused(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    config_task(api, {"delete": "scsi1", "digest": "d1"})
    reread(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1"), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent"))
    assert not failed, result
    assert requests_made(api) == GETS + [
        ("POST", "/" + PATH + "/config", {"delete": "scsi1", "digest": "d1"}),
        status_get(UPID),
        GETS[1],
    ]
    assert result["diff"] == {"before": {"scsi1": DISK1}, "after": {}}
    assert result["volume"] == "local-lvm:vm-100-disk-1" and "destroyed_volume" not in result
    assert result["config"]["unused0"] == "local-lvm:vm-100-disk-1"


def test_detach_and_purge_deletes_the_unused_entry(api):
    config = dict(CONFIG, scsi1=DISK1, unused0="local-lvm:vm-100-disk-7")
    guest(api, config)
    config_task(api, {"delete": "scsi1", "digest": "d1"})
    detached = dict(CONFIG, unused0="local-lvm:vm-100-disk-7", unused1="local-lvm:vm-100-disk-1")
    reread(api, detached, "d2")
    config_task(api, {"delete": "unused1", "digest": "d2"})
    reread(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-7"), "d3")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent", purge=True))
    assert not failed, result
    assert requests_made(api) == GETS + [
        ("POST", "/" + PATH + "/config", {"delete": "scsi1", "digest": "d1"}),
        status_get(UPID),
        GETS[1],
        ("POST", "/" + PATH + "/config", {"delete": "unused1", "digest": "d2"}),
        status_get(UPID),
        GETS[1],
    ]
    assert result["destroyed_volume"] == "local-lvm:vm-100-disk-1"
    assert result["diff"] == {"before": {"scsi1": DISK1}, "after": {}}
    assert "unused1" not in result["config"] and result["config"]["unused0"] == "local-lvm:vm-100-disk-7"
    assert result["msg"] == (
        "detach scsi1 (volume local-lvm:vm-100-disk-1); destroy volume "
        "local-lvm:vm-100-disk-1 (unused1) of QEMU VM 100 on pve1"
    )


def test_check_mode_purge_says_the_volume_would_be_destroyed(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent", purge=True), check=True)
    assert not failed and result["changed"] is True
    assert writes(api) == []
    assert result["diff"] == {"before": {"scsi1": DISK1}, "after": {}}
    assert result["destroyed_volume"] == "local-lvm:vm-100-disk-1"
    assert result["msg"] == "would detach scsi1 and destroy its volume local-lvm:vm-100-disk-1 of QEMU VM 100 on pve1"


def test_purge_of_a_pending_detach_destroys_nothing(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    config_task(api, {"delete": "scsi1", "digest": "d1"})
    reread(api, dict(CONFIG, scsi1=DISK1), "d2", deletes=("scsi1",))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent", purge=True))
    assert not failed, result
    assert writes(api) == [("POST", "/" + PATH + "/config", {"delete": "scsi1", "digest": "d1"})]
    assert result["changed"] is True
    assert result["pending"] == {"scsi1": None} and result["reboot_required"] is True
    assert "destroyed_volume" not in result
    assert "pending until the VM reboots" in result["msg"] and "was not destroyed" in result["msg"]


def test_absent_on_empty_slot_changes_nothing(api):
    guest(api)
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi5", state="absent", purge=True))
    assert not failed and result["changed"] is False
    assert requests_made(api) == GETS


def test_absent_needs_a_slot(api):
    result, failed = run_module("vm_disk", dict(vmid=100, state="absent"))
    assert failed and "state=absent needs disk" in result["msg"]
    assert requests_made(api) == []


# --- refused before any write ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "items,message",
    [
        ([], "storage 'local-lvm' does not exist on node pve1"),
        ([dict(LVM, enabled=0)], "storage 'local-lvm' is disabled on node pve1"),
        (
            [dict(LVM, content="iso,vztmpl,backup")],
            "storage 'local-lvm' cannot hold images (its content types: iso, vztmpl, backup)",
        ),
    ],
)
@pytest.mark.parametrize("check", [False, True])
def test_unusable_storage_is_refused(api, items, message, check):
    guest(api)
    storage(api, items=items)
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=32), check=check)
    assert failed
    assert message in result["msg"] and result["msg"].endswith("nothing was changed")
    assert requests_made(api) == GETS + [STORAGE_GET]


@pytest.mark.parametrize(
    "slot,message",
    [
        ("scsi31", "'scsi31' is out of range: the scsi bus has slots scsi0 to scsi30"),
        ("ide4", "'ide4' is out of range: the ide bus has slots ide0 to ide3"),
        ("sata6", "'sata6' is out of range: the sata bus has slots sata0 to sata5"),
        ("virtio16", "'virtio16' is out of range: the virtio bus has slots virtio0 to virtio15"),
        ("nvme0", "'nvme0' is not a disk slot"),
        ("efidisk0", "'efidisk0' is not a disk slot"),
        ("scsi", "'scsi' is not a disk slot"),
    ],
)
def test_bad_slot_fails_before_any_request(api, slot, message):
    result, failed = run_module("vm_disk", dict(vmid=100, disk=slot, storage="local-lvm", size=4))
    assert failed and message in result["msg"]
    assert requests_made(api) == []


def test_unknown_bus_is_refused_by_the_argument_spec(api):
    result, failed = run_module("vm_disk", dict(vmid=100, bus="nvme", storage="local-lvm", size=4))
    assert failed and "bus" in result["msg"] and "nvme" in result["msg"]
    assert requests_made(api) == []


def test_bus_contradicting_the_slot(api):
    result, failed = run_module("vm_disk", dict(vmid=100, disk="virtio2", bus="scsi", storage="local-lvm", size=4))
    assert failed and "disk virtio2 is on the virtio bus, not on bus scsi" in result["msg"]
    assert requests_made(api) == []


@pytest.mark.parametrize(
    "args,message",
    [
        (dict(disk="virtio1", ssd=True), "ssd is not an option of virtio disks"),
        (dict(bus="sata", iothread=True), "iothread is not an option of sata disks"),
        (dict(disk="ide1", iothread=False), "iothread is not an option of ide disks"),
    ],
)
def test_option_not_valid_on_the_bus(api, args, message):
    result, failed = run_module("vm_disk", dict(vmid=100, storage="local-lvm", size=4, **args))
    assert failed and message in result["msg"]
    assert requests_made(api) == []


@pytest.mark.parametrize(
    "slot,value,message",
    [
        ("ide2", "none,media=cdrom", "ide2 of VM 100 holds a CD-ROM drive"),
        ("ide2", "local:iso/debian-12.iso,media=cdrom,size=628M", "ide2 of VM 100 holds a CD-ROM drive"),
        ("sata0", "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-1234,size=3726G", "holds the passed-through device /dev/disk/"),
    ],
)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_slot_used_by_something_else(api, slot, value, message, state):
    guest(api, dict(CONFIG, **{slot: value}))
    result, failed = run_module("vm_disk", dict(vmid=100, disk=slot, state=state, size=4, storage="local-lvm"))
    assert failed and message in result["msg"] and "nothing was changed" in result["msg"]
    assert writes(api) == []


@pytest.mark.parametrize(
    "args,missing", [(dict(storage="local-lvm"), "size"), (dict(size=8), "storage"), (dict(), "storage and size")]
)
def test_create_needs_storage_and_size(api, args, missing):
    guest(api)
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", **args))
    assert failed and f"creating a disk there needs {missing}" in result["msg"]
    assert requests_made(api) == GETS


@pytest.mark.parametrize("size", ["big", "0", -4, "4X"])
def test_bad_size_fails_before_any_request(api, size):
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=size))
    assert failed and "size" in result["msg"]
    assert requests_made(api) == []


@pytest.mark.parametrize(
    "size,gib,created",
    [("1.5K", "0.0009765625", "1M"), ("1536.5M", "1.5009765625", "1537M"), ("4097K", "0.0048828125", "5M")],
)
def test_new_disk_size_is_rounded_up_to_whole_mib_and_the_result_says_so(api, size, gib, created):
    # Proxmox allocates what the storage can (LVM: 4 MiB extents); whole MiB fit every storage (storage.py).
    guest(api)
    storage(api)
    post_config(api, {"scsi1": f"local-lvm:{gib}", "digest": "d1"})
    task(api, UPID)
    reread(api, dict(CONFIG, scsi1=f"local-lvm:vm-100-disk-1,size={created}"), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=size))
    assert not failed, result
    assert writes(api) == [("POST", "/" + PATH + "/config", {"scsi1": f"local-lvm:{gib}", "digest": "d1"})]
    assert result["size"] == created and result["size_rounded"] is True
    assert "rounded up to whole MiB" in result["msg"] and result["msg"].startswith(f"create scsi1 ({created} on")


def test_new_disk_of_whole_mib_is_not_rounded(api):
    guest(api)
    storage(api)
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size="100M"), check=True)
    assert not failed, result
    assert result["config"]["scsi1"] == "local-lvm:0.09765625" and "size_rounded" not in result
    assert "rounded" not in result["msg"]


def test_purge_with_present_is_refused(api):
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", purge=True, size=4, storage="local-lvm"))
    assert failed and "purge only applies with state=absent" in result["msg"]


def test_all_slots_of_the_bus_in_use(api):
    full = dict(CONFIG, **{f"ide{i}": f"local-lvm:vm-100-disk-{10 + i},size=1G" for i in range(4)})
    guest(api, full)
    result, failed = run_module("vm_disk", dict(vmid=100, bus="ide", storage="local-lvm", size=1))
    assert failed and "all 4 ide slots are in use" in result["msg"]
    assert writes(api) == []


# --- concurrency -------------------------------------------------------------------------------------------


def test_digest_conflict_on_create_is_re_read_and_retried(api):
    guest(api, digest="d1")
    storage(api)
    pve_error(
        api,
        "POST",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"scsi1": "local-lvm:32", "digest": "d1"})],
    )
    reread(api, dict(CONFIG, description="edited meanwhile"), "d2")
    post_config(api, {"scsi1": "local-lvm:32", "digest": "d2"})
    task(api, UPID)
    reread(api, dict(CONFIG, description="edited meanwhile", scsi1="local-lvm:vm-100-disk-1,size=32G"), "d3")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=32))
    assert not failed, result
    assert [(w[0], w[2]["digest"]) for w in writes(api)] == [("POST", "d1"), ("POST", "d2")]
    assert result["volume"] == "local-lvm:vm-100-disk-1"


def test_digest_conflict_on_purge_step_is_retried(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    config_task(api, {"delete": "scsi1", "digest": "d1"})
    reread(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1"), "d2")
    pve_error(
        api,
        "POST",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"delete": "unused0", "digest": "d2"})],
    )
    reread(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1", memory="4096"), "d3")
    config_task(api, {"delete": "unused0", "digest": "d3"})
    reread(api, dict(CONFIG, memory="4096"), "d4")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent", purge=True))
    assert not failed, result
    assert [w[2] for w in writes(api)] == [
        {"delete": "scsi1", "digest": "d1"},
        {"delete": "unused0", "digest": "d2"},
        {"delete": "unused0", "digest": "d3"},
    ]
    assert result["destroyed_volume"] == "local-lvm:vm-100-disk-1"


def test_conflict_while_picking_the_first_free_slot_picks_again(api):
    guest(api, digest="d1")
    storage(api)
    pve_error(
        api,
        "POST",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"scsi1": "local-lvm:8", "digest": "d1"})],
    )
    taken = dict(CONFIG, scsi1="local-lvm:vm-100-disk-5,size=2G")
    reread(api, taken, "d2")
    post_config(api, {"scsi2": "local-lvm:8", "digest": "d2"})
    task(api, UPID)
    reread(api, dict(taken, scsi2="local-lvm:vm-100-disk-6,size=8G"), "d3")
    result, failed = run_module("vm_disk", dict(vmid=100, storage="local-lvm", size=8))
    assert not failed, result
    assert [(w[0], w[2]) for w in writes(api)] == [
        ("POST", {"scsi1": "local-lvm:8", "digest": "d1"}),
        ("POST", {"scsi2": "local-lvm:8", "digest": "d2"}),
    ]
    assert (result["disk"], result["volume"]) == ("scsi2", "local-lvm:vm-100-disk-6")
    assert result["diff"] == {"before": {}, "after": {"scsi2": "local-lvm:vm-100-disk-6,size=8G"}}


def test_stale_digest_reported_by_the_resize_task_is_re_read_and_retried(api):
    # qemu-server checks the digest of a resize inside the task: the PUT answers a UPID and the task ends
    # with "checksum mismatch"; the module must re-read and resize again with the new digest.
    guest(api, dict(CONFIG, scsi1=DISK1))
    content(api, ("local-lvm:vm-100-disk-1", 32 * GIB))
    stale = "UPID:pve1:000A1B3E:0012D9A1:67A0B1D1:resize:100:root@pam!ci:"
    api.put(
        url(PATH + "/resize"),
        json={"data": stale},
        match=[matchers.urlencoded_params_matcher({"disk": "scsi1", "size": "40G", "digest": "d1"})],
    )
    task(api, stale, exitstatus="checksum mismatch (file change by other user?)")
    reread(api, dict(CONFIG, scsi1=DISK1, description="edited meanwhile"), "d2")
    put_resize(api, {"disk": "scsi1", "size": "40G", "digest": "d2"})
    task(api, RESIZE_UPID)
    grown = DISK1.replace("size=32G", "size=40G")
    reread(api, dict(CONFIG, scsi1=grown, description="edited meanwhile"), "d3")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="40G"))
    assert not failed, result
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]
    assert result["changed"] is True and result["task"] == RESIZE_UPID


# --- sizes as the storage allocates them (issue 13.5) -------------------------------------------------------

SMALL = "local-lvm:vm-100-disk-1,iothread=1,size=10M"


def test_rerun_after_the_storage_rounded_up_is_no_change(api):
    # An option write makes qemu-server record the volume's actual size (create_disks: volume_size_info):
    # LVM made the 10M disk 12M (4 MiB extents); asking 10M again is no shrink and no change.
    guest(api, dict(CONFIG, scsi1=SMALL.replace("size=10M", "size=12M")))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="10M"))
    assert not failed, result
    assert result["changed"] is False and result["size"] == "12M" and result["size_rounded"] is True
    assert requests_made(api) == GETS


@pytest.mark.parametrize("asked,rounded", [("9.5M", True), ("8193K", True), ("12M", False)])
def test_larger_by_less_than_an_extent_is_rounding_decided_without_a_request(api, asked, rounded):
    guest(api, dict(CONFIG, scsi1=SMALL.replace("size=10M", "size=12M")))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=asked))
    assert not failed, result
    assert result["changed"] is False and result.get("size_rounded", False) is rounded
    assert requests_made(api) == GETS


def test_shrink_beyond_the_extent_is_refused(api):
    guest(api, dict(CONFIG, scsi1=SMALL.replace("size=10M", "size=12M")))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="7M"))
    assert failed and "is 12M; shrinking it to 7M is not supported; nothing was changed" in result["msg"]
    assert writes(api) == []


def test_grow_that_the_volume_already_has_is_done_without_a_write(api):
    # config says 10M, the LVM volume is 12M: resize_vm would answer "shrinking disks is not supported" to 11M
    # and return without writing for 12M, so neither is sent.
    guest(api, dict(CONFIG, scsi1=SMALL))
    content(api, ("local-lvm:vm-100-disk-1", 12 * MIB))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="11M"))
    assert not failed, result
    assert result["changed"] is False and result["size_rounded"] is True and result["size"] == "10M"
    assert requests_made(api) == GETS + [CONTENT_GET]


def test_grow_is_asked_in_whole_mib(api):
    guest(api, dict(CONFIG, scsi1=SMALL))
    content(api, ("local-lvm:vm-100-disk-1", 10 * MIB))
    put_resize(api, {"disk": "scsi1", "size": "12M", "digest": "d1"})
    task(api, RESIZE_UPID)
    reread(api, dict(CONFIG, scsi1=SMALL.replace("size=10M", "size=12M")), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="11.5M"))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/resize", {"disk": "scsi1", "size": "12M", "digest": "d1"})]
    assert result["changed"] is True and result["size"] == "12M" and result["size_rounded"] is True


def test_grow_when_the_volume_size_cannot_be_listed_leaves_the_check_to_proxmox(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    pve_error(api, "GET", "nodes/pve1/storage/local-lvm/content", "Permission check failed", status=403)
    put_resize(api, {"disk": "scsi1", "size": "40G", "digest": "d1"})
    task(api, RESIZE_UPID)
    reread(api, dict(CONFIG, scsi1=DISK1.replace("size=32G", "size=40G")), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="40G"))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/resize", {"disk": "scsi1", "size": "40G", "digest": "d1"})]


# --- resize decisions on the drive in effect (issue 13.6) ----------------------------------------------------


def test_grow_with_a_pending_option_change_resizes_once(api):
    # Running VM, cache=writeback pending on scsi1. resize_vm rewrites the current drive only, so after the
    # resize the pending value still says 32G: the size is compared with the current one, the cache with the
    # pending one, and the run ends after one resize.
    pending_value = DISK1 + ",cache=writeback"
    guest(api, dict(CONFIG, scsi1=DISK1), pending_values={"scsi1": pending_value})
    content(api, ("local-lvm:vm-100-disk-1", 32 * GIB))
    put_resize(api, {"disk": "scsi1", "size": "40G", "digest": "d1"})
    task(api, RESIZE_UPID)
    grown = DISK1.replace("size=32G", "size=40G")
    reread(api, dict(CONFIG, scsi1=grown), "d2", pending_values={"scsi1": pending_value})
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="40G", cache="writeback"))
    assert not failed, result
    assert requests_made(api) == GETS + [
        CONTENT_GET,
        ("PUT", "/" + PATH + "/resize", {"disk": "scsi1", "size": "40G", "digest": "d1"}),
        status_get(RESIZE_UPID),
        GETS[1],
    ]
    assert result["changed"] is True and result["size"] == "40G"
    assert result["pending"] == {"scsi1": pending_value}


def test_check_mode_grow_of_a_pending_drive_predicts_what_the_resize_writes(api):
    # resize_vm writes size= into the current drive only: the pending-applied config (diff, config) keeps the
    # pending drive as it is, in the prediction as after the real change.
    pending_value = DISK1 + ",cache=writeback"
    guest(api, dict(CONFIG, scsi1=DISK1), pending_values={"scsi1": pending_value})
    content(api, ("local-lvm:vm-100-disk-1", 32 * GIB))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="40G"), check=True)
    assert not failed and result["changed"] is True and writes(api) == []
    assert result["diff"] == {"before": {"scsi1": pending_value}, "after": {"scsi1": pending_value}}
    assert result["msg"].startswith("would grow scsi1 from 32G to 40G")


def test_rerun_after_growing_a_disk_with_a_pending_change_is_no_change(api):
    pending_value = DISK1 + ",cache=writeback"
    guest(api, dict(CONFIG, scsi1=DISK1.replace("size=32G", "size=40G")), pending_values={"scsi1": pending_value})
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="40G", cache="writeback"))
    assert not failed, result
    assert result["changed"] is False and requests_made(api) == GETS


def test_option_change_is_compared_with_the_pending_drive(api):
    pending_value = DISK1 + ",cache=writeback"
    guest(api, dict(CONFIG, scsi1=DISK1), pending_values={"scsi1": pending_value})
    wanted = pending_value.replace("cache=writeback", "cache=unsafe")
    config_task(api, {"scsi1": wanted, "digest": "d1"})
    reread(api, dict(CONFIG, scsi1=DISK1), "d2", pending_values={"scsi1": wanted})
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size="32G", cache="unsafe"))
    assert not failed, result
    assert writes(api) == [("POST", "/" + PATH + "/config", {"scsi1": wanted, "digest": "d1"})]


def test_grow_of_a_disk_that_is_only_pending_is_refused(api):
    guest(api, CONFIG, pending_values={"sata0": "local-lvm:vm-100-disk-4,size=4G"})
    result, failed = run_module("vm_disk", dict(vmid=100, disk="sata0", size="8G"))
    assert failed
    assert "sata0 (local-lvm:vm-100-disk-4) of VM 100 is pending until the VM reboots" in result["msg"]
    assert "grow it to 8G after the reboot; nothing was changed" in result["msg"]
    assert requests_made(api) == GETS


# --- if_exists: fail (issue 9.5) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slot,config,kw,words",
    [
        ("scsi0", CONFIG, {}, "slot scsi0 of QEMU VM 100 is in use (local-lvm:vm-100-disk-0, 8G)"),
        ("ide2", CONFIG, {}, "slot ide2 of QEMU VM 100 is in use (CD-ROM drive none)"),
        (
            "scsi1",
            dict(CONFIG, scsi1=DISK1),
            dict(deletes=("scsi1",)),
            "slot scsi1 of QEMU VM 100 is in use (local-lvm:vm-100-disk-1, 32G, its removal pending until the VM "
            "reboots)",
        ),
        ("sata0", CONFIG, dict(pending_values={"sata0": "local-lvm:vm-100-disk-4,size=4G"}), "slot sata0"),
    ],
)
def test_if_exists_fail_refuses_an_occupied_slot_before_any_write(api, slot, config, kw, words):
    guest(api, config, **kw)
    result, failed = run_module(
        "vm_disk", dict(vmid=100, disk=slot, storage="local-lvm", size=64, cache="writeback", if_exists="fail")
    )
    assert failed
    assert words in result["msg"] and result["msg"].endswith("if_exists=fail creates disks only; nothing was changed")
    assert requests_made(api) == GETS


def test_if_exists_fail_creates_in_an_empty_slot_and_accepts_its_own_disk_after_the_write(api):
    guest(api)
    storage(api)
    post_config(api, {"scsi1": "local-lvm:64", "digest": "d1"})
    task(api, UPID)
    reread(api, dict(CONFIG, scsi1="local-lvm:vm-100-disk-1,size=64G"), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", storage="local-lvm", size=64, if_exists="fail"))
    assert not failed, result
    assert result["changed"] is True and result["volume"] == "local-lvm:vm-100-disk-1"
    assert len(writes(api)) == 1


def test_if_exists_fail_with_the_first_free_slot(api):
    guest(api)
    storage(api)
    result, failed = run_module("vm_disk", dict(vmid=100, storage="local-lvm", size=4, if_exists="fail"), check=True)
    assert not failed and result["disk"] == "scsi1" and result["changed"] is True


def test_if_exists_update_is_the_default(api):
    guest(api, dict(CONFIG, scsi1=DISK1))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", cache="writeback"), check=True)
    assert not failed and result["changed"] is True


def test_if_exists_rejects_other_values(api):
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", size=4, if_exists="replace"))
    assert failed and "if_exists" in result["msg"] and requests_made(api) == []


# --- volumes left behind (issue 9.4) -------------------------------------------------------------------------

SNAPSHOT_HELD = "unable to delete 'local-lvm:vm-100-disk-1' - volume is still in use (snapshot?)"


def detach_then_fail_destroy(api, message):
    # qemu-server's delete=unusedN runs try_deallocate_drive inside the qmconfig task: its error is the task's
    # exit status (the engine reads the log tail).
    guest(api, dict(CONFIG, scsi1=DISK1))
    config_task(api, {"delete": "scsi1", "digest": "d1"})
    reread(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1"), "d2")
    failing = "UPID:pve1:000A1B4F:0012DA00:67A0B1E0:qmconfig:100:root@pam!ci:"
    post_config(api, {"delete": "unused0", "digest": "d2"}, data=failing)
    task(api, failing, exitstatus=message, log=["TASK ERROR: " + message])
    reread(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1"), "d3")
    return run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent", purge=True))


def test_destroy_held_by_a_snapshot_names_the_unused_entry_left_behind(api):
    result, failed = detach_then_fail_destroy(api, SNAPSHOT_HELD)
    assert failed
    assert result["msg"].endswith(
        SNAPSHOT_HELD + "; volume local-lvm:vm-100-disk-1 stays as unused0 of QEMU VM 100: a snapshot still uses "
        "it; delete the snapshots that hold it, then run again with disk: unused0, state: absent, purge: true; "
        "already applied: detach scsi1 (volume local-lvm:vm-100-disk-1); "
        "the write was accepted; its outcome: no change to the config"
    )
    assert result["unused"] == "unused0" and result["volume"] == "local-lvm:vm-100-disk-1"
    assert "destroyed_volume" not in result


def test_other_destroy_failure_says_it_was_not_confirmed(api):
    result, failed = detach_then_fail_destroy(api, "storage 'local-lvm' is not online")
    assert failed
    assert (
        "volume local-lvm:vm-100-disk-1 (unused0 of QEMU VM 100) was not confirmed destroyed: to destroy it, run "
        "again with disk: unused0, state: absent, purge: true; already applied: detach scsi1" in result["msg"]
    )
    assert result["unused"] == "unused0"


def test_naming_the_unused_entry_destroys_its_volume(api):
    config = dict(CONFIG, unused0="local-lvm:vm-100-disk-1", unused1="local-lvm:vm-100-disk-7")
    guest(api, config)
    config_task(api, {"delete": "unused0", "digest": "d1"})
    reread(api, dict(CONFIG, unused1="local-lvm:vm-100-disk-7"), "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="UNUSED0", state="absent", purge=True))
    assert not failed, result
    assert requests_made(api) == GETS + [
        ("POST", "/" + PATH + "/config", {"delete": "unused0", "digest": "d1"}),
        status_get(UPID),
        GETS[1],
    ]
    assert result["changed"] is True and result["destroyed_volume"] == "local-lvm:vm-100-disk-1"
    assert result["disk"] == "unused0" and result["volume"] == "local-lvm:vm-100-disk-1"
    assert result["diff"] == {"before": {"unused0": "local-lvm:vm-100-disk-1"}, "after": {}}
    assert result["msg"] == "destroy volume local-lvm:vm-100-disk-1 (unused0) of QEMU VM 100 on pve1"


def test_naming_the_unused_entry_in_check_mode(api):
    guest(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1"))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="unused0", state="absent", purge=True), check=True)
    assert not failed and result["changed"] is True and writes(api) == []
    assert result["destroyed_volume"] == "local-lvm:vm-100-disk-1"


def test_naming_an_empty_unused_entry_is_no_change(api):
    guest(api)
    result, failed = run_module("vm_disk", dict(vmid=100, disk="unused3", state="absent", purge=True))
    assert not failed and result["changed"] is False and requests_made(api) == GETS
    assert result["disk"] == "unused3" and "destroyed_volume" not in result


def test_unused_entry_of_a_volume_the_vm_does_not_own_is_removed_without_claiming_a_destroy(api):
    guest(api, dict(CONFIG, unused0="local-lvm:vm-200-disk-0"))
    config_task(api, {"delete": "unused0", "digest": "d1"})
    reread(api, CONFIG, "d2")
    result, failed = run_module("vm_disk", dict(vmid=100, disk="unused0", state="absent", purge=True))
    assert not failed, result
    assert "destroyed_volume" not in result
    assert "volume local-lvm:vm-200-disk-0 is not owned by VM 100, so Proxmox keeps it" in result["msg"]


@pytest.mark.parametrize(
    "args,words",
    [
        (dict(state="absent"), "removing unused0 destroys its volume"),
        (dict(state="present", size=4, storage="local-lvm"), "disk unused0 is an unused volume, not a disk slot"),
        (dict(state="absent", purge=True, disk="unused256"), "'unused256' is out of range: unused volumes are unused0"),
    ],
)
def test_unused_entry_needs_absent_and_purge(api, args, words):
    result, failed = run_module("vm_disk", dict(dict(vmid=100, disk="unused0"), **args))
    assert failed and words in result["msg"] and result["msg"].endswith("nothing was changed")
    assert requests_made(api) == []


def test_rerun_of_the_purge_after_a_failed_destroy_names_the_unused_volumes(api):
    guest(api, dict(CONFIG, unused0="local-lvm:vm-100-disk-1"))
    result, failed = run_module("vm_disk", dict(vmid=100, disk="scsi1", state="absent", purge=True))
    assert not failed and result["changed"] is False and requests_made(api) == GETS
    assert result["unused"] == {"unused0": "local-lvm:vm-100-disk-1"}
    assert result["msg"] == (
        "scsi1 of QEMU VM 100 on pve1 is empty, nothing to detach; the VM keeps the unused volumes unused0 "
        "(local-lvm:vm-100-disk-1): to destroy one, run with disk: unusedN, state: absent, purge: true"
    )
