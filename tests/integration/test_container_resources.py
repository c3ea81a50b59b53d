"""pve.config.container_resources in ansible-playbook against the simulator."""

from __future__ import annotations

from .runner import as_text, expect_clean_failures


def test_check_change_rerun_and_bad_input(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview
      pve.config.container_resources: {vmid: 200, memory: 1G, swap: 0, cores: 2}
      check_mode: true
    - name: change
      pve.config.container_resources: {vmid: 200, memory: 1G, swap: 0, cores: 2}
    - name: rerun
      pve.config.container_resources: {vmid: 200, memory: 1024, swap: 0, cores: 2}
    - name: by name
      pve.config.container_resources: {name: proxy01, cpulimit: 1.5, cpuunits: 200}
    - {name: zero memory, pve.config.container_resources: {vmid: 200, memory: 0}, ignore_errors: true}
    - {name: negative swap, pve.config.container_resources: {vmid: 200, swap: -1}, ignore_errors: true}
    - {name: a vm, pve.config.container_resources: {vmid: 100, memory: 1G}, ignore_errors: true}
    - {name: unknown guest, pve.config.container_resources: {vmid: 4242, cores: 1}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    preview, change, rerun = run["preview"], run["change"], run["rerun"]
    expected_diff = {
        "before": {"memory": "512", "swap": "512", "cores": "1"},
        "after": {"memory": "1024", "swap": "0", "cores": "2"},
    }
    assert preview.changed and as_text(preview["diff"]) == expected_diff
    assert preview.writes(log) == []
    assert change.changed and as_text(change["diff"]) == expected_diff
    assert change["guest_type"] == "lxc" and change.writes(log) == [("PUT", "/nodes/pve1/lxc/200/config")]
    assert not rerun.changed and rerun.writes(log) == [] and len(rerun.calls(log)) <= 2
    assert run["by name"].changed and run["by name"]["node"] == "pve2"

    expected = {
        "zero memory": "memory",
        "negative swap": "swap",
        "a vm": "not a LXC container",
        "unknown guest": "4242",
    }
    for task in expected:
        assert run[task].failed and run[task].writes(log) == [], (task, run[task].res)

    dns01 = sim.simulator.guest_config(200)
    merged = {**dns01["config"], **dns01["pending"]}
    assert (merged["memory"], merged["swap"], merged["cores"]) == ("1024", "0", "2")
    proxy01 = sim.simulator.guest_config(201)["config"]
    assert (proxy01["cpulimit"], proxy01["cpuunits"]) == ("1.5", "200")
    expect_clean_failures(run, expected)
