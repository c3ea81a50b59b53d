"""pve.config.guest_info in ansible-playbook against the simulator: read-only, parsed disks and NICs."""

from __future__ import annotations


def test_guest_info_reads_and_never_writes(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: vm
      pve.config.guest_info: {vmid: 101}
    - name: container by name
      pve.config.guest_info: {name: dns01}
    - name: with node
      pve.config.guest_info: {vmid: 102, node: pve2}
      check_mode: true
    - name: unknown
      pve.config.guest_info: {vmid: 999}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert [e for e in log if e["method"] != "GET"] == []

    vm = run["vm"]
    assert not vm.changed
    assert (vm["vmid"], vm["node"], vm["guest_type"], vm["status"], vm["name"]) == (
        101,
        "pve1",
        "qemu",
        "stopped",
        "db01",
    )
    assert vm["digest"] == sim.simulator.guest_config(101)["digest"]
    assert (
        vm["disks"]["scsi1"]["size_bytes"] == 100 * 1024**3
        and vm["disks"]["scsi1"]["file"] == "local-lvm:vm-101-disk-1"
    )
    assert vm["nics"]["net0"]["macaddr"] == "BC:24:11:00:01:01" and vm["nics"]["net0"]["bridge"] == "vmbr0"
    assert str(vm["config"]["memory"]) == "4096"

    ct = run["container by name"]
    assert (ct["vmid"], ct["guest_type"], ct["status"]) == (200, "lxc", "running")
    assert ct["disks"]["rootfs"]["size"] == "8G" and ct["nics"]["net0"]["name"] == "eth0"

    assert run["with node"]["name"] == "app02" and not run["with node"].changed
    assert ("GET", "/cluster/resources") not in run["with node"].calls(log)  # node given: no lookup

    assert run["unknown"].failed and "999" in run["unknown"].msg


def test_without_vmid_and_name_guest_info_lists_the_guests_with_their_pools(play, sim):
    from pve_sim.testing import proxmox_client

    api = proxmox_client(sim)
    api.pools.post(poolid="lab")
    api.pools.put(poolid="lab", vms="101,200")
    api.nodes("pve1").qemu(100).config.put(tags="web;prod")
    sim.simulator.clear_requests()
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: all
      pve.config.guest_info:
    - name: on pve2
      pve.config.guest_info: {node: pve2}
      check_mode: true
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    for task in ("all", "on pve2"):  # one read each, nothing else
        assert run[task].calls(log) == [("GET", "/cluster/resources")], run[task].calls(log)
        assert not run[task].changed and "config" not in run[task].res
    guests = {guest["vmid"]: guest for guest in run["all"]["guests"]}
    assert sorted(guests) == sorted(sim.simulator.state.guests)
    assert guests[101]["pool"] == "lab" and guests[200]["pool"] == "lab" and guests[100]["pool"] is None
    assert guests[100]["tags"] == ["prod", "web"] and guests[100]["type"] == "qemu" and guests[200]["type"] == "lxc"
    assert set(guests[100]) == {"vmid", "name", "node", "type", "status", "tags", "pool", "lock", "template"}
    on_pve2 = run["on pve2"]["guests"]
    assert on_pve2 and {guest["node"] for guest in on_pve2} == {"pve2"}
    assert [g["vmid"] for g in on_pve2] == sorted(v for v, g in guests.items() if g["node"] == "pve2")
