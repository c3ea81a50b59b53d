"""pve.config.vm_resources in ansible-playbook against the simulator: preview, change, re-run, bad input."""

from __future__ import annotations

from .runner import as_text, expect_clean_failures


def test_check_change_rerun_and_noop_cost(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview
      pve.config.vm_resources: {vmid: 100, memory: 4G, cores: 4}
      check_mode: true
    - name: change
      pve.config.vm_resources: {vmid: 100, memory: 4G, cores: 4}
    - name: rerun
      pve.config.vm_resources: {vmid: 100, memory: 4096, cores: 4}
    - name: rerun with node
      pve.config.vm_resources: {vmid: 100, node: pve1, memory: 4G}
    - name: by name
      pve.config.vm_resources: {name: web01, cpu: host, balloon: 0, sockets: 2}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    preview = run["preview"]
    assert preview.changed
    assert as_text(preview["diff"]) == {
        "before": {"memory": "2048", "cores": "2"},
        "after": {"memory": "4096", "cores": "4"},
    }
    assert preview["config"]["memory"] == "4096"  # the predicted config
    assert preview.writes(log) == []  # check mode writes nothing

    change = run["change"]
    assert change.changed, change.res
    assert as_text(change["diff"]) == as_text(preview["diff"])
    assert (change["vmid"], change["node"], change["guest_type"]) == (100, "pve1", "qemu")
    # web01 runs: the simulator keeps memory/cores pending until the next start, as Proxmox does
    assert change["reboot_required"] is True and set(change["pending"]) == {"memory", "cores"}
    assert change.writes(log) == [("PUT", "/nodes/pve1/qemu/100/config")]
    assert "+++ after" in run.stdout and "memory" in run.stdout  # --diff output

    rerun = run["rerun"]
    assert not rerun.changed and rerun["diff"] == {"before": {}, "after": {}}
    assert rerun.calls(log) == [("GET", "/cluster/resources"), ("GET", "/nodes/pve1/qemu/100/pending")]
    assert run["rerun with node"].calls(log) == [("GET", "/nodes/pve1/qemu/100/pending")]
    assert not run["rerun with node"].changed

    by_name = run["by name"]
    assert by_name.changed and by_name["vmid"] == 100
    assert as_text(by_name["diff"]["after"]) == {"cpu": "host", "balloon": "0", "sockets": "2"}

    guest = sim.simulator.guest_config(100)
    merged = {**guest["config"], **guest["pending"]}
    assert (merged["memory"], merged["cores"], merged["cpu"], merged["balloon"]) == ("4096", "4", "host", "0")


def test_bad_input_fails_and_writes_nothing(play, sim):
    before = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 200)}
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: zero memory, pve.config.vm_resources: {vmid: 100, memory: 0}, ignore_errors: true}
    - {name: negative memory, pve.config.vm_resources: {vmid: 100, memory: -512}, ignore_errors: true}
    - {name: memory words, pve.config.vm_resources: {vmid: 100, memory: lots}, ignore_errors: true}
    - {name: zero cores, pve.config.vm_resources: {vmid: 100, cores: 0}, ignore_errors: true}
    - {name: balloon above memory, pve.config.vm_resources: {vmid: 100, balloon: 8192}, ignore_errors: true}
    - {name: container, pve.config.vm_resources: {vmid: 200, memory: 1G}, ignore_errors: true}
    - {name: unknown guest, pve.config.vm_resources: {vmid: 999, memory: 1G}, ignore_errors: true}
    - {name: unknown name, pve.config.vm_resources: {name: nosuchvm, memory: 1G}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()  # every failure was ignored, the play went on
    log = sim.simulator.requests()
    expected = {
        "zero memory": "memory",
        "negative memory": "memory",
        "memory words": "memory",
        "zero cores": "cores",
        "balloon above memory": "balloon",
        "container": "not a QEMU VM",
        "unknown guest": "999",
        "unknown name": "nosuchvm",
    }
    assert [e for e in log if e["method"] != "GET"] == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (100, 200)} == before
    expect_clean_failures(run, expected)


def test_password_ticket_auth(play, sim):
    run = play(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: change
      pve.config.vm_resources: {vmid: 102, cores: 3}
    - name: rerun
      pve.config.vm_resources: {vmid: 102, cores: 3}
""",
        password=True,
    )
    assert run.rc == 0, run.describe()
    assert run["change"].changed and not run["rerun"].changed
    log = sim.simulator.requests()
    assert ("POST", "/access/ticket") in [(e["method"], e["path"]) for e in log]
    api_calls = [e for e in log if e["path"] != "/access/ticket"]
    assert api_calls and {e["auth"] for e in api_calls} == {"ticket"}
    assert {e["user"] for e in api_calls} == {"root@pam"}
    assert sim.simulator.guest_config(102)["pending"]["cores"] == "3"
    assert sim.password not in run.stdout
