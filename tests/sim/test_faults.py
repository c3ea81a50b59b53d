"""Task, latency and HTTP error injection; task progress over time."""

import time

import pytest
import requests
from proxmoxer.core import ResourceException


def test_task_warnings_still_apply_the_change(sim, sim_api, wait):
    sim.simulator.add_faults({"task": {"type": "qmconfig", "exitstatus": "WARNINGS: 2", "times": 1}})
    vm = sim_api.nodes("pve1").qemu(101)
    upid = vm.config.post(scsi3="local-lvm:1")
    assert wait(sim_api, "pve1", upid)["exitstatus"] == "WARNINGS: 2"
    log = [line["t"] for line in sim_api.nodes("pve1").tasks(upid).log.get()]
    assert log[-3:] == ["WARN: simulated warning 1", "WARN: simulated warning 2", "TASK WARNINGS: 2"]
    assert vm.config.get()["scsi3"] == "local-lvm:vm-101-disk-2,size=1G"


def test_task_failure_leaves_nothing_behind(sim, sim_api, wait):
    sim.simulator.add_faults({"task": {"type": "any", "exitstatus": "lvcreate failed: out of extents"}})
    vm = sim_api.nodes("pve1").qemu(101)
    status = wait(sim_api, "pve1", vm.config.post(scsi3="local-lvm:1"))
    assert status["exitstatus"] == "lvcreate failed: out of extents"
    assert "scsi3" not in vm.config.get()
    assert len(sim_api.nodes("pve1").storage("local-lvm").content.get(vmid=101)) == 2
    # times defaults to 1: the next task is fine
    assert wait(sim_api, "pve1", vm.config.post(scsi3="local-lvm:1"))["exitstatus"] == "OK"


def test_qmresize_alias_matches_resize_tasks(sim, sim_api, wait):
    sim.simulator.add_faults({"task": {"type": "qmresize", "exitstatus": "resize failed"}})
    vm = sim_api.nodes("pve1").qemu(100)
    assert wait(sim_api, "pve1", vm.resize.put(disk="scsi0", size="+1G"))["exitstatus"] == "resize failed"
    assert vm.config.get()["scsi0"].endswith("size=32G")


def test_task_runs_for_the_configured_time(sim, sim_api):
    sim.simulator.task_fault(type="resize", seconds=0.4)
    vm = sim_api.nodes("pve1").qemu(100)
    upid = vm.resize.put(disk="scsi0", size="+1G")
    running = sim_api.nodes("pve1").tasks(upid).status.get()
    assert (running["status"], "exitstatus" in running) == ("running", False)
    assert vm.config.get()["scsi0"].endswith("size=32G")
    active = sim_api.nodes("pve1").tasks.get(source="active")
    assert [(t["upid"], t["status"]) for t in active] == [(upid, "RUNNING")]
    time.sleep(0.5)
    done = sim_api.nodes("pve1").tasks(upid).status.get()
    assert (done["status"], done["exitstatus"]) == ("stopped", "OK")
    assert vm.config.get()["scsi0"].endswith("size=33G")


def test_task_list_filters(sim_api, wait):
    node = sim_api.nodes("pve1")
    first = node.qemu(101).config.post(description="a")
    second = node.qemu(100).resize.put(disk="scsi0", size="+1G")
    wait(sim_api, "pve1", second)
    listed = node.tasks.get()
    assert [t["upid"] for t in listed] == [second, first]
    assert [t["upid"] for t in node.tasks.get(typefilter="resize")] == [second]
    assert [t["upid"] for t in node.tasks.get(vmid=101)] == [first]
    assert listed[0]["status"] == "OK" and listed[0]["endtime"] >= listed[0]["starttime"]


def test_unknown_task_is_400(sim_api):
    upid = "UPID:pve1:00001234:00001234:65000000:qmconfig:100:root@pam:"
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").tasks(upid).status.get()
    assert exc.value.errors == {"upid": "no such task"}


def test_latency_fault_slows_every_request(sim, sim_api):
    sim.simulator.add_faults({"latency": 0.2})
    started = time.monotonic()
    sim_api.version.get()
    assert time.monotonic() - started >= 0.2
    sim.simulator.add_faults({"latency": 0})
    assert sim.simulator.faults.latency == 0


def test_http_error_fault(sim, sim_api):
    sim.simulator.http_error(
        path=r"^/nodes/pve1/qemu/100/config$", method="PUT", status=503, message="service unavailable (simulated)"
    )
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve1").qemu(100).config.put(cores=2)
    assert (exc.value.status_code, exc.value.content) == (503, "service unavailable (simulated)")
    assert sim_api.nodes("pve1").qemu(100).config.put(cores=2) is None


def test_faults_over_http(sim):
    url = sim.url + "/_sim/faults"
    resp = requests.post(
        url,
        json={
            "lock": {"vmid": 101, "lock": "migrate"},
            "task": {"type": "qmconfig", "exitstatus": "WARNINGS: 1", "seconds": 0},
        },
        verify=sim.ca_path,
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.json()["faults"]["task"] == [
        {"type": "qmconfig", "exitstatus": "WARNINGS: 1", "seconds": 0.0, "times": 1}
    ]
    assert sim.simulator.guest_config(101)["config"]["lock"] == "migrate"
    bad = requests.post(url, json={"earthquake": {}}, verify=sim.ca_path, timeout=10)
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "error": "unknown fault(s): earthquake (known: lock, concurrent_edit, task, latency, http_error, hotplug, slow_free, shutdown)"
        },
    )
    cleared = requests.delete(url, verify=sim.ca_path, timeout=10).json()
    assert cleared["faults"]["task"] == []
