"""vm_disk in ansible-playbook against the simulator (realism on): the hostile-use and fidelity defects of
issues 9 (items 4, 5) and 13 (items 5, 6), each reproduced as the user met it."""

from __future__ import annotations

from pve_sim.testing import proxmox_client

from .runner import expect_clean_failures

SNAPSHOT_HELD = "unable to delete 'local-lvm:vm-101-disk-1' - volume is still in use (snapshot?)"


def volumes(sim, vmid, storage="local-lvm"):
    """{volid: size} of a guest's volumes, read through the API like a user would."""
    items = proxmox_client(sim).nodes("pve1").storage(storage).content.get(vmid=vmid)
    return {item["volid"]: item["size"] for item in items}


def test_if_exists_fail_never_touches_an_occupied_slot(play, sim):
    # Issue 9.5: add_vm_disk {vmid: 101, size: 64, disk_id: scsi0} grew the boot disk 32G -> 64G, and with scsi1
    # rewrote its cache and backup options. With if_exists: fail both are refused before any write.
    before = sim.simulator.guest_config(101)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: boot disk, pve.config.vm_disk: {vmid: 101, disk: scsi0, storage: local-lvm, size: 64, if_exists: fail},
       ignore_errors: true}
    - name: data disk
      pve.config.vm_disk: {vmid: 101, disk: scsi1, storage: local-lvm, size: 100, cache: writeback, backup: false,
                           if_exists: fail}
      ignore_errors: true
    - name: free slot
      pve.config.vm_disk: {vmid: 101, disk: scsi2, storage: local-lvm, size: 1, if_exists: fail}
    - name: free slot again
      pve.config.vm_disk: {vmid: 101, disk: scsi2, storage: local-lvm, size: 1, if_exists: fail}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    expect_clean_failures(run, {"boot disk": "slot scsi0", "data disk": "slot scsi1", "free slot again": "scsi2"})
    assert "is in use (local-lvm:vm-101-disk-0, 32G); if_exists=fail creates disks only" in run["boot disk"].msg
    log = sim.simulator.requests()
    assert run["boot disk"].writes(log) == [] and run["data disk"].writes(log) == []
    created = run["free slot"]
    assert created.changed and created["disk"] == "scsi2"
    after = sim.simulator.guest_config(101)["config"]
    assert {k: after[k] for k in ("scsi0", "scsi1")} == {k: before["config"][k] for k in ("scsi0", "scsi1")}


def test_grow_of_a_disk_with_a_pending_option_change_ends(play, sim):
    # Issue 13.6: on the running VM 100 a cache change stays pending; resize rewrites the current drive only, so
    # comparing the size with the pending drive looped and failed "scsi0 still differs" on every run.
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: cache
      pve.config.vm_disk: {vmid: 100, disk: scsi0, cache: writeback}
    - name: grow
      pve.config.vm_disk: {vmid: 100, disk: scsi0, size: 40G, cache: writeback}
    - name: rerun
      pve.config.vm_disk: {vmid: 100, disk: scsi0, size: 40G, cache: writeback}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert run["cache"].changed and "scsi0" in run["cache"]["pending"]
    grow = run["grow"]
    assert grow.changed and grow.writes(log) == [("PUT", "/nodes/pve1/qemu/100/resize")]
    assert grow["size"] == "40G"
    rerun = run["rerun"]
    assert not rerun.changed and rerun.writes(log) == [] and len(rerun.calls(log)) == 2
    guest = sim.simulator.guest_config(100)
    assert "size=40G" in guest["config"]["scsi0"] and "cache=writeback" in guest["pending"]["scsi0"]
    assert volumes(sim, 100)["local-lvm:vm-100-disk-0"] == 40 * 1024**3


