"""apply.apply_change with tiny plan functions: conflicts, locks, writes that do not stick, multi-step plans."""

import pytest
from harness import DIGEST_MISMATCH, pending, pve_error, requests_made, url, writes
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.apply import MAX_CONFLICTS, apply_change
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import (
    ApiError,
    ConfigChanged,
    GuestLocked,
    GuestNotFound,
)
from ansible_collections.pve.config.plugins.module_utils.guest import Guest
from ansible_collections.pve.config.plugins.module_utils.units import parse_size

VM = Guest(100, "pve1", "qemu")
CT = Guest(200, "pve1", "lxc")
CONFIG = {"memory": "2048", "cores": 2, "scsi0": "local-lvm:vm-100-disk-0,size=32G"}
UPID = "UPID:pve1:00001234:00ABCDEF:66000000:resize:100:root@pam:"
CONFIG_UPID = "UPID:pve1:00001235:00ABCDF0:66000001:qmconfig:100:root@pam:"
PARAMS = dict(memory="4096", lock_timeout=0, task_timeout=10)


def plan_memory(ctx):
    if ctx.config.get("memory") == ctx.params["memory"]:
        return Change()
    return Change(set={"memory": ctx.params["memory"]})


def plan_disk(ctx):
    """Grow scsi0 first, then set its cache: two steps, each with its own digest."""
    values = property_string.parse(ctx.config["scsi0"], "qemu_scsi")
    if parse_size(values["size"], default_unit="") < parse_size(ctx.params["size"]):
        return Change(resize={"scsi0": ctx.params["size"]}, disk_formats={"scsi0": "qemu_scsi"})
    text, changed = property_string.merge(ctx.config["scsi0"], {"cache": ctx.params["cache"]}, "qemu_scsi")
    return Change(set={"scsi0": text}) if changed else Change()


def read(api, config, digest, guest=VM, **kw):
    api.get(url(guest.path + "/pending"), json=pending(config, digest, **kw))


def put(api, body, guest=VM, answer=None):
    api.put(url(guest.path + "/config"), json={"data": answer}, match=[matchers.urlencoded_params_matcher(body)])


def post(api, body, guest=VM):
    """A QEMU write that goes through the task API: the qmconfig UPID, then its status."""
    api.post(url(guest.path + "/config"), json={"data": CONFIG_UPID}, match=[matchers.urlencoded_params_matcher(body)])
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})


def test_noop_is_one_read(api, pve):
    read(api, dict(CONFIG, memory="4096"), "d1")
    result = apply_change(pve, VM, PARAMS, plan_memory)
    assert result["changed"] is False and result["diff"] == {"before": {}, "after": {}}
    assert requests_made(api) == [("GET", "/nodes/pve1/qemu/100/pending", {})]
    assert result["msg"] == "QEMU VM 100 on pve1 already as requested"


def test_change_then_pending_read(api, pve):
    read(api, CONFIG, "d1")
    put(api, {"memory": "4096", "digest": "d1"})
    read(api, CONFIG, "d2", pending_values={"memory": "4096"})
    result = apply_change(pve, VM, PARAMS, plan_memory)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"memory": "2048"}, "after": {"memory": "4096"}}
    assert result["pending"] == {"memory": "4096"} and result["reboot_required"] is True
    assert result["msg"] == "set memory of QEMU VM 100 on pve1 (pending until reboot: memory)"
    assert "task" not in result


def test_check_mode_predicts_without_writing(api, pve):
    read(api, CONFIG, "d1")
    result = apply_change(pve, VM, PARAMS, plan_memory, check_mode=True)
    assert result["changed"] is True and result["config"]["memory"] == "4096"
    assert result["msg"] == "would set memory of QEMU VM 100 on pve1"
    assert writes(api) == []


def test_too_many_digest_conflicts(api, pve):
    for n in range(MAX_CONFLICTS + 1):
        read(api, CONFIG, f"d{n}")
        pve_error(
            api,
            "PUT",
            VM.path + "/config",
            DIGEST_MISMATCH,
            match=[matchers.urlencoded_params_matcher({"memory": "4096", "digest": f"d{n}"})],
        )
    with pytest.raises(ConfigChanged) as exc:
        apply_change(pve, VM, PARAMS, plan_memory)
    assert exc.value.msg == (
        f"the config of QEMU VM 100 kept changing during the update ({MAX_CONFLICTS + 1} digest conflicts); "
        "nothing was changed"
    )
    assert [w[2]["digest"] for w in writes(api)] == [f"d{n}" for n in range(MAX_CONFLICTS + 1)]


