"""apply.apply_change with tiny plan functions: conflicts, locks, writes that do not stick, multi-step plans."""

import pytest
import requests
from harness import DIGEST_MISMATCH, FakeClock, pending, pve_error, requests_made, url, writes
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.apply import MAX_CONFLICTS, MAX_STEPS, apply_change
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import (
    ApiError,
    ConfigChanged,
    GuestLocked,
    GuestNotFound,
    InvalidRequest,
    PveError,
    TaskFailed,
    TaskTimeout,
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
    assert exc.value.details == {"lock": "backup", "changed": False}


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


# --- lock waits are bounded by time, not by rounds (issue 13.2) ---------------------------------------------


def test_a_lock_that_stays_fails_after_lock_timeout_seconds_naming_the_lock(api, pve):
    read(api, dict(CONFIG, lock="backup"), "d1")  # responses repeats the last answer: locked on every read
    clock = FakeClock()
    with pytest.raises(GuestLocked) as exc:
        apply_change(pve, VM, dict(PARAMS, lock_timeout=60), plan_memory, clock=clock)
    assert exc.value.msg == (
        "QEMU VM 100 is locked (backup) and stayed locked for 60s (lock_timeout); nothing was changed"
    )
    assert clock.time - 1000.0 == pytest.approx(60.0)
    assert len(requests_made(api)) > MAX_STEPS + MAX_CONFLICTS + 1  # more reads than the old round limit
    assert writes(api) == []


def test_a_lock_released_in_time_proceeds_however_many_reads_it_took(api, pve):
    for n in range(25):
        read(api, dict(CONFIG, lock="backup"), f"l{n}")
    read(api, CONFIG, "d1")
    put(api, {"memory": "4096", "digest": "d1"})
    read(api, dict(CONFIG, memory="4096"), "d2")
    clock = FakeClock()
    result = apply_change(pve, VM, dict(PARAMS, lock_timeout=60), plan_memory, clock=clock)
    assert result["changed"] is True
    assert writes(api) == [("PUT", "/" + VM.path + "/config", {"memory": "4096", "digest": "d1"})]
    assert 0 < clock.time - 1000.0 < 60


def test_lock_waits_do_not_use_the_conflict_budget(api, pve):
    # MAX_CONFLICTS stale digests, each followed by a lock answered on the write: still within budget
    for n in range(MAX_CONFLICTS):
        read(api, CONFIG, f"c{n}")
        pve_error(
            api,
            "PUT",
            VM.path + "/config",
            DIGEST_MISMATCH,
            match=[matchers.urlencoded_params_matcher({"memory": "4096", "digest": f"c{n}"})],
        )
        read(api, CONFIG, f"l{n}")
        pve_error(
            api,
            "PUT",
            VM.path + "/config",
            "VM 100 is locked (backup)",
            match=[matchers.urlencoded_params_matcher({"memory": "4096", "digest": f"l{n}"})],
        )
    read(api, CONFIG, "d1")
    put(api, {"memory": "4096", "digest": "d1"})
    read(api, dict(CONFIG, memory="4096"), "d2")
    result = apply_change(pve, VM, dict(PARAMS, lock_timeout=60), plan_memory, clock=FakeClock())
    assert result["changed"] is True
    assert len(writes(api)) == 2 * MAX_CONFLICTS + 1


def test_too_many_writes_give_up_naming_what_is_left(api, pve):
    def plan_forever(ctx):  # a plan that always asks for one more (different) write
        return Change(set={"description": f"round {ctx.state.digest}"})

    read(api, CONFIG, "d0")
    for n in range(MAX_STEPS):
        put(api, {"description": f"round d{n}", "digest": f"d{n}"})
        read(api, CONFIG, f"d{n + 1}")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_forever)
    assert exc.value.msg.startswith(
        f"gave up on QEMU VM 100 after {MAX_STEPS} writes: the plan still asks for set description; already applied: "
    )
    assert len(writes(api)) == MAX_STEPS