def test_new_disk_in_whole_mib_and_its_rerun(play, sim):
    # Issue 13.5: new disks are asked in whole MiB; a re-run of the same task is no change.
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create
      pve.config.vm_disk: {vmid: 101, disk: scsi3, storage: local-lvm, size: 1536K}
    - name: rerun
      pve.config.vm_disk: {vmid: 101, disk: scsi3, storage: local-lvm, size: 1536K}
""")
    assert run.rc == 0, run.describe()
    create, rerun = run["create"], run["rerun"]
    assert create.changed and create["size"] == "2M" and create["size_rounded"] is True
    assert "1536K rounded up to whole MiB" in create.msg
    assert not rerun.changed and rerun["size_rounded"] is True
    assert volumes(sim, 101)[create["volume"]] == 2 * 1024**2


def test_volume_left_behind_by_a_failed_destroy_can_be_destroyed(play, sim):
    # Issue 9.4: a destroy that fails leaves the volume as unusedN; naming unusedN destroys it later, and a
    # re-run of the original task names the unused volumes instead of saying "already as requested" only.
    detach = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: detach
      pve.config.vm_disk: {vmid: 101, disk: scsi1, state: absent}
""")
    assert detach.rc == 0, detach.describe()
    assert sim.simulator.guest_config(101)["config"]["unused0"] == "local-lvm:vm-101-disk-1"
    # qemu-server refuses to free a volume a snapshot still uses; its qmconfig task fails with that message.
    sim.simulator.task_fault(type="qmconfig", exitstatus=SNAPSHOT_HELD, times=1)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: destroy held
      pve.config.vm_disk: {vmid: 101, disk: unused0, state: absent, purge: true}
      ignore_errors: true
    - name: rerun of the original task
      pve.config.vm_disk: {vmid: 101, disk: scsi1, state: absent, purge: true}
    - name: without purge
      pve.config.vm_disk: {vmid: 101, disk: unused0, state: absent}
      ignore_errors: true
    - name: destroy
      pve.config.vm_disk: {vmid: 101, disk: unused0, state: absent, purge: true}
    - name: destroy again
      pve.config.vm_disk: {vmid: 101, disk: unused0, state: absent, purge: true}