def test_lock_answered_on_the_write_is_waited_for_then_retried(api, pve):
    read(api, CONFIG, "d1")
    pve_error(api, "PUT", VM.path + "/config", "VM 100 is locked (backup)")
    read(api, CONFIG, "d2")
    put(api, {"memory": "4096", "digest": "d2"})
    read(api, dict(CONFIG, memory="4096"), "d3")
    result = apply_change(pve, VM, dict(PARAMS, lock_timeout=30), plan_memory)
    assert result["changed"] is True and result["pending"] == {}
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]


def test_lock_answered_on_the_write_that_stays(api, pve):
    read(api, CONFIG, "d1")
    pve_error(api, "PUT", VM.path + "/config", "VM 100 is locked (backup)")
    with pytest.raises(GuestLocked) as exc:
        apply_change(pve, VM, PARAMS, plan_memory)
    assert exc.value.msg == (
        "QEMU VM 100 is locked (backup) and stayed locked for 0s (lock_timeout); nothing was changed"
    )
    assert exc.value.details == {"lock": "backup"}


def test_lock_in_the_config_is_waited_for_before_writing(api, pve):
    read(api, dict(CONFIG, lock="snapshot"), "d1")
    read(api, CONFIG, "d2")
    put(api, {"memory": "4096", "digest": "d2"})
    read(api, dict(CONFIG, memory="4096"), "d3")
    result = apply_change(pve, VM, dict(PARAMS, lock_timeout=30), plan_memory)
    assert result["changed"] is True
    assert writes(api) == [("PUT", "/" + VM.path + "/config", {"memory": "4096", "digest": "d2"})]


def test_write_that_does_not_stick(api, pve):
    read(api, CONFIG, "d1")
    put(api, {"memory": "4096", "digest": "d1"})
    read(api, CONFIG, "d2")  # Proxmox said yes, but memory is still 2048
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_memory)
    assert exc.value.msg == (
        "Proxmox accepted the change of QEMU VM 100 but memory still differs from what was asked (set memory); "
        "already applied: set memory"
    )
    assert len(writes(api)) == 1


