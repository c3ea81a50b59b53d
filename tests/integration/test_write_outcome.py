"""Issues 13.2, 13.4, 9.3 and 9.4 end to end: lock waits bounded by time, and the outcome of a failed write read
from the guest instead of assumed. Real ansible-playbook runs against the simulator (realism on), faults injected
through its control API before the run.
"""

from __future__ import annotations

from pve_sim.testing import proxmox_client

OLD_ROUND_LIMIT_SECONDS = 15  # 10 rounds of 0.2, 0.4, 0.8, 1.6, 2, 2, ... s: where the old engine gave up


def test_a_backup_lock_longer_than_ten_rounds_is_waited_for_and_a_lasting_one_is_named(play, sim):
    sim.simulator.lock_guest(100, "backup", seconds=OLD_ROUND_LIMIT_SECONDS + 7)  # a backup job ending later
    sim.simulator.lock_guest(101, "backup", seconds=600)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: wait for the backup
      pve.config.vm_resources: {vmid: 100, cores: 3, lock_timeout: 60}
    - name: give up
      pve.config.vm_resources: {vmid: 101, cores: 2, lock_timeout: 4}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    waited = run["wait for the backup"]
    assert waited.changed, waited.res
    reads = [e for e in waited.requests(log) if e["path"] == "/nodes/pve1/qemu/100/pending"]
    write = [e for e in waited.requests(log) if e["method"] == "PUT"]
    assert [e["status"] for e in write] == [200]
    assert write[0]["time"] - reads[0]["time"] > OLD_ROUND_LIMIT_SECONDS  # longer than the old round budget
    assert len([e for e in reads if e["time"] < write[0]["time"]]) > 10
    assert sim.simulator.guest_config(100)["pending"]["cores"] == "3"

    gave_up = run["give up"]
    assert gave_up.failed, gave_up.res
    assert gave_up.msg == "QEMU VM 101 is locked (backup) and stayed locked for 4s (lock_timeout); nothing was changed"
    assert gave_up.writes(log) == [] and gave_up["changed"] is False
    assert gave_up.end - gave_up.start >= 4


def test_an_unreadable_task_status_reports_the_accepted_write_and_a_re_run_finds_it_done(play, sim):
    # 9.3: the disk was created although waiting for the task failed; the result must say so
    sim.simulator.http_error(path="^/nodes/pve1/tasks/[^/]+/status$", method="GET", status=500, message="proxy loop")
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: add
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 4G}
      ignore_errors: true
    - name: re-run
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 4G}
""")
    assert run.rc == 0, run.describe()
    add = run["add"]
    assert add.failed and add["changed"] is True, add.res
    assert "500 proxy loop; the write was accepted; its outcome: already applied: set scsi1" in add.msg
    assert "nothing was changed" not in add.msg
    assert add["config"]["scsi1"].startswith("local-lvm:vm-100-disk-")
    assert add["task"].startswith("UPID:pve1:")
    rerun = run["re-run"]
    assert not rerun.changed and rerun["volume"] == add["config"]["scsi1"].split(",")[0], rerun.res


def test_a_task_longer_than_task_timeout_is_reported_as_still_running(play, sim):
    sim.simulator.task_fault(type="qmconfig", exitstatus="OK", seconds=6, times=1)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: add
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 4G, task_timeout: 1}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    add = run["add"]
    assert add.failed and add["changed"] is True, add.res
    assert "still running after 1s; the write was accepted and its task is still running" in add.msg
    assert "nothing was changed" not in add.msg


def test_a_failed_destroy_after_a_detach_reports_only_the_detach(play, sim):
    # 9.4: the second write of a purge fails; only the detach is reported as applied, and the volume is named
    api = proxmox_client(sim)
    api.nodes("pve1").qemu(100).config.post(scsi1="local-lvm:1")  # a disk to purge (its task ends at once)
    volume = sim.simulator.guest_config(100)["config"]["scsi1"].split(",")[0]
    sim.simulator.task_fault(type="qmconfig", exitstatus="OK", times=1)  # the detach
    sim.simulator.task_fault(type="qmconfig", exitstatus="volume deletion failed: storage busy", times=1)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: purge
      pve.config.vm_disk: {vmid: 100, disk: scsi1, state: absent, purge: true}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    purge = run["purge"]
    assert purge.failed and purge["changed"] is True, purge.res
    assert "volume deletion failed: storage busy" in purge.msg
    applied = purge.msg.split("; already applied: ", 1)[1]
    assert applied.startswith("detach scsi1") and "destroy volume" not in applied
    assert "the write was accepted; its outcome: no change to the config" in applied
    assert f"volume {volume} (unused0 of QEMU VM 100) was not confirmed destroyed" in purge.msg  # vm_disk's hint
    config = sim.simulator.guest_config(100)["config"]
    assert "scsi1" not in config and volume in config.values()
    volumes = {v["volid"] for v in api.nodes("pve1").storage("local-lvm").content.get(vmid=100)}
    assert volume in volumes


def test_a_failed_hot_plug_leaves_a_pending_drive_and_its_volume_and_the_result_says_so(play, sim):
    # realism: qemu-server writes the new drive as [PENDING] and allocates its volume before hot-plugging
    # (API2/Qemu.pm $update_vm_api -> vmconfig_hotplug_pending); the failed hot-plug leaves both behind
    assert sim.simulator.realism
    sim.simulator.hotplug_fault(100, key="scsi1", message="device_add failed")
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: add
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 1G}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    add = run["add"]
    assert add.failed and add["changed"] is True, add.res
    assert "device_add failed" in add.msg
    pending = sim.simulator.guest_config(100)["pending"]["scsi1"]
    volume = pending.split(",")[0]
    assert add.msg.endswith(
        f"; the write was accepted; its outcome: left pending: scsi1; new volume left behind: {volume} (scsi1)"
    )
    assert add["pending"]["scsi1"] == pending


def test_a_volume_delete_slower_than_pveproxy_is_waited_for_through_its_task(play, sim):
    # realism: vdisk_free inside a synchronous PUT outlives pveproxy's 30 s (596) while the delete goes on;
    # the module sends delete=unusedN with POST and waits for the qmconfig task instead (issue 13.3)
    api = proxmox_client(sim)
    api.nodes("pve1").qemu(100).config.post(scsi1="local-lvm:1")
    volume = sim.simulator.guest_config(100)["config"]["scsi1"].split(",")[0]
    sim.simulator.proxy_timeout = 2  # pveproxy's 30 s, shortened for the test
    sim.simulator.slow_free("local-lvm", 4)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: purge
      pve.config.vm_disk: {vmid: 100, disk: scsi1, state: absent, purge: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    purge = run["purge"]
    assert purge.changed and purge["destroyed_volume"] == volume, purge.res
    assert purge.writes(log) == [("POST", "/nodes/pve1/qemu/100/config")] * 2
    assert all(e["status"] == 200 for e in purge.requests(log))
    assert purge.end - purge.start >= 4  # the destroy task ran longer than the (shortened) proxy timeout
    assert volume not in sim.simulator.guest_config(100)["config"].values()