def test_a_plan_that_needs_more_writes_than_max_steps_gets_them(api, pve):
    """The first plan's ``Change.writes`` raises the budget (guest_config: one resize per disk)."""
    total = MAX_STEPS + 3

    def plan_grows(ctx):
        n = int(ctx.state.digest[1:])
        if n == total:
            return Change()
        return Change(resize={f"scsi{n}": "40G"}, writes=total - n)

    read(api, CONFIG, "d0")
    for n in range(total):
        api.put(
            url(VM.path + "/resize"),
            json={"data": None},
            match=[matchers.urlencoded_params_matcher({"disk": f"scsi{n}", "size": "40G", "digest": f"d{n}"})],
        )
        read(api, CONFIG, f"d{n + 1}")
    result = apply_change(pve, VM, PARAMS, plan_grows)
    assert result["changed"] is True
    assert len(writes(api)) == total


def test_the_budget_is_fixed_by_the_first_plan(api, pve):
    """A plan whose later rounds claim more writes than the first one said still ends at the first budget."""
    first_budget = MAX_STEPS + 1

    def plan_forever(ctx):
        n = int(ctx.state.digest[1:])
        return Change(set={"description": f"round {n}"}, writes=first_budget if n == 0 else 100)

    read(api, CONFIG, "d0")
    for n in range(first_budget):
        put(api, {"description": f"round {n}", "digest": f"d{n}"})
        read(api, CONFIG, f"d{n + 1}")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_forever)
    assert exc.value.msg.startswith(f"gave up on QEMU VM 100 after {first_budget} writes")
    assert len(writes(api)) == first_budget


def test_a_step_that_is_not_a_config_write_runs_itself_once(api, pve):
    """``Change.perform`` (cloud-init drive, reboot): no digest, no config write; two in a row are told apart."""
    calls = []

    def plan_actions(ctx):
        done = ctx.memory.get("done", [])
        for action in ("cloudinit", "reboot"):
            if action not in done:
                return Change(
                    perform=lambda api, clock, a=action: calls.append(a),
                    action=action,
                    remember={"done": done + [action]},
                    summary=action,
                )
        return Change()

    read(api, CONFIG, "d1")
    read(api, CONFIG, "d1")
    read(api, CONFIG, "d1")
    result = apply_change(pve, VM, PARAMS, plan_actions)
    assert calls == ["cloudinit", "reboot"]
    assert result["changed"] is True and result["msg"] == "cloudinit; reboot of QEMU VM 100 on pve1"
    assert writes(api) == []


def test_a_perform_step_that_repeats_is_an_error(api, pve):
    def plan_again(ctx):
        return Change(perform=lambda api, clock: None, action="cloudinit", summary="regenerate")

    read(api, CONFIG, "d1")
    read(api, CONFIG, "d1")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_again)
    assert "still differs" in exc.value.msg


# --- the outcome of a failed write is read, not assumed (issues 13.4, 9.3, 9.4) -------------------------------

NEW_DISK = "local-lvm:vm-100-disk-1,size=4G"


def plan_new_disk(ctx):
    return Change() if "scsi1" in ctx.config else Change(set={"scsi1": "local-lvm:4"}, summary="create scsi1")


def test_a_write_answered_with_an_error_that_the_re_read_proves_harmless_changed_nothing(api, pve):
    read(api, CONFIG, "d1")
    pve_error(api, "PUT", VM.path + "/config", "got unexpected control message", status=500)
    read(api, CONFIG, "d1")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_memory)
    assert exc.value.msg == (
        "Proxmox API error on PUT nodes/pve1/qemu/100/config: 500 got unexpected control message; nothing was changed"
    )
    assert exc.value.details["changed"] is False and exc.value.details["config"]["memory"] == "2048"
    assert requests_made(api)[-1] == ("GET", "/" + VM.path + "/pending", {})


def test_a_connection_lost_on_the_write_is_followed_by_a_re_read_that_finds_it_applied(api, pve):
    read(api, CONFIG, "d1")
    api.put(url(VM.path + "/config"), body=requests.exceptions.ConnectionError("connection reset by peer"))
    read(api, dict(CONFIG, memory="4096"), "d2")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_memory)
    assert exc.value.msg == (
        "cannot reach the Proxmox API at pve.test: connection reset by peer; "
        "the re-read after it shows: already applied: set memory"
    )
    assert exc.value.details["changed"] is True


