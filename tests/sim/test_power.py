"""Start, shutdown and reboot (qemu-server API2/Qemu.pm vm_start/vm_shutdown/vm_reboot, QemuServer.pm
_do_vm_stop/vm_reboot; pve-container API2/LXC/Status.pm, LXC.pm vm_reboot)."""

import time

import pytest
import responses
from proxmoxer import ProxmoxAPI, ResourceException

from pve_sim import Simulator, schema
from pve_sim.responses_adapter import install


def status(api, kind, vmid, node="pve1"):
    return getattr(api.nodes(node), kind)(vmid).status.current.get()["status"]


def pending_keys(vm):
    return sorted(i["key"] for i in vm.pending.get() if "pending" in i or "delete" in i)


def error_of(call, **params):
    with pytest.raises(ResourceException) as exc:
        call(**params)
    return exc.value.content


def test_reboot_of_a_stopped_vm_is_refused(sim_api):
    assert error_of(sim_api.nodes("pve1").qemu(101).status.reboot.post) == "VM 101 not running"
    assert error_of(sim_api.nodes("pve2").lxc(201).status.reboot.post) == "VM 201 not running"


def test_vm_reboot_applies_pending_changes(sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(cores=4, memory="4096")
    assert pending_keys(vm) == ["cores", "memory"]
    upid = vm.status.reboot.post(timeout=30)
    assert upid.split(":")[5:7] == ["qmreboot", "100"]
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "OK"
    assert status(sim_api, "qemu", 100) == "running"
    assert pending_keys(vm) == []
    assert (vm.config.get()["cores"], vm.config.get()["memory"]) == (4, "4096")


def test_vm_is_stopped_for_a_moment_after_the_reboot_task_with_realism():
    """qmeventd starts the VM again after the qmreboot task has ended (a clock the test moves)."""
    now = [1000.0]
    simulator = Simulator(clock=lambda: now[0], realism=True)
    with responses.RequestsMock() as mock:
        install(mock, simulator, host="pve.test")
        api = ProxmoxAPI(
            "pve.test",
            user="root@pam",
            token_name=simulator.token_name,
            token_value=simulator.token_secret,
            verify_ssl=False,
        )
        vm = api.nodes("pve1").qemu(100)
        vm.config.put(cores=4)
        upid = vm.status.reboot.post()
        assert api.nodes("pve1").tasks(upid).status.get()["exitstatus"] == "OK"
        assert status(api, "qemu", 100) == "stopped"
        assert pending_keys(vm) == ["cores"]
        now[0] += 0.9
        assert status(api, "qemu", 100) == "stopped"
        now[0] += 0.2
        assert status(api, "qemu", 100) == "running"
        assert pending_keys(vm) == []


def test_vm_reboot_timeout_fails_and_the_vm_runs_on(sim, sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(cores=4)
    sim.simulator.shutdown_delay(100, 30)
    upid = vm.status.reboot.post(timeout=1)
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "VM quit/powerdown failed - got timeout"
    assert status(sim_api, "qemu", 100) == "running"
    assert pending_keys(vm) == ["cores"]


def test_vm_reboot_of_a_locked_vm_fails_in_the_task(sim, sim_api, wait):
    sim.simulator.lock_guest(100, "backup")
    upid = sim_api.nodes("pve1").qemu(100).status.reboot.post()
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "VM is locked (backup)"
    assert status(sim_api, "qemu", 100) == "running"


def test_vm_reboot_regenerates_the_cloudinit_drive(sim, sim_api, wait):
    sim.simulator.set_guest_status(100, "stopped")
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(ide2="local-lvm:cloudinit", ciuser="alice")
    sim.simulator.set_guest_status(100, "running")
    vm.config.put(ciuser="bob")
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "alice", "pending": "bob"}]
    wait(sim_api, "pve1", vm.status.reboot.post())
    assert vm.cloudinit.get() == [{"key": "ciuser", "value": "bob"}]


