"""reboot_and_wait: the exact requests (POST status/reboot, the task, status/current and pending polls), the
timeout, a failed task, a refused reboot, and what the errors say the guest was left in."""

import pytest
import responses
from harness import AUTH, HOST, TOKEN_SECRET, FakeClock, pending, pve_error, requests_made, url

from ansible_collections.pve.config.plugins.module_utils.client import connect
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest, RebootFailed
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, read_state
from ansible_collections.pve.config.plugins.module_utils.reboot import reboot_and_wait, shutdown_timeout
from pve_sim import Simulator
from pve_sim.responses_adapter import install

VM = Guest(100, "pve1", "qemu")
CT = Guest(200, "pve1", "lxc")
UPID = "UPID:pve1:0001E240:00A1B2C3:66000000:qmreboot:100:root@pam:"
CT_UPID = "UPID:pve1:0001E241:00A1B2C4:66000001:vzreboot:200:root@pam:"
CONFIG = {"cores": 2, "memory": "2048"}


def reboot_answers(api, guest=VM, upid=UPID):
    api.post(url(guest.path + "/status/reboot"), json={"data": upid})


def task(api, upid, *states):
    """The task status polls: "running" or an exit status (the task stopped with it)."""
    for state in states:
        data = {"status": "running"} if state == "running" else {"status": "stopped", "exitstatus": state}
        api.get(url(f"nodes/pve1/tasks/{upid}/status"), json={"data": dict(data, upid=upid, node="pve1")})


def guest_status(api, guest, *statuses):
    for status in statuses:
        api.get(url(guest.path + "/status/current"), json={"data": {"status": status, "vmid": guest.vmid}})


def pending_answers(api, guest, *answers):
    for answer in answers:
        api.get(url(guest.path + "/pending"), json=answer)


def test_vm_reboot_waits_for_qmeventd_to_start_it_again(api, pve):
    reboot_answers(api)
    task(api, UPID, "running", "OK")
    guest_status(api, VM, "stopped", "running")
    pending_answers(api, VM, pending(CONFIG, pending_values={"cores": 4}), pending({"cores": 4, "memory": "2048"}))
    clock = FakeClock()
    result = reboot_and_wait(pve, VM, 300, clock)
    assert result == dict(rebooted=True, task=UPID, status="running", pending=[])
    status = f"/nodes/pve1/tasks/{UPID}/status"
    assert requests_made(api) == [
        ("POST", "/nodes/pve1/qemu/100/status/reboot", {"timeout": "225"}),
        ("GET", status, {}),
        ("GET", status, {}),
        ("GET", "/nodes/pve1/qemu/100/status/current", {}),
        ("GET", "/nodes/pve1/qemu/100/pending", {}),
        ("GET", "/nodes/pve1/qemu/100/status/current", {}),
        ("GET", "/nodes/pve1/qemu/100/pending", {}),
    ]
    assert clock.sleeps == [0.1, 0.5]


def test_ct_reboot_runs_with_its_changes_when_the_task_ends(api, pve):
    reboot_answers(api, CT, CT_UPID)
    task(api, CT_UPID, "OK")
    guest_status(api, CT, "running")
    pending_answers(api, CT, pending({"nameserver": "10.0.0.53"}))
    clock = FakeClock()
    assert reboot_and_wait(pve, CT, 120, clock)["task"] == CT_UPID
    assert requests_made(api) == [
        ("POST", "/nodes/pve1/lxc/200/status/reboot", {"timeout": "90"}),
        ("GET", f"/nodes/pve1/tasks/{CT_UPID}/status", {}),
        ("GET", "/nodes/pve1/lxc/200/status/current", {}),
        ("GET", "/nodes/pve1/lxc/200/pending", {}),
    ]
    assert clock.sleeps == []


def test_shutdown_timeout_fails_and_says_the_vm_runs_on_with_its_pending_keys(api, pve):
    reboot_answers(api)
    task(api, UPID, "VM quit/powerdown failed - got timeout")
    api.get(
        url(f"nodes/pve1/tasks/{UPID}/log"),
        json={"data": [{"n": 1, "t": "VM quit/powerdown failed - got timeout"}, {"n": 2, "t": "TASK ERROR: x"}]},
    )
    guest_status(api, VM, "running")
    pending_answers(api, VM, pending(CONFIG, pending_values={"cores": 4}))
    with pytest.raises(RebootFailed) as exc:
        reboot_and_wait(pve, VM, 60, FakeClock())
    assert exc.value.msg.startswith(
        f"the reboot of QEMU VM 100 failed: reboot of QEMU VM 100 {UPID} failed: VM quit/powerdown failed - got timeout"
    )
    assert exc.value.msg.endswith("; the guest is running with cores still pending")
    assert exc.value.details == dict(task=UPID, guest_status="running", pending=["cores"])
    assert [request[0] for request in requests_made(api)] == ["POST", "GET", "GET", "GET", "GET"]