def test_multi_step_plan_resizes_then_sets_with_a_fresh_digest_each_time(api, pve):
    read(api, CONFIG, "d1")
    api.put(
        url(VM.path + "/resize"),
        json={"data": UPID},
        match=[matchers.urlencoded_params_matcher({"disk": "scsi0", "size": "40G", "digest": "d1"})],
    )
    api.get(url(f"nodes/pve1/tasks/{UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})
    read(api, dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,size=40G"), "d2")
    post(api, {"scsi0": "local-lvm:vm-100-disk-0,size=40G,cache=writeback", "digest": "d2"})
    read(api, dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,size=40G,cache=writeback"), "d3")
    result = apply_change(pve, VM, dict(PARAMS, size="40G", cache="writeback"), plan_disk)
    assert [(m, p) for m, p, _params in requests_made(api)] == [
        ("GET", "/nodes/pve1/qemu/100/pending"),
        ("PUT", "/nodes/pve1/qemu/100/resize"),
        ("GET", f"/nodes/pve1/tasks/{UPID}/status"),
        ("GET", "/nodes/pve1/qemu/100/pending"),
        ("POST", "/nodes/pve1/qemu/100/config"),
        ("GET", f"/nodes/pve1/tasks/{CONFIG_UPID}/status"),
        ("GET", "/nodes/pve1/qemu/100/pending"),
    ]
    assert result["changed"] is True and result["task"] == CONFIG_UPID
    assert result["diff"] == {
        "before": {"scsi0": "local-lvm:vm-100-disk-0,size=32G"},
        "after": {"scsi0": "local-lvm:vm-100-disk-0,size=40G,cache=writeback"},
    }
    assert result["msg"] == "resize scsi0 to 40G; set scsi0 of QEMU VM 100 on pve1"


def test_multi_step_check_mode_shows_the_first_step(api, pve):
    read(api, CONFIG, "d1")
    result = apply_change(pve, VM, dict(PARAMS, size="40G", cache="writeback"), plan_disk, check_mode=True)
    assert result["diff"] == {
        "before": {"scsi0": "local-lvm:vm-100-disk-0,size=32G"},
        "after": {"scsi0": "local-lvm:vm-100-disk-0,size=40G"},
    }
    assert writes(api) == []


def test_failure_after_a_step_names_what_was_already_applied(api, pve):
    read(api, CONFIG, "d1")
    api.put(url(VM.path + "/resize"), json={"data": None})
    read(api, dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,size=40G"), "d2")
    for n in range(MAX_CONFLICTS + 1):
        pve_error(api, "POST", VM.path + "/config", DIGEST_MISMATCH)
        read(api, dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,size=40G"), f"d{n + 3}")
    with pytest.raises(ConfigChanged) as exc:
        apply_change(pve, VM, dict(PARAMS, size="40G", cache="none"), plan_disk)
    assert exc.value.msg.endswith("digest conflicts); already applied: resize scsi0 to 40G")


def test_guest_gone_after_a_write(api, pve):
    read(api, CONFIG, "d1")
    api.put(url(VM.path + "/resize"), json={"data": None})
    pve_error(api, "GET", VM.path + "/pending", "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
    with pytest.raises(GuestNotFound) as exc:
        apply_change(pve, VM, dict(PARAMS, size="40G", cache="none"), plan_disk)
    assert exc.value.msg.startswith("no QEMU VM 100 on node pve1 (")
    assert exc.value.msg.endswith("; already applied: resize scsi0 to 40G")


@pytest.mark.parametrize(
    "guest, key, value, method",
    [
        (VM, "scsi1", "local-lvm:4", "POST"),  # allocates a volume (create_disks)
        (VM, "efidisk0", "local-lvm:1,efitype=4m", "POST"),
        (VM, "tpmstate0", "local-lvm:1,version=v2.0", "POST"),
        (VM, "net1", "virtio,bridge=vmbr0", "POST"),  # hot-plugged on a running VM
        (VM, "balloon", "1024", "PUT"),
        (CT, "mp0", "local-lvm:4,mp=/data", "PUT"),  # pve-container: PUT only
        (CT, "net1", "name=eth1,bridge=vmbr0", "PUT"),
    ],
)
def test_writes_that_can_outlive_the_request_go_through_the_task_api(api, pve, guest, key, value, method):
    def plan_set(ctx):
        return Change() if key in ctx.config else Change(set={key: value})

    read(api, CONFIG, "d1", guest=guest)
    answer = CONFIG_UPID if method == "POST" else None
    api.add(method, url(guest.path + "/config"), json={"data": answer})
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})
    read(api, dict(CONFIG, **{key: value}), "d2", guest=guest)
    result = apply_change(pve, guest, PARAMS, plan_set)
    assert writes(api) == [(method, "/" + guest.path + "/config", {key: value, "digest": "d1"})]
    assert result["changed"] is True and result["guest_type"] == guest.kind
    assert result.get("task") == answer


@pytest.mark.parametrize("key", ["scsi1", "unused0", "net0", "virtio2"])
def test_deleting_a_drive_unused_or_nic_of_a_vm_is_posted(api, pve, key):
    def plan_delete(ctx):
        return Change(delete=[key]) if key in ctx.config else Change()

    read(api, dict(CONFIG, **{key: "x"}), "d1")
    post(api, {"delete": key, "digest": "d1"})
    read(api, CONFIG, "d2")
    result = apply_change(pve, VM, PARAMS, plan_delete)
    assert writes(api) == [("POST", "/" + VM.path + "/config", {"delete": key, "digest": "d1"})]
    assert result["task"] == CONFIG_UPID


def test_config_write_that_returns_a_task_is_waited_for(api, pve):
    read(api, CONFIG, "d1")
    put(api, {"memory": "4096", "digest": "d1"}, answer=UPID)
    api.get(url(f"nodes/pve1/tasks/{UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "WARNINGS: 1"}})
    read(api, dict(CONFIG, memory="4096"), "d2")
    result = apply_change(pve, VM, PARAMS, plan_memory)
    assert result["task"] == UPID and result["changed"] is True


def test_a_replan_that_finds_the_work_done_ends_unchanged(api, pve):
    read(api, CONFIG, "d1")
    pve_error(api, "PUT", VM.path + "/config", DIGEST_MISMATCH)
    read(api, dict(CONFIG, memory="4096"), "d2")  # someone else set it meanwhile
    result = apply_change(pve, VM, PARAMS, plan_memory)
    assert result["changed"] is False
    assert len(writes(api)) == 1
