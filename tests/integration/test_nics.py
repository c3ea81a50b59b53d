"""pve.config.vm_nic and pve.config.container_nic in ansible-playbook against the simulator."""

from __future__ import annotations

from .runner import expect_clean_failures


def test_vm_nic_add_change_remove(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview add
      pve.config.vm_nic: {vmid: 101, interface: net1, bridge: vmbr1, tag: 30}
      check_mode: true
    - name: add
      pve.config.vm_nic: {vmid: 101, interface: net1, bridge: vmbr1, tag: 30}
    - name: rerun
      pve.config.vm_nic: {vmid: 101, interface: net1, bridge: vmbr1, tag: 30}
    - name: retag
      pve.config.vm_nic: {vmid: 101, interface: net1, tag: 40, firewall: true}
    - name: next free slot
      pve.config.vm_nic: {vmid: 101, model: e1000, link_down: true}
    - name: preview remove
      pve.config.vm_nic: {vmid: 101, interface: net1, state: absent}
      check_mode: true
    - name: remove
      pve.config.vm_nic: {vmid: 101, interface: net1, state: absent}
    - name: remove again
      pve.config.vm_nic: {vmid: 101, interface: net1, state: absent}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    assert run["preview add"].changed and run["preview add"].writes(log) == []
    add = run["add"]
    mac = add["macaddr"]
    assert add.changed and add["interface"] == "net1" and mac
    assert add["diff"] == {"before": {}, "after": {"net1": f"virtio={mac},bridge=vmbr1,tag=30"}}
    assert add.writes(log) == [("POST", "/nodes/pve1/qemu/101/config")]  # netN goes through the task API
    rerun = run["rerun"]
    assert not rerun.changed and rerun.writes(log) == [] and len(rerun.calls(log)) <= 2

    retag = run["retag"]
    assert retag.changed and retag["macaddr"] == mac  # options not given are kept, the MAC included
    assert retag["diff"]["after"]["net1"] == f"virtio={mac},bridge=vmbr1,firewall=1,tag=40"

    new = run["next free slot"]
    assert new.changed and new["interface"] == "net2" and new["config"]["net2"].startswith("e1000=")
    assert "link_down=1" in new["config"]["net2"] and "bridge=vmbr0" in new["config"]["net2"]

    assert run["preview remove"].changed and run["preview remove"].writes(log) == []
    remove = run["remove"]
    assert remove.changed and remove["diff"] == {"before": {"net1": retag["config"]["net1"]}, "after": {}}
    assert not run["remove again"].changed and run["remove again"].writes(log) == []

    config = sim.simulator.guest_config(101)["config"]
    assert "net1" not in config and config["net2"] == new["config"]["net2"]
    assert config["net0"] == "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1"  # untouched


def test_container_nic_add_change_remove(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: add
      pve.config.container_nic: {vmid: 200, interface: net1, name: eth1, bridge: vmbr1, ip: 192.0.2.53/24,
                                 gw: 192.0.2.1}
    - name: rerun
      pve.config.container_nic: {vmid: 200, interface: net1, name: eth1, bridge: vmbr1, ip: 192.0.2.53/24,
                                 gw: 192.0.2.1}
    - name: found by name
      pve.config.container_nic: {vmid: 200, name: eth1, ip: 192.0.2.53/24}
    - name: readdress
      pve.config.container_nic: {vmid: 200, interface: net1, ip: 192.0.2.54/24, ip6: auto, mtu: 1400}
    - name: preview remove
      pve.config.container_nic: {vmid: 200, interface: net1, state: absent}
      check_mode: true
    - name: remove
      pve.config.container_nic: {vmid: 200, interface: net1, state: absent}
    - name: remove again
      pve.config.container_nic: {vmid: 200, interface: net1, state: absent}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    add = run["add"]
    hwaddr = add["hwaddr"]
    assert add.changed and add["interface"] == "net1" and hwaddr
    assert (
        add["diff"]["after"]["net1"]
        == f"name=eth1,bridge=vmbr1,gw=192.0.2.1,hwaddr={hwaddr},ip=192.0.2.53/24,type=veth"
    )
    assert add.writes(log) == [("PUT", "/nodes/pve1/lxc/200/config")]
    assert not run["rerun"].changed and len(run["rerun"].calls(log)) <= 2
    assert not run["found by name"].changed and run["found by name"]["interface"] == "net1"

    readdress = run["readdress"]
    assert readdress.changed and readdress["hwaddr"] == hwaddr
    net1 = readdress["config"]["net1"]
    assert "ip=192.0.2.54/24" in net1 and "ip6=auto" in net1 and "mtu=1400" in net1 and "gw=192.0.2.1" in net1

    assert run["preview remove"].changed and run["preview remove"].writes(log) == []
    assert run["remove"].changed and run["remove"]["diff"]["after"] == {}
    assert not run["remove again"].changed
    config = sim.simulator.guest_config(200)
    assert "net1" not in {**config["config"], **config["pending"]}


def test_nic_bad_input_fails_and_writes_nothing(play, sim):
    digests = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 101, 200)}
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: vlan out of range, pve.config.vm_nic: {vmid: 101, interface: net1, tag: 5000}, ignore_errors: true}
    - {name: no such slot, pve.config.vm_nic: {vmid: 101, interface: net99}, ignore_errors: true}
    - {name: bad mac, pve.config.vm_nic: {vmid: 101, interface: net1, macaddr: "zz:zz"}, ignore_errors: true}
    - {name: absent without interface, pve.config.vm_nic: {vmid: 101, state: absent}, ignore_errors: true}
    - {name: container for vm_nic, pve.config.vm_nic: {vmid: 200, interface: net1}, ignore_errors: true}
    - {name: unknown guest, pve.config.vm_nic: {vmid: 999, interface: net1}, ignore_errors: true}
    - {name: bad ip, pve.config.container_nic: {vmid: 200, interface: net1, ip: 300.1.2.3/24},
       ignore_errors: true}
    - {name: bad gateway, pve.config.container_nic: {vmid: 200, interface: net1, ip: dhcp, gw: gateway},
       ignore_errors: true}
    - {name: vm for container_nic, pve.config.container_nic: {vmid: 100, interface: net1}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in digests} == digests
    expect_clean_failures(
        run,
        {
            "vlan out of range": "5000",
            "no such slot": "net99",
            "bad mac": "zz:zz",
            "absent without interface": "interface",
            "container for vm_nic": "not a QEMU VM",
            "unknown guest": "999",
            "bad ip": "300.1.2.3",
            "bad gateway": "gateway",
            "vm for container_nic": "not a LXC container",
        },
    )