def test_locked_vm_fails_in_the_task(api, pve):
    reboot_answers(api)
    task(api, UPID, "VM is locked (backup)")
    guest_status(api, VM, "running")
    pending_answers(api, VM, pending(CONFIG))
    with pytest.raises(RebootFailed) as exc:
        reboot_and_wait(pve, VM, 60, FakeClock())
    assert (
        exc.value.msg
        == "the reboot of QEMU VM 100 failed: VM is locked (backup); the guest is running with nothing pending"
    )


def test_task_still_running_at_the_timeout(api, pve):
    reboot_answers(api)
    task(api, UPID, *["running"] * 200)
    guest_status(api, VM, "running")
    pending_answers(api, VM, pending(CONFIG, pending_values={"cores": 4}))
    clock = FakeClock()
    with pytest.raises(RebootFailed) as exc:
        reboot_and_wait(pve, VM, 5, clock)
    assert exc.value.msg == (
        "the reboot task of QEMU VM 100 was still running after 5s; the guest is running with cores still pending"
    )
    assert exc.value.details["task"] == UPID
    assert clock.time == pytest.approx(1005.0)


def test_guest_not_back_with_its_changes_in_time(api, pve):
    reboot_answers(api)
    task(api, UPID, "OK")
    guest_status(api, VM, *["stopped"] * 50)
    pending_answers(api, VM, *[pending(CONFIG, pending_values={"cores": 4})] * 50)
    clock = FakeClock()
    with pytest.raises(RebootFailed) as exc:
        reboot_and_wait(pve, VM, 10, clock)
    assert exc.value.msg == (
        "the reboot task of QEMU VM 100 ended OK but after 10s the guest is stopped with cores still pending"
    )
    assert exc.value.details == dict(task=UPID, guest_status="stopped", pending=["cores"])
    assert clock.time == pytest.approx(1010.0)
    assert not [r for r in requests_made(api) if r[0] != "GET"][1:], "only the one reboot request is sent"


def test_refused_reboot_of_a_stopped_vm(api, pve):
    pve_error(api, "POST", VM.path + "/status/reboot", "VM 100 not running")
    guest_status(api, VM, "stopped")
    pending_answers(api, VM, pending(CONFIG))
    with pytest.raises(RebootFailed) as exc:
        reboot_and_wait(pve, VM, 60, FakeClock())
    assert exc.value.msg == (
        "Proxmox refused to reboot QEMU VM 100: Proxmox API error on POST nodes/pve1/qemu/100/status/reboot: "
        "500 VM 100 not running; the guest is stopped with nothing pending"
    )
    assert exc.value.details == dict(task=None, guest_status="stopped", pending=[])


@pytest.mark.parametrize("timeout, sent", [(1, 1), (2, 1), (4, 3), (300, 225)])
def test_proxmox_gets_three_quarters_for_the_shutdown(timeout, sent):
    assert shutdown_timeout(timeout) == sent


@pytest.mark.parametrize("timeout", [0, -5, 2.5, "300", True, None])
def test_bad_timeout_is_refused_before_any_request(api, pve, timeout):
    with pytest.raises(InvalidRequest, match="reboot_timeout must be a whole number of seconds"):
        reboot_and_wait(pve, VM, timeout, FakeClock())
    assert requests_made(api) == []


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sim(clock):
    """The simulator (realism on) on the same fake clock as the waits: time passes only when they sleep."""
    simulator = Simulator(token_name="ci", token_secret=TOKEN_SECRET, realism=True, clock=clock.now)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install(mock, simulator, host=HOST)
        yield simulator


@pytest.mark.parametrize("guest, change", [(VM, {"cores": "4"}), (CT, {"nameserver": "10.0.0.53"})])
def test_against_the_simulator_the_pending_change_is_applied(sim, clock, guest, change):
    """With realism the VM is restarted by "qmeventd" a second after its task; the container within its task."""
    pve = connect(dict(AUTH, api_timeout=5))
    pve.put(guest.path + "/config", **change)
    assert sorted(read_state(pve, guest).pending) == sorted(change)
    result = reboot_and_wait(pve, guest, 30, clock)
    assert result["rebooted"] is True and result["pending"] == []
    assert read_state(pve, guest).current[next(iter(change))] in (4, "4", "10.0.0.53")
    waited = clock.time - 1000.0
    assert waited >= 1.0 if guest is VM else waited == 0.0  # qmeventd's start a second after the qmreboot task


def test_against_the_simulator_a_vm_that_ignores_the_shutdown_is_not_forced(sim, clock):
    pve = connect(dict(AUTH, api_timeout=5))
    pve.put(VM.path + "/config", cores="4")
    sim.shutdown_delay(100, None)
    with pytest.raises(RebootFailed) as exc:
        reboot_and_wait(pve, VM, 60, clock)
    assert "VM quit/powerdown failed - got timeout" in exc.value.msg
    assert exc.value.details["guest_status"] == "running" and exc.value.details["pending"] == ["cores"]
    assert 1045.0 <= clock.time < 1060.0  # Proxmox gave up after its 45 s (3/4 of 60), before the module's 60
