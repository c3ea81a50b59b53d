"""The example playbooks under playbooks/ as a user runs them: connection from the PROXMOX_* environment."""

from __future__ import annotations

DEMO_TASKS = {
    "Give web01 4 GiB of memory and 4 cores": "/nodes/pve1/qemu/100/pending",
    "Add a 10 GiB data disk scsi1 to web01": "/nodes/pve1/qemu/100/pending",
    "Connect dns01 to vmbr1 with a static address": "/nodes/pve1/lxc/200/pending",
    "Give db01 a second NIC on the storage VLAN": "/nodes/pve1/qemu/101/pending",
}


def merged(sim, vmid):
    guest = sim.simulator.guest_config(vmid)
    return {**guest["config"], **guest["pending"]}


def test_demo_check_then_apply_then_rerun(play, sim):
    digests = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 101, 200)}

    check = play("playbooks/demo.yml", check=True)
    assert check.rc == 0, check.describe()
    assert check.changed_count() == len(DEMO_TASKS)
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []  # --check writes nothing
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in digests} == digests

    sim.simulator.clear_requests()
    apply = play("playbooks/demo.yml")
    assert apply.rc == 0, apply.describe()
    assert apply.changed_count() == len(DEMO_TASKS) and apply.failed_count() == 0
    for task in DEMO_TASKS:
        assert apply[task].changed, (task, apply[task].res)
    # --diff output: ansible shows each change as a unified diff of the config keys
    assert apply.stdout.count("--- before") >= len(DEMO_TASKS)
    assert '-    "memory": "2048"' in apply.stdout and '+    "memory": "4096"' in apply.stdout
    assert "web01: 4096 MiB, 4 cores, disks scsi0, scsi1, NICs net0" in apply.stdout

    web01, db01, dns01 = merged(sim, 100), merged(sim, 101), merged(sim, 200)
    assert (web01["memory"], web01["cores"]) == ("4096", "4")
    assert web01["scsi1"].startswith("local-lvm:vm-100-disk-1,") and "size=10G" in web01["scsi1"]
    assert "bridge=vmbr1" in db01["net1"] and "tag=30" in db01["net1"]
    assert "name=eth1" in dns01["net1"] and "ip=192.0.2.53/24" in dns01["net1"]

    sim.simulator.clear_requests()
    rerun = play("playbooks/demo.yml")
    assert rerun.rc == 0, rerun.describe()
    assert rerun.changed_count() == 0
    log = sim.simulator.requests()
    assert [e for e in log if e["method"] != "GET"] == []
    for task, pending_path in DEMO_TASKS.items():  # a no-op costs at most two GETs
        assert rerun[task].calls(log) == [("GET", "/cluster/resources"), ("GET", pending_path)], task


def test_example_playbooks(play, sim):
    scale = play("playbooks/scale_vm.yml", extravars={"vmid": 102, "memory": "3G", "cores": 3, "pve_node": "pve2"})
    assert scale.rc == 0, scale.describe()
    task = scale["Set memory and cores of VM 102"]
    assert task.changed and task["node"] == "pve2"
    assert ("GET", "/cluster/resources") not in task.calls(sim.simulator.requests())  # node from module_defaults
    assert (merged(sim, 102)["memory"], merged(sim, 102)["cores"]) == ("3072", "3")
    assert "VM 102 needs a reboot for: cores, memory" in scale.stdout  # app02 runs: pending until reboot

    disk = play("playbooks/add_data_disk.yml", extravars={"vmid": 101, "disk": "scsi2", "size": "20G"})
    assert disk.rc == 0, disk.describe()
    assert disk["Attach the data disk to VM 101"].changed
    assert "scsi2 is local-lvm:vm-101-disk-2 (20G)" in disk.stdout
    assert "discard=on" in merged(sim, 101)["scsi2"] and "size=20G" in merged(sim, 101)["scsi2"]

    nic = play("playbooks/container_second_nic.yml", extravars={"vmid": 201, "ip": "10.0.1.21/24", "gw": "10.0.1.1"})
    assert nic.rc == 0, nic.describe()
    assert nic["Add the second NIC to container 201"].changed
    proxy01 = merged(sim, 201)["net1"]
    assert "name=eth1" in proxy01 and "ip=10.0.1.21/24" in proxy01 and "firewall=1" in proxy01

    remove = play("playbooks/remove_nic.yml", extravars={"vmid": 102, "interface": "net0"})
    assert remove.rc == 0, remove.describe()
    assert remove["Remove the NIC from VM 102"].changed
    app02 = sim.simulator.guest_config(102)
    assert "net0" not in app02["config"] or app02["delete"].keys() == {"net0"}  # gone, or pending removal
