"""Forward-compatible property strings (issue 13.1): a guest whose cpu, netN and disks carry sub-keys the
collection's tables do not know stays configurable by every module, through ansible-playbook against the
simulator, and a change to one sub-key keeps the unknown ones verbatim and in their place."""

from __future__ import annotations

import pytest

from pve_sim import schema, validation

# Sub-keys a newer Proxmox knows and our tables do not: qemu-server 9.2's host-tunnel (Network.pm $net_fmt)
# and made-up ones standing for what later releases add.
NEWER_NET = {"host-tunnel": {"type": "boolean", "optional": 1}, "x-future": {"type": "string", "optional": 1}}
NEWER_DISK = {"x-future": {"type": "string", "optional": 1}}
NEWER_CPU = {"x-future": {"type": "string", "optional": 1}}

VM_NET0 = "virtio=BC:24:11:00:01:01,bridge=vmbr0,host-tunnel=1,x-future=a=b,firewall=1"
VM_CPU = "host,guest-phys-bits=40,x-future=on"
VM_SCSI1 = "local-lvm:vm-101-disk-1,iothread=1,x-future=7,size=100G"
CT_NET0 = "name=eth0,bridge=vmbr0,x-future=q,gw=10.0.0.1,hwaddr=BC:24:11:00:02:01,ip=10.0.0.21/24,type=veth"


@pytest.fixture
def newer_proxmox(sim, monkeypatch):
    """The simulator as a newer Proxmox: its formats know the extra sub-keys, and VM 101 / CT 201 carry them."""
    for kind, slots in (("qemu", ("net0", "scsi1")), ("lxc", ("net0",))):
        template = f"/nodes/{{node}}/{kind}/{{vmid}}/config"
        tables = [schema.parameters(template, m)[0] for m in ("PUT", "POST") if schema.method_info(template, m)]
        tables.append(schema.config_properties(kind))
        for props in tables:
            for slot in slots:
                extra = NEWER_NET if slot.startswith("net") else NEWER_DISK
                for key, spec in extra.items():
                    monkeypatch.setitem(props[slot]["format"], key, spec)
    for key, spec in NEWER_CPU.items():
        monkeypatch.setitem(validation.CPU_FORMAT, key, spec)
    vm = sim.simulator.state.guest(101).config
    vm.update(net0=VM_NET0, cpu=VM_CPU, scsi1=VM_SCSI1)
    sim.simulator.state.guest(201).config["net0"] = CT_NET0
    return sim


def test_every_module_changes_a_guest_with_unknown_sub_keys_and_keeps_them(play, newer_proxmox):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: read
      pve.config.guest_info: {vmid: 101}
    - name: vm nic
      pve.config.vm_nic: {vmid: 101, interface: net0, tag: 20}
    - name: vm nic again
      pve.config.vm_nic: {vmid: 101, interface: net0, tag: 20}
    - name: vm cpu type
      pve.config.vm_resources: {vmid: 101, cpu: x86-64-v3, cores: 6}
    - name: vm cpu again
      pve.config.vm_resources: {vmid: 101, cpu: x86-64-v3, cores: 6}
    - name: vm disk
      pve.config.vm_disk: {vmid: 101, disk: scsi1, size: 120G, cache: writeback}
    - name: vm disk again
      pve.config.vm_disk: {vmid: 101, disk: scsi1, size: 120G, cache: writeback}
    - name: ct nic
      pve.config.container_nic: {vmid: 201, interface: net0, tag: 30}
    - name: ct nic again
      pve.config.container_nic: {vmid: 201, interface: net0, tag: 30}
""")
    assert run.rc == 0, run.describe()
    log = newer_proxmox.simulator.requests()

    read = run["read"]
    assert read["nics"]["net0"]["host-tunnel"] == "1" and read["nics"]["net0"]["x-future"] == "a=b"
    assert read["disks"]["scsi1"]["x-future"] == "7"

    # what the modules sent: the current string with only the asked sub-keys changed, unknown ones in place
    assert sent(log, "vm nic", run, "net0") == [VM_NET0 + ",tag=20"]
    assert sent(log, "vm cpu type", run, "cpu") == ["x86-64-v3,guest-phys-bits=40,x-future=on"]
    # the grow goes first; Proxmox re-prints the drive (its key order), and the cache write merges into that
    assert sent(log, "vm disk", run, "scsi1") == [
        "local-lvm:vm-101-disk-1,iothread=1,size=120G,x-future=7,cache=writeback"
    ]
    assert sent(log, "ct nic", run, "net0") == [CT_NET0 + ",tag=30"]
    for again in ("vm nic again", "vm cpu again", "vm disk again", "ct nic again"):
        assert not run[again].changed and run[again].writes(log) == [], again

    # what Proxmox keeps (it prints property strings in its own key order)
    vm = newer_proxmox.simulator.guest_config(101)["config"]
    assert "host-tunnel=1" in vm["net0"] and "x-future=a=b" in vm["net0"] and "tag=20" in vm["net0"]
    assert "guest-phys-bits=40" in vm["cpu"] and "x-future=on" in vm["cpu"] and vm["cpu"].startswith("x86-64-v3,")
    assert "x-future=7" in vm["scsi1"] and "size=120G" in vm["scsi1"] and "cache=writeback" in vm["scsi1"]
    ct = newer_proxmox.simulator.guest_config(201)["config"]
    assert "x-future=q" in ct["net0"] and "tag=30" in ct["net0"]


def sent(log, task, run, key):
    """The values of config key ``key`` that task ``task`` wrote."""
    return [e["params"][key] for e in run[task].requests(log) if e["method"] != "GET" and key in e["params"]]


def test_the_simulators_own_newer_guests_stay_configurable(play, sim):
    """VMs 110/111 of the realism seed carry qemu-server 9.2's host-tunnel (not in the 9.1 schema our tables
    come from) and cpu level=: changing another sub-key keeps them, and a re-run is no change."""
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: nic
      pve.config.vm_nic: {vmid: 110, interface: net0, tag: 20}
    - name: nic again
      pve.config.vm_nic: {vmid: 110, interface: net0, tag: 20}
    - name: cpu
      pve.config.vm_resources: {vmid: 111, cpu: host}
    - name: read
      pve.config.guest_info: {vmid: 111}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert sent(log, "nic", run, "net0") == ["virtio=BC:24:11:00:01:10,bridge=vmbr0,firewall=1,host-tunnel=1,tag=20"]
    assert not run["nic again"].changed and run["nic again"].writes(log) == []
    assert sent(log, "cpu", run, "cpu") == ["host,level=13"]
    assert run["read"]["nics"]["net0"]["host-tunnel"] == "0"
