"""pve.config.vm_disk in ansible-playbook against the simulator: create, grow, options, detach, purge."""

from __future__ import annotations

from pve_sim.testing import proxmox_client

from .runner import expect_clean_failures


def volumes(sim, storage="local-lvm", node="pve1"):
    """Volume ids on a storage, read through the API like a user would (GET .../storage/X/content)."""
    return {item["volid"] for item in proxmox_client(sim).nodes(node).storage(storage).content.get()}


def test_create_rerun_grow_and_options(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 10G}
      check_mode: true
    - name: create
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 10G, discard: true, ssd: true}
    - name: rerun
      pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 10G, discard: true, ssd: true}
    - name: grow
      pve.config.vm_disk: {vmid: 100, disk: scsi1, size: 12G}
    - name: options
      pve.config.vm_disk: {vmid: 100, disk: scsi1, cache: writeback, backup: false}
    - name: rerun options
      pve.config.vm_disk: {vmid: 100, disk: scsi1, size: 12G, cache: writeback, backup: false}
    - name: first free sata slot
      pve.config.vm_disk: {vmid: 100, bus: sata, storage: local-lvm, size: 1G}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    preview = run["preview"]
    assert preview.changed and preview["diff"]["before"] == {} and "scsi1" in preview["diff"]["after"]
    assert preview.writes(log) == []

    create = run["create"]
    assert create.changed and create["disk"] == "scsi1" and create["size"] == "10G"
    assert create["volume"] == "local-lvm:vm-100-disk-1"
    assert create["task"].startswith("UPID:pve1:") and ":qmconfig:" in create["task"]
    assert create.writes(log) == [("POST", "/nodes/pve1/qemu/100/config")]
    assert "discard=on" in create["config"]["scsi1"] and "ssd=1" in create["config"]["scsi1"]

    rerun = run["rerun"]
    assert not rerun.changed and rerun.writes(log) == [] and len(rerun.calls(log)) <= 2

    grow = run["grow"]
    assert grow.changed and grow.writes(log) == [("PUT", "/nodes/pve1/qemu/100/resize")]
    assert "size=12G" in grow["config"]["scsi1"]

    options = run["options"]
    assert options.changed and options.writes(log) == [("POST", "/nodes/pve1/qemu/100/config")]  # a drive: task API
    assert "cache=writeback" in options["diff"]["after"]["scsi1"] and "backup=0" in options["config"]["scsi1"]
    assert not run["rerun options"].changed

    sata = run["first free sata slot"]
    assert sata.changed and sata["disk"] == "sata0"
    # web01 runs and SATA is not hot-pluggable: the new disk waits in the pending section
    assert sata["reboot_required"] and "sata0" in sata["pending"]

    guest = sim.simulator.guest_config(100)
    config = {**guest["config"], **guest["pending"]}
    assert config["scsi1"].startswith(create["volume"] + ",") and "size=12G" in config["scsi1"]
    assert config["sata0"].startswith(sata["volume"] + ",")
    assert {create["volume"], sata["volume"]} <= volumes(sim)


def test_detach_and_purge(play, sim):
    assert "local-lvm:vm-101-disk-1" in volumes(sim)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview purge
      pve.config.vm_disk: {vmid: 101, disk: scsi1, state: absent, purge: true}
      check_mode: true
    - name: purge
      pve.config.vm_disk: {vmid: 101, disk: scsi1, state: absent, purge: true}
    - name: purge again
      pve.config.vm_disk: {vmid: 101, disk: scsi1, state: absent, purge: true}
    - name: add scratch
      pve.config.vm_disk: {vmid: 101, disk: virtio0, storage: local-lvm, size: 2G}
    - name: detach scratch
      pve.config.vm_disk: {vmid: 101, disk: virtio0, state: absent}
    - name: detach again
      pve.config.vm_disk: {vmid: 101, disk: virtio0, state: absent}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    preview = run["preview purge"]
    assert preview.changed and preview.writes(log) == []
    assert preview["diff"] == {"before": {"scsi1": "local-lvm:vm-101-disk-1,iothread=1,size=100G"}, "after": {}}

    purge = run["purge"]
    assert purge.changed and purge["destroyed_volume"] == "local-lvm:vm-101-disk-1"
    assert purge["diff"]["before"] == preview["diff"]["before"] and purge["diff"]["after"] == {}
    assert not run["purge again"].changed and run["purge again"].writes(log) == []

    detach = run["detach scratch"]
    scratch = run["add scratch"]["volume"]
    assert detach.changed and detach["volume"] == scratch and "destroyed_volume" not in detach.res
    assert not run["detach again"].changed

    config = sim.simulator.guest_config(101)["config"]
    assert "scsi1" not in config and "virtio0" not in config
    assert [v for k, v in config.items() if k.startswith("unused")] == [scratch]  # the purged one is not there
    content = volumes(sim)
    # purge: the volume is gone from the storage (the scratch disk may reuse its name, so compare by size)
    assert "local-lvm:vm-101-disk-1" not in content or scratch == "local-lvm:vm-101-disk-1"
    sizes = {
        item["volid"]: item["size"]
        for item in proxmox_client(sim).nodes("pve1").storage("local-lvm").content.get(vmid=101)
    }
    assert sorted(sizes.values()) == [2 * 1024**3, 32 * 1024**3]  # scratch (detached, kept) and scsi0


def test_bad_input_fails_and_writes_nothing(play, sim):
    digests = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 101, 200)}
    before = volumes(sim)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: missing storage, pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: nosuch, size: 1G},
       ignore_errors: true}
    - {name: disabled storage, pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: old-nfs, size: 1G},
       ignore_errors: true}
    - {name: storage without images, pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local, size: 1G},
       ignore_errors: true}
    - {name: slot in use, pve.config.vm_disk: {vmid: 101, disk: scsi1, storage: old-nfs, size: 100G},
       ignore_errors: true}
    - {name: shrink, pve.config.vm_disk: {vmid: 101, disk: scsi1, size: 50G}, ignore_errors: true}
    - {name: zero size, pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm, size: 0},
       ignore_errors: true}
    - {name: no size, pve.config.vm_disk: {vmid: 100, disk: scsi1, storage: local-lvm}, ignore_errors: true}
    - {name: container, pve.config.vm_disk: {vmid: 200, disk: scsi1, storage: local-lvm, size: 1G},
       ignore_errors: true}
    - {name: unknown guest, pve.config.vm_disk: {vmid: 999, disk: scsi1, storage: local-lvm, size: 1G},
       ignore_errors: true}
    - {name: purge without absent, pve.config.vm_disk: {vmid: 101, disk: scsi1, purge: true}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    expected = {
        "missing storage": "nosuch",
        "disabled storage": "disabled",
        "storage without images": "cannot hold images",
        "slot in use": "not old-nfs",
        "shrink": "shrinking",
        "zero size": "size",
        "no size": "size",
        "container": "not a QEMU VM",
        "unknown guest": "999",
        "purge without absent": "purge",
    }
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in digests} == digests
    assert volumes(sim) == before
    expect_clean_failures(run, expected)