""")
    assert run.rc == 0, run.describe()
    held = run["destroy held"]
    assert held.failed and SNAPSHOT_HELD in held.msg
    assert "volume local-lvm:vm-101-disk-1 stays as unused0 of QEMU VM 101: a snapshot still uses it" in held.msg
    assert "run again with disk: unused0, state: absent, purge: true" in held.msg
    assert held["unused"] == "unused0" and held["volume"] == "local-lvm:vm-101-disk-1"
    rerun = run["rerun of the original task"]
    assert not rerun.changed and rerun["unused"] == {"unused0": "local-lvm:vm-101-disk-1"}
    assert "unused0 (local-lvm:vm-101-disk-1)" in rerun.msg
    expect_clean_failures(run, {"without purge": "set purge=true"})
    destroy = run["destroy"]
    assert destroy.changed and destroy["destroyed_volume"] == "local-lvm:vm-101-disk-1"
    assert not run["destroy again"].changed
    assert "unused0" not in sim.simulator.guest_config(101)["config"]
    assert "local-lvm:vm-101-disk-1" not in volumes(sim, 101)


def test_sizes_as_thick_lvm_allocates_them(play, sim):
    # Issue 13.5 with the simulator's storage rounding: san-lvm is thick LVM, whose 4 MiB extents make a 10M disk
    # 12M (pve-storage LVMPlugin.pm lvcreate). size= records what was asked; an option write records the actual
    # size (qemu-server create_disks: volume_size_info). Neither a grow the volume already has nor a re-run of
    # the first task is a write or a shrink error.
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create
      pve.config.vm_disk: {vmid: 101, disk: scsi3, storage: san-lvm, size: 10M}
    - name: rerun
      pve.config.vm_disk: {vmid: 101, disk: scsi3, storage: san-lvm, size: 10M}
    - name: grow within the extent
      pve.config.vm_disk: {vmid: 101, disk: scsi3, size: 11M}
    - name: options
      pve.config.vm_disk: {vmid: 101, disk: scsi3, cache: writeback}
    - name: first task again
      pve.config.vm_disk: {vmid: 101, disk: scsi3, storage: san-lvm, size: 10M}
    - name: grow past the extent
      pve.config.vm_disk: {vmid: 101, disk: scsi3, size: 13M}
    - name: grow past the extent again
      pve.config.vm_disk: {vmid: 101, disk: scsi3, size: 13M}
    - {name: shrink, pve.config.vm_disk: {vmid: 101, disk: scsi3, size: 7M}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    create = run["create"]
    volid = create["volume"]
    assert create.changed and create["size"] == "10M" and "size_rounded" not in create.res
    assert volid.startswith("san-lvm:vm-101-disk-")
    for task in ("rerun", "grow within the extent", "first task again", "grow past the extent again"):
        assert not run[task].changed and run[task].writes(log) == [], task
    assert run["grow within the extent"]["size_rounded"] is True
    options = run["options"]
    assert options.changed and "size=12M" in options["config"]["scsi3"]
    assert run["first task again"]["size_rounded"] is True and run["first task again"]["size"] == "12M"
    grow = run["grow past the extent"]
    assert grow.changed and grow.writes(log) == [("PUT", "/nodes/pve1/qemu/101/resize")]
    assert grow["size"] == "13M"
    expect_clean_failures(run, {"shrink": "shrinking it to 7M is not supported"})
    assert volumes(sim, 101, "san-lvm")[volid] == 16 * 1024**2


def test_volume_held_by_a_snapshot_is_named_as_left_behind(play, sim):
    # Issue 9.4 with the realism seed: VM 111 (stopped, on pve2) has a snapshot that uses its unused0 and its
    # scsi0 (qemu-server Drive.pm is_volume_in_use scans the snapshots; try_deallocate_drive refuses).
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: destroy unused0
      pve.config.vm_disk: {vmid: 111, disk: unused0, state: absent, purge: true}
      ignore_errors: true
    - name: purge scsi0
      pve.config.vm_disk: {vmid: 111, disk: scsi0, state: absent, purge: true}
      ignore_errors: true
    - name: purge scsi0 again
      pve.config.vm_disk: {vmid: 111, disk: scsi0, state: absent, purge: true}
""")
    assert run.rc == 0, run.describe()
    unused = run["destroy unused0"]
    assert unused.failed and "volume is still in use (snapshot?)" in unused.msg
    assert "volume ceph-rbd:vm-111-disk-1 stays as unused0 of QEMU VM 111: a snapshot still uses it" in unused.msg
    # the destroy task was accepted and failed: the re-read shows the config as before (engine's 13.4 wording)
    assert unused.msg.endswith("; the write was accepted; its outcome: no change to the config")
    assert unused["changed"] is False
    purge = run["purge scsi0"]
    assert purge.failed and purge["unused"] == "unused1" and purge["volume"] == "ceph-rbd:vm-111-disk-0"
    assert "volume ceph-rbd:vm-111-disk-0 stays as unused1 of QEMU VM 111" in purge.msg
    assert purge.msg.endswith(
        "already applied: detach scsi0 (volume ceph-rbd:vm-111-disk-0); "
        "the write was accepted; its outcome: no change to the config"
    )
    assert purge["changed"] is True
    assert "destroy volume" not in purge.msg.split("already applied:")[1]
    again = run["purge scsi0 again"]
    assert not again.changed
    assert again["unused"] == {"unused0": "ceph-rbd:vm-111-disk-1", "unused1": "ceph-rbd:vm-111-disk-0"}
    config = sim.simulator.guest_config(111)["config"]
    assert "scsi0" not in config and config["unused1"] == "ceph-rbd:vm-111-disk-0"