def test_a_failed_task_that_left_a_pending_drive_and_its_volume_says_so(api, pve):
    # qemu-server writes the new drive as [PENDING] (and allocates its volume) before it hot-plugs; a failed
    # hot-plug leaves both behind (src/PVE/API2/Qemu.pm $update_vm_api, vmconfig_hotplug_pending)
    read(api, CONFIG, "d1")
    api.post(url(VM.path + "/config"), json={"data": CONFIG_UPID})
    status = url(f"nodes/pve1/tasks/{CONFIG_UPID}/status")
    api.get(status, json={"data": {"status": "stopped", "exitstatus": "hotplug problem - scsi1: device_add failed"}})
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/log"), json={"data": [{"n": 1, "t": "TASK ERROR: hotplug problem"}]})
    read(api, CONFIG, "d2", pending_values={"scsi1": NEW_DISK})
    with pytest.raises(TaskFailed) as exc:
        apply_change(pve, VM, PARAMS, plan_new_disk)
    assert exc.value.msg.endswith(
        "; the write was accepted; its outcome: left pending: scsi1; "
        "new volume left behind: local-lvm:vm-100-disk-1 (scsi1)"
    )
    assert "nothing was changed" not in exc.value.msg
    assert exc.value.details["changed"] is True and exc.value.details["task"] == CONFIG_UPID
    assert exc.value.details["pending"] == {"scsi1": NEW_DISK}


def test_a_task_that_outlives_task_timeout_is_accepted_and_its_outcome_read(api, pve):
    read(api, CONFIG, "d1")
    api.post(url(VM.path + "/config"), json={"data": CONFIG_UPID})
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/status"), json={"data": {"status": "running"}})
    read(api, dict(CONFIG, scsi1=NEW_DISK), "d2")  # the allocation was done, the task goes on
    clock = FakeClock()
    with pytest.raises(TaskTimeout) as exc:
        apply_change(pve, VM, dict(PARAMS, task_timeout=30), plan_new_disk, clock=clock)
    assert exc.value.msg == (
        f"config update of QEMU VM 100 {CONFIG_UPID} still running after 30s; "
        "the write was accepted and its task is still running; its outcome so far: already applied: set scsi1"
    )
    assert exc.value.details["changed"] is True and exc.value.details["config"]["scsi1"] == NEW_DISK
    assert clock.time - 1000.0 == pytest.approx(30.0)


def test_a_task_still_running_with_nothing_visible_yet_is_changed_all_the_same(api, pve):
    read(api, CONFIG, "d1")
    api.post(url(VM.path + "/config"), json={"data": CONFIG_UPID})
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/status"), json={"data": {"status": "running"}})
    read(api, CONFIG, "d1")
    with pytest.raises(TaskTimeout) as exc:
        apply_change(pve, VM, dict(PARAMS, task_timeout=5), plan_new_disk, clock=FakeClock())
    assert exc.value.msg.endswith("its task is still running; its outcome so far: no change to the config yet")
    assert exc.value.details["changed"] is True  # the task may still create the disk


def test_a_failing_task_status_read_is_an_accepted_write_with_its_outcome_read(api, pve):
    read(api, CONFIG, "d1")
    api.post(url(VM.path + "/config"), json={"data": CONFIG_UPID})
    pve_error(api, "GET", f"nodes/pve1/tasks/{CONFIG_UPID}/status", "proxy loop detected", status=500)
    read(api, dict(CONFIG, scsi1=NEW_DISK), "d2")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_new_disk)
    assert "500 proxy loop detected; the write was accepted; its outcome: already applied: set scsi1" in exc.value.msg
    assert exc.value.details["changed"] is True and exc.value.details["task"] == CONFIG_UPID


def test_when_the_re_read_fails_too_the_outcome_is_unknown(api, pve):
    read(api, CONFIG, "d1")
    api.post(url(VM.path + "/config"), json={"data": CONFIG_UPID})
    pve_error(api, "GET", f"nodes/pve1/tasks/{CONFIG_UPID}/status", "proxy loop detected", status=500)
    pve_error(api, "GET", VM.path + "/pending", "proxy loop detected", status=500)
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_new_disk)
    assert exc.value.msg.endswith(
        "; the write was accepted; its outcome is unknown (the re-read failed too: "
        "Proxmox API error on GET nodes/pve1/qemu/100/pending: 500 proxy loop detected)"
    )
    assert exc.value.details["changed"] is True and "config" not in exc.value.details