def test_if_exists_fail_refuses_existing_nics_and_writes_nothing(play, sim):
    """The add tools' mode (the NIC side of issue 9.5): with if_exists=fail an occupied interface, a MAC address
    (vm_nic) or a name (container_nic) that an existing NIC has is refused before any write; a free slot is
    added once and its re-run is refused, never turned into a change of that NIC."""
    before = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (101, 200)}
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: vm slot in use, pve.config.vm_nic: {vmid: 101, interface: net0, tag: 20, if_exists: fail},
       ignore_errors: true}
    - {name: vm mac in use, pve.config.vm_nic: {vmid: 101, macaddr: "bc:24:11:00:01:01", if_exists: fail},
       ignore_errors: true}
    - {name: ct slot in use, pve.config.container_nic: {vmid: 200, interface: net0, ip: manual, if_exists: fail},
       ignore_errors: true}
    - {name: ct name in use, pve.config.container_nic: {vmid: 200, name: eth0, bridge: vmbr1, if_exists: fail},
       ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert [e for e in log if e["method"] != "GET"] == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (101, 200)} == before
    expect_clean_failures(
        run,
        {
            "vm slot in use": "interface net0 of QEMU VM 101 is in use (virtio=BC:24:11:00:01:01,bridge=vmbr0",
            "vm mac in use": "macaddr BC:24:11:00:01:01 is already used by net0 of QEMU VM 101",
            "ct slot in use": "interface net0 of LXC container 200 is in use (name=eth0,",
            "ct name in use": "name eth0 is already used by net0 of LXC container 200",
        },
    )
    assert all(
        "if_exists=fail adds NICs only; nothing was changed" in run[t].msg for t in (r.task for r in run.results)
    ), run.describe()

    sim.simulator.clear_requests()
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: add, pve.config.vm_nic: {vmid: 101, interface: net1, bridge: vmbr1, if_exists: fail}}
    - {name: again, pve.config.vm_nic: {vmid: 101, interface: net1, bridge: vmbr2, if_exists: fail},
       ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    add, again = run["add"], run["again"]
    assert add.changed and add["interface"] == "net1" and add["macaddr"]
    assert again.failed and "interface net1 of QEMU VM 101 is in use" in again.msg, again.res
    assert again.writes(sim.simulator.requests()) == []
    assert sim.simulator.guest_config(101)["config"]["net1"] == f"virtio={add['macaddr']},bridge=vmbr1"
