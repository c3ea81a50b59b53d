"""The engine's failure handling, end to end: digest conflicts, locks and Proxmox task results.

Faults are injected through the simulator's Python control API (what ``POST /_sim/faults`` does) before the
run, or from a helper thread that watches the request log when their timing must follow the module's reads.
"""

from __future__ import annotations

import threading
import time

from pve_sim.testing import proxmox_client


def unlock_after_first_read(sim, vmid, path, hold):
    """Remove the lock of ``vmid`` ``hold`` seconds after the first request to ``path`` (the module's first
    read), so the module sees the lock however long ansible-playbook takes to start; returns the thread."""

    def run():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(e["path"] == path for e in sim.simulator.requests()):
                time.sleep(hold)
                sim.simulator.unlock_guest(vmid)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_concurrent_edit_is_resolved_through_the_digest(play, sim):
    sim.simulator.concurrent_edit(100, times=1)  # another user edits web01 right after our first read
    sim.simulator.concurrent_edit(101, times=20)  # db01 keeps changing under every read
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: one conflict
      pve.config.vm_resources: {vmid: 100, memory: 3G}
    - name: endless conflicts
      pve.config.vm_resources: {vmid: 101, memory: 3G}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    once = run["one conflict"]
    assert once.changed, once.res
    puts = [e for e in once.requests(log) if e["method"] == "PUT"]
    assert [e["status"] for e in puts] == [500, 200]  # the first write hit the digest check, the retry passed
    assert "checksum mismatch" in puts[0]["reason"]  # qemu-server's answer to a stale digest
    assert puts[0]["params"]["digest"] != puts[1]["params"]["digest"]  # the retry carried the re-read digest
    web01 = sim.simulator.guest_config(100)
    assert {**web01["config"], **web01["pending"]}["memory"] == "3072"  # our edit
    assert web01["config"]["description"].startswith("concurrent edit")  # and the other user's edit survive

    endless = run["endless conflicts"]
    assert endless.failed and "kept changing" in endless.msg, endless.res
    db01 = sim.simulator.guest_config(101)["config"]
    assert db01["memory"] == "4096"
    assert all(e["status"] != 200 for e in endless.requests(log) if e["method"] == "PUT")


def test_lock_is_waited_for_then_given_up(play, sim):
    sim.simulator.lock_guest(100, "backup")  # a backup job holds web01 for 2 s after the module's first look
    unlocker = unlock_after_first_read(sim, 100, "/nodes/pve1/qemu/100/pending", hold=2)
    sim.simulator.lock_guest(101, "snapshot", seconds=300)  # db01 stays locked
    # a lock taken between the module's read and its write: Proxmox answers the write with "VM is locked (...)"
    sim.simulator.http_error(
        path="^/nodes/pve2/qemu/102/config$", method="PUT", status=500, message="VM is locked (backup)"
    )
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: wait for the backup
      pve.config.vm_resources: {vmid: 100, cores: 3}
    - name: give up
      pve.config.vm_resources: {vmid: 101, cores: 2, lock_timeout: 1}
      ignore_errors: true
    - name: locked on write
      pve.config.vm_resources: {vmid: 102, cores: 3}
      ignore_errors: true
""")
    unlocker.join(timeout=5)
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    waited = run["wait for the backup"]
    assert waited.changed, waited.res
    reads = [e for e in waited.requests(log) if e["path"] == "/nodes/pve1/qemu/100/pending"]
    puts = [e for e in waited.requests(log) if e["method"] == "PUT"]
    assert [e["status"] for e in puts] == [200]  # nothing was sent while the guest was locked
    assert puts[0]["time"] - reads[0]["time"] >= 2 - 0.05  # written only after the backup lock was gone
    assert len([e for e in reads if e["time"] < puts[0]["time"]]) >= 2  # it re-read while waiting
    assert sim.simulator.guest_config(100)["pending"]["cores"] == "3"

    gave_up = run["give up"]
    assert gave_up.failed and "snapshot" in gave_up.msg and "nothing was changed" in gave_up.msg, gave_up.res
    assert gave_up.writes(log) == []
    assert sim.simulator.guest_config(101)["config"]["cores"] == "4"

    # Proxmox's own text (PVE::AbstractConfig::check_lock) is "VM is locked (backup)": waited for, then retried
    on_write = run["locked on write"]
    assert on_write.changed, on_write.res
    assert [e["status"] for e in on_write.requests(log) if e["method"] == "PUT"] == [500, 200]
    assert sim.simulator.guest_config(102)["pending"]["cores"] == "3"


def test_task_warnings_succeed_and_task_errors_are_reported(play, sim):
    sim.simulator.task_fault(type="qmconfig", exitstatus="WARNINGS: 2", times=1)
    sim.simulator.task_fault(type="qmconfig", exitstatus="lvcreate 'pve/vm-100-disk-2' error: out of space", times=1)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: warnings
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 4G}
    - name: failure
      pve.config.vm_disk: {vmid: 100, disk: scsi2, storage: local-lvm, size: 4G}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    api = proxmox_client(sim)

    warned = run["warnings"]
    assert warned.changed and warned["disk"] == "scsi1", warned.res
    status = api.nodes("pve1").tasks(warned["task"]).status.get()
    assert status["exitstatus"] == "WARNINGS: 2"
    assert "scsi1" in sim.simulator.guest_config(100)["config"]

    failed = run["failure"]
    assert failed.failed and "out of space" in failed.msg, failed.res
    assert failed["task"].startswith("UPID:pve1:") and failed["task_log"]
    assert "TASK ERROR" in failed["task_log"][-1]
    assert "scsi2" not in sim.simulator.guest_config(100)["config"]
    volumes = {v["volid"] for v in api.nodes("pve1").storage("local-lvm").content.get(vmid=100)}
    assert volumes == {"local-lvm:vm-100-disk-0", warned["volume"]}  # the failed allocation left nothing
