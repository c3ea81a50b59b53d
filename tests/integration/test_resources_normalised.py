"""Values Proxmox stores differently from the request, through ansible-playbook against the simulator (realism on):
cpuunits clamped on a cgroup v2 node, memory hot-plugged in whole DIMMs, cpu sub-keys PVE 9 writes; and the hostile-use
cases of issue 9 for the resources modules."""

from __future__ import annotations

from .runner import expect_clean_failures

V2_NOTE = "cpuunits 262144 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"


def warning_texts(result):
    """The warnings of a task result as text (ansible-core 2.19 keeps them as strings in the event data)."""
    return [w if isinstance(w, str) else w.get("event", {}).get("msg", str(w)) for w in result.get("warnings", [])]


def test_cpuunits_clamped_by_cgroup_v2_is_compared_as_stored(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview
      pve.config.vm_resources: {vmid: 100, cpuunits: 262144}
      check_mode: true
    - name: change
      pve.config.vm_resources: {vmid: 100, cpuunits: 262144}
    - name: rerun
      pve.config.vm_resources: {vmid: 100, cpuunits: 262144}
    - name: container
      pve.config.container_resources: {vmid: 200, cpuunits: 500000}
    - name: container rerun
      pve.config.container_resources: {vmid: 200, cpuunits: 500000}
    - name: in range
      pve.config.vm_resources: {vmid: 100, cpuunits: 2048}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    preview, change, rerun = run["preview"], run["change"], run["rerun"]
    assert preview.changed and str(preview["config"]["cpuunits"]) == "10000" and preview.writes(log) == []
    assert change.changed and change.writes(log) == [("PUT", "/nodes/pve1/qemu/100/config")]
    assert change["normalised"] == [V2_NOTE] and warning_texts(change.res) == [V2_NOTE]
    assert "still differs" not in change.msg
    assert not rerun.changed, rerun.res
    assert rerun.calls(log) == [  # a no-op costs two GETs (design.md)
        ("GET", "/cluster/resources"),
        ("GET", "/nodes/pve1/qemu/100/pending"),
    ]
    lookup = rerun.requests(log)[0]["params"]
    assert "type" not in lookup, lookup  # guests and nodes in one call: cgroup-mode, as 262144 is above 10000
    assert warning_texts(rerun.res) == [V2_NOTE]
    assert "[WARNING]: " + V2_NOTE in run.stdout
    assert str(change["config"]["cpuunits"]) == "10000"  # as the simulator stored it (re-read after the write)
    assert str(sim.simulator.guest_config(100)["config"]["cpuunits"]) == "2048"  # the last task's value

    assert run["container"].changed and not run["container rerun"].changed
    assert str(sim.simulator.guest_config(200)["config"]["cpuunits"]) == "10000"
    in_range = run["in range"]
    assert in_range.changed and "normalised" not in in_range.res and warning_texts(in_range.res) == []
    assert len([c for c in in_range.calls(log) if c[0] == "GET"]) == 3  # lookup, read, re-read: no node rows


def test_hostile_resource_values_fail_before_any_write(play, sim):
    """Issue 9.6 and 9.8: CPU options smuggled into cpu, booleans for integers; nothing is written."""
    before = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 101, 200)}
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: cpu options on a vm with cpu, pve.config.vm_resources: {vmid: 100, cpu: "host,flags=+aes;+pcid,hidden=1"},
       ignore_errors: true}
    - {name: cpu options on a vm without cpu, pve.config.vm_resources: {vmid: 101, cpu: "host,flags=+aes;+pcid,hidden=1"},
       ignore_errors: true}
    - {name: cpu key smuggled, pve.config.vm_resources: {vmid: 101, cpu: "cputype=host"}, ignore_errors: true}
    - {name: boolean cores, pve.config.vm_resources: {vmid: 100, cores: true}, ignore_errors: true}
    - {name: boolean ct cores, pve.config.container_resources: {vmid: 200, cores: true}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert [e for e in log if e["method"] != "GET"] == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 101, 200)} == before
    expect_clean_failures(
        run,
        {
            "cpu options on a vm with cpu": "cpu takes only the CPU type",
            "cpu options on a vm without cpu": "cpu takes only the CPU type",
            "cpu key smuggled": "cputype=host",
            "boolean cores": "cores must be",
            "boolean ct cores": "cores must be",
        },
    )


def test_balloon_and_swap_take_sizes(play, sim):
    """Issue 9.9: balloon: 8G (a documented size) is converted to MiB like memory; swap too."""
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: grow memory
      pve.config.vm_resources: {vmid: 101, memory: 16G}
    - name: balloon
      pve.config.vm_resources: {vmid: 101, balloon: 8G}
    - name: balloon rerun
      pve.config.vm_resources: {vmid: 101, balloon: 8192}
    - name: swap
      pve.config.container_resources: {vmid: 200, swap: 1G}
    - name: swap rerun
      pve.config.container_resources: {vmid: 200, swap: 1024M}
