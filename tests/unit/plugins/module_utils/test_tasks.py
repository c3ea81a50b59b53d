"""tasks: waiting for UPID tasks (through the real client, HTTP faked with responses) and the lock backoff."""

import pytest
from harness import FakeClock, requests_made, url
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils.errors import ApiError, ConfigChanged, GuestLocked, TaskFailed
from ansible_collections.pve.config.plugins.module_utils.tasks import (
    Backoff,
    is_upid,
    task_succeeded,
    upid_node,
    wait_task,
)

UPID = "UPID:pve2:0001E240:00A1B2C3:66000000:qmresize:100:root@pam:"
STATUS = f"nodes/pve2/tasks/{UPID}/status"
LOG = f"nodes/pve2/tasks/{UPID}/log"


def status(api, state, exitstatus=None):
    data = {"status": state, "upid": UPID, "node": "pve2", "type": "qmresize"}
    if exitstatus is not None:
        data["exitstatus"] = exitstatus
    api.get(url(STATUS), json={"data": data})


def log(api, lines):
    api.get(
        url(LOG),
        json={"data": [{"n": i + 1, "t": t} for i, t in enumerate(lines)]},
        match=[matchers.query_param_matcher({"start": "0", "limit": "500"})],
    )


@pytest.mark.parametrize(
    "value, upid", [(UPID, True), ("UPID:x", True), (None, False), ("", False), ({"data": None}, False), (7, False)]
)
def test_is_upid(value, upid):
    assert is_upid(value) is upid


@pytest.mark.parametrize(
    "exitstatus, ok",
    [
        ("OK", True),
        ("WARNINGS: 3", True),
        ("WARNINGS: 1", True),
        ("WARNINGS:", False),
        ("warnings: 3", False),
        ("OK but", False),
        ("command 'qemu-img resize' failed: exit code 1", False),
        ("", False),
        (None, False),
    ],
)
def test_task_succeeded(exitstatus, ok):
    assert task_succeeded(exitstatus) is ok


def test_upid_node():
    assert upid_node(UPID) == "pve2"


def test_ok_task_is_one_status_call(api, pve):
    status(api, "stopped", "OK")
    result = wait_task(pve, UPID)
    assert result["exitstatus"] == "OK"
    assert requests_made(api) == [("GET", "/" + STATUS, {})]


def test_warnings_are_success_without_reading_the_log(api, pve):
    status(api, "stopped", "WARNINGS: 3")
    assert wait_task(pve, UPID)["exitstatus"] == "WARNINGS: 3"
    assert [c[1] for c in requests_made(api)] == ["/" + STATUS]


def test_running_task_is_polled_until_stopped(api, pve):
    status(api, "running")
    status(api, "running")
    status(api, "stopped", "OK")
    assert wait_task(pve, UPID, timeout=30)["status"] == "stopped"
    assert [c[1] for c in requests_made(api)] == ["/" + STATUS] * 3


def test_failed_task_raises_with_the_log_tail(api, pve):
    status(api, "stopped", "command 'lvextend' failed: exit code 5")
    lines = [f"line {i}" for i in range(1, 15)] + ["TASK ERROR: command 'lvextend' failed: exit code 5"]
    log(api, lines)
    with pytest.raises(TaskFailed) as exc:
        wait_task(pve, UPID, what="resize of scsi0")
    msg = exc.value.msg
    assert msg.startswith(f"resize of scsi0 {UPID} failed: command 'lvextend' failed: exit code 5 | log: ")
    assert exc.value.details["task"] == UPID
    assert exc.value.details["task_log"] == lines[-10:]
    assert (
        "line 5" not in msg
        and "line 6 / line 7" in msg
        and msg.endswith("TASK ERROR: command 'lvextend' failed: exit code 5")
    )
    assert [c[1] for c in requests_made(api)] == ["/" + STATUS, "/" + LOG]


def test_failed_task_with_an_empty_log(api, pve):
    status(api, "stopped", "unexpected status")
    log(api, [])
    with pytest.raises(TaskFailed) as exc:
        wait_task(pve, UPID)
    assert exc.value.msg == f"task {UPID} failed: unexpected status"


def test_task_still_running_after_the_timeout(api, pve):
    status(api, "running")
    with pytest.raises(TaskFailed) as exc:
        wait_task(pve, UPID, timeout=0, what="allocation of scsi1")
    assert exc.value.msg == f"allocation of scsi1 {UPID} still running after 0s"
    assert exc.value.details == {"task": UPID}


def test_backoff_doubles_up_to_the_cap_then_stops_at_the_timeout():
    fake = FakeClock()
    backoff = Backoff(10, first=0.2, cap=2.0, clock=fake)
    rounds = 0
    while backoff.wait():
        rounds += 1
    assert fake.sleeps == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0, 1.0]
    assert rounds == len(fake.sleeps)
    assert fake.time == pytest.approx(1010.0)
    assert backoff.wait() is False and len(fake.sleeps) == 8, "no sleep once the time is up"


def test_backoff_with_zero_timeout_never_sleeps():
    fake = FakeClock()
    assert Backoff(0, clock=fake).wait() is False
    assert fake.sleeps == []


def test_backoff_counts_time_spent_elsewhere():
    fake = FakeClock()
    backoff = Backoff(5, first=1, cap=1, clock=fake)
    assert backoff.wait() is True
    fake.time += 3.5  # e.g. slow API calls between the waits
    assert backoff.wait() is True
    assert fake.sleeps == [1, 0.5]
    assert backoff.wait() is False


@pytest.mark.parametrize(
    "exitstatus, error, lock",
    [
        ("checksum mismatch (file change by other user?)", ConfigChanged, None),
        ("detected modified configuration - file changed by other user? Try again.", ConfigChanged, None),
        ("VM is locked (backup)", GuestLocked, "backup"),
        ("can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", GuestLocked, "config file"),
    ],
)
def test_digest_and_lock_failures_inside_a_task_are_typed(api, pve, exitstatus, error, lock):
    # POST /config and VM resize check the digest and the lock inside their task, so the engine must see
    # these as a conflict to retry, not as a failed task; the log is not needed for that.
    status(api, "stopped", exitstatus)
    with pytest.raises(error) as exc:
        wait_task(pve, UPID, timeout=5)
    assert exc.value.details.get("task") == UPID
    if lock:
        assert exc.value.details["lock"] == lock
    assert [c[1] for c in requests_made(api)] == ["/" + STATUS]


@pytest.mark.parametrize(
    "upid",
    [
        "UPID:pve1/../../access:000A1B2C:0012D687:67A0B1C2:qmconfig:100:root@pam:",
        "UPID:pve1:nothex00:0012D687:67A0B1C2:qmconfig:100:root@pam:",
        "UPID:pve1:000A1B2C:0012D687:67A0B1C2:qm/config:100:root@pam:",
        "UPID:pve1",
    ],
)
def test_a_task_id_that_is_not_a_upid_is_refused_before_it_becomes_a_path(api, pve, upid):
    with pytest.raises(ApiError) as exc:
        wait_task(pve, upid)
    assert exc.value.msg.startswith("Proxmox answered a task id that is not a UPID: ")
    assert requests_made(api) == []