def test_ct_reboot_applies_pending_changes_within_the_task(sim_api, wait):
    ct = sim_api.nodes("pve1").lxc(200)
    ct.config.put(nameserver="10.0.0.53")
    assert pending_keys(ct) == ["nameserver"]
    upid = ct.status.reboot.post()
    assert upid.split(":")[5:7] == ["vzreboot", "200"]
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "OK"
    assert status(sim_api, "lxc", 200) == "running"
    assert pending_keys(ct) == []


def test_ct_reboot_kills_after_the_timeout(sim, sim_api, wait):
    """LXC.pm vm_reboot: vm_stop($vmid, 0, $timeout, 1) - killed when not down in time."""
    sim.simulator.shutdown_delay(200, None)
    ct = sim_api.nodes("pve1").lxc(200)
    ct.config.put(nameserver="10.0.0.53")
    started = time.monotonic()
    assert wait(sim_api, "pve1", ct.status.reboot.post(timeout=1))["exitstatus"] == "OK"
    assert time.monotonic() - started >= 0.9
    assert pending_keys(ct) == []


def test_vm_start_and_shutdown(sim, sim_api, wait):
    vm = sim_api.nodes("pve1").qemu(101)
    assert wait(sim_api, "pve1", vm.status.start.post())["exitstatus"] == "OK"
    assert status(sim_api, "qemu", 101) == "running"
    assert wait(sim_api, "pve1", vm.status.start.post())["exitstatus"] == "VM 101 already running"
    sim.simulator.shutdown_delay(101, None)
    assert (
        wait(sim_api, "pve1", vm.status.shutdown.post(timeout=0))["exitstatus"]
        == "VM quit/powerdown failed - got timeout"
    )
    assert wait(sim_api, "pve1", vm.status.shutdown.post(timeout=0, forceStop=1))["exitstatus"] == "OK"
    assert status(sim_api, "qemu", 101) == "stopped"


def test_ct_start_and_shutdown(sim_api, wait):
    ct = sim_api.nodes("pve2").lxc(201)
    assert error_of(ct.status.shutdown.post) == "CT 201 not running"
    assert wait(sim_api, "pve2", ct.status.start.post())["exitstatus"] == "OK"
    assert error_of(ct.status.start.post) == "CT 201 already running"
    assert wait(sim_api, "pve2", ct.status.shutdown.post())["exitstatus"] == "OK"
    assert status(sim_api, "lxc", 201, node="pve2") == "stopped"


def test_reboot_timeout_is_verified(sim_api):
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(100).status.reboot.post(timeout=-1)
    assert exc.value.errors == {"timeout": "value must have a minimum value of 0"}


SCHEMA_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "boolean": lambda v: v in (0, 1),
}


@pytest.mark.parametrize(
    "kind, vmid, node", [("qemu", 100, "pve1"), ("qemu", 101, "pve1"), ("lxc", 200, "pve1"), ("lxc", 201, "pve2")]
)
def test_status_current_answers_the_schema_before_and_after_a_reboot(sim_api, wait, kind, vmid, node):
    """Every key the schema declares has its type (and enum); required keys are there. The extra keys the simulator
    sends (QEMU ``disk``, LXC ``type``/``swap``/``pid``) are what qemu-server/pve-container vmstatus put in."""
    props = schema.method_info("/nodes/{node}/" + kind + "/{vmid}/status/current", "GET")["returns"]["properties"]
    guest = getattr(sim_api.nodes(node), kind)(vmid)
    answers = [guest.status.current.get()]
    if answers[0]["status"] == "running":
        wait(sim_api, node, guest.status.reboot.post())
        answers.append(guest.status.current.get())
    for data in answers:
        assert [k for k, p in props.items() if not p.get("optional") and k not in data] == []
        for key, value in data.items():
            if key in props:
                assert SCHEMA_TYPES.get(props[key]["type"], lambda v: True)(value), (key, value)
                assert value in props[key].get("enum", [value]), (key, value)
        assert set(data) - set(props) <= {"disk", "type", "swap", "pid"}