def test_a_failed_second_step_is_not_listed_as_applied(api, pve):
    read(api, CONFIG, "d1")
    api.put(url(VM.path + "/resize"), json={"data": None})
    grown = dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,size=40G")
    read(api, grown, "d2")
    api.post(url(VM.path + "/config"), json={"data": CONFIG_UPID})
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "boom"}})
    api.get(url(f"nodes/pve1/tasks/{CONFIG_UPID}/log"), json={"data": []})
    read(api, grown, "d2")
    with pytest.raises(TaskFailed) as exc:
        apply_change(pve, VM, dict(PARAMS, size="40G", cache="writeback"), plan_disk)
    assert exc.value.msg.endswith(
        "failed: boom; already applied: resize scsi0 to 40G; the write was accepted; its outcome: no change to the config"
    )
    assert "cache" not in exc.value.msg.split("already applied")[1]
    assert exc.value.details["changed"] is True


def plan_purge(ctx):
    """Detach scsi1, then destroy the unused entry its volume became (two steps, as vm_disk purge)."""
    if "scsi1" in ctx.config:
        ctx.memory["volume"] = ctx.config["scsi1"].split(",")[0]
        return Change(delete=["scsi1"], summary="detach scsi1", preview="detach scsi1, then destroy its volume")
    unused = [k for k, v in ctx.config.items() if k.startswith("unused") and v == ctx.memory.get("volume")]
    return Change(delete=unused, summary="destroy " + ", ".join(unused)) if unused else Change()


def test_a_failed_destroy_after_a_detach_lists_only_the_detach(api, pve):
    read(api, dict(CONFIG, scsi1=NEW_DISK), "d1")
    post(api, {"delete": "scsi1", "digest": "d1"})
    detached = dict(CONFIG, unused0="local-lvm:vm-100-disk-1")
    read(api, detached, "d2")
    pve_error(api, "POST", VM.path + "/config", "volume is still in use (snapshot?)", status=500)
    read(api, detached, "d2")
    with pytest.raises(ApiError) as exc:
        apply_change(pve, VM, PARAMS, plan_purge)
    assert exc.value.msg.endswith("500 volume is still in use (snapshot?); already applied: detach scsi1")
    assert "destroy" not in exc.value.msg.split("already applied")[1]
    assert exc.value.details["changed"] is True and exc.value.details["config"]["unused0"] == "local-lvm:vm-100-disk-1"


def test_check_mode_tells_the_whole_plan(api, pve):
    read(api, dict(CONFIG, scsi1=NEW_DISK), "d1")
    result = apply_change(pve, VM, PARAMS, plan_purge, check_mode=True)
    assert result["msg"] == "would detach scsi1, then destroy its volume of QEMU VM 100 on pve1"
    assert writes(api) == []


def test_a_validation_error_after_a_write_names_the_write_instead_of_nothing_changed(api, pve):
    def plan_then_refuse(ctx):
        if ctx.config["memory"] == "2048":
            return Change(set={"memory": "4096"})
        raise InvalidRequest("cores 0 is out of range")

    read(api, CONFIG, "d1")
    put(api, {"memory": "4096", "digest": "d1"})
    read(api, dict(CONFIG, memory="4096"), "d2")
    with pytest.raises(InvalidRequest) as exc:
        apply_change(pve, VM, PARAMS, plan_then_refuse)
    assert exc.value.msg == "cores 0 is out of range; already applied: set memory"
    assert exc.value.details == {"changed": True}


@pytest.mark.parametrize("status, message", [(403, "Permission check failed (/vms/100, VM.Config.Memory)"), (401, "")])
def test_a_write_refused_before_the_handler_ran_changed_nothing_without_a_re_read(api, pve, status, message):
    read(api, CONFIG, "d1")
    pve_error(api, "PUT", VM.path + "/config", message, status=status)
    with pytest.raises(PveError) as exc:
        apply_change(pve, VM, PARAMS, plan_memory)
    assert exc.value.msg.endswith("; nothing was changed") and exc.value.details["changed"] is False
    assert [m for m, _p, _a in requests_made(api)] == ["GET", "PUT"]  # no re-read: nothing can have been written