""")
    assert run.rc == 0, run.describe()
    assert run["balloon"].changed and not run["balloon rerun"].changed
    assert run["swap"].changed and not run["swap rerun"].changed
    vm = sim.simulator.guest_config(101)
    assert str({**vm["config"], **vm["pending"]}["balloon"]) == "8192"
    assert str(sim.simulator.guest_config(200)["config"]["swap"]) == "1024"


DIMM_NOTE = "memory 5000 MiB is hot-plugged in whole DIMMs on running QEMU VM 110: Proxmox stores 4608 or 5120 MiB"


def test_memory_hotplug_is_compared_as_the_dimm_boundary_proxmox_stores(play, sim):
    """VM 110 of the realism seed runs with memory hotplug and NUMA: memory goes in whole 512 MiB DIMMs."""
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: grow
      pve.config.vm_resources: {vmid: 110, memory: 5000}
    - name: rerun
      pve.config.vm_resources: {vmid: 110, memory: 5000}
    - name: shrink
      pve.config.vm_resources: {vmid: 110, memory: 3000}
    - {name: below static, pve.config.vm_resources: {vmid: 110, memory: 768}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    grow, rerun, shrink = run["grow"], run["rerun"], run["shrink"]
    assert grow.changed and grow["pending"] == {}, grow.res  # hot-plugged at once, nothing waits for a reboot
    assert str(grow["config"]["memory"]) == "5120" and "still differs" not in grow.msg
    assert grow["normalised"] == [DIMM_NOTE] and warning_texts(grow.res) == [DIMM_NOTE]
    assert not rerun.changed, rerun.res
    assert rerun.calls(log) == [  # a no-op costs two GETs: whether 110 runs comes from its resources row
        ("GET", "/cluster/resources"),
        ("GET", "/nodes/pve1/qemu/110/pending"),
    ]
    assert ("GET", "/nodes/pve1/qemu/110/status/current") in grow.calls(log)  # the re-plan after the write
    assert shrink.changed and str(shrink["config"]["memory"]) == "2560"
    expect_clean_failures(run, {"below static": "less than the 1024 MiB"})
    assert run["below static"].writes(log) == []
    assert str(sim.simulator.guest_config(110)["config"]["memory"]) == "2560"


def test_memory_hotplug_with_node_and_a_stale_row(play, sim):
    """With node given the status is asked (2 GETs for a no-op); a row pvestatd has not updated since the VM was
    started (pvestatd lag, ~10 s on a real cluster) costs one write Proxmox hot-plugs to a DIMM boundary, and the
    re-plan, which asks the VM itself, finds it as requested: no loop, no "still differs"."""
    sim.simulator.set_guest_status(110, "stopped")
    sim.simulator.pvestatd_tick()  # the row says stopped ...
    sim.simulator.set_guest_status(110, "running")  # ... but the VM runs again
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: stale row
      pve.config.vm_resources: {vmid: 110, memory: 5000}
    - name: rerun with node
      pve.config.vm_resources: {vmid: 110, node: pve1, memory: 5000}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    stale, rerun = run["stale row"], run["rerun with node"]
    assert stale.changed and "still differs" not in stale.msg, stale.res
    assert stale.writes(log) == [("PUT", "/nodes/pve1/qemu/110/config")]  # one write: 5000, stored as 5120
    put = [e for e in stale.requests(log) if e["method"] == "PUT"][0]
    assert str(put["params"]["memory"]) == "5000"  # planned on the stale row: written as asked
    assert ("GET", "/nodes/pve1/qemu/110/status/current") in stale.calls(log)  # the re-plan asked the VM
    assert str(stale["config"]["memory"]) == "5120" and stale["normalised"] == [DIMM_NOTE]
    assert not rerun.changed, rerun.res
    assert rerun.calls(log) == [
        ("GET", "/nodes/pve1/qemu/110/pending"),
        ("GET", "/nodes/pve1/qemu/110/status/current"),
    ]


def test_cpuunits_rerun_with_node_reads_the_node_rows(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: change, pve.config.container_resources: {vmid: 200, node: pve1, cpuunits: 20000}}
    - {name: rerun, pve.config.container_resources: {vmid: 200, node: pve1, cpuunits: 20000}}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert run["change"].changed and not run["rerun"].changed, run["rerun"].res
    assert run["rerun"].calls(log) == [("GET", "/nodes/pve1/lxc/200/pending"), ("GET", "/cluster/resources")]
    assert run["rerun"].requests(log)[1]["params"] == {"type": "node"}


def test_cpu_type_change_keeps_the_sub_keys_pve9_writes(play, sim):
    """VMs 110 and 111 of the realism seed carry cpu guest-phys-bits= and level= as PVE 9 writes them."""
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: type of 110
      pve.config.vm_resources: {vmid: 110, cpu: x86-64-v2-AES}
    - name: type of 111
      pve.config.vm_resources: {vmid: 111, cpu: host, cores: 2}
    - name: rerun
      pve.config.vm_resources: {vmid: 111, cpu: host, cores: 2}
""")
    assert run.rc == 0, run.describe()
    assert run["type of 110"].changed and run["type of 111"].changed and not run["rerun"].changed
    vm110, vm111 = sim.simulator.guest_config(110), sim.simulator.guest_config(111)
    assert {**vm110["config"], **vm110["pending"]}["cpu"] == "x86-64-v2-AES,guest-phys-bits=40"
    assert vm111["config"]["cpu"] == "host,level=13"
