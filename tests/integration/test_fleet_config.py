"""pve.config.fleet_config through ansible-playbook against the simulator (realism on): 32 guests chosen by tag,
a re-run that only reads, --check --diff, one failing guest, and playbooks/fleet_by_tag.yml."""

from __future__ import annotations

import copy
import json

import pytest

from pve_sim.seed import LXC, QEMU
from pve_sim.state import Guest

from .conftest import connection_env
from .runner import as_text, run_playbook

FLEET = range(1000, 1032)  # 32 guests: VMs and containers on both nodes, half of them running


def add_fleet(sim, tag="fleet"):
    """Guests 1000-1031, copies of the seeded web01 (VM) and dns01 (container) with the tag ``tag``."""
    state = sim.simulator.state
    with state.lock:
        for vmid in FLEET:
            kind, (_node, _status, config) = ("lxc", LXC[200]) if vmid % 4 >= 2 else ("qemu", QEMU[100])
            config = copy.deepcopy(config)
            config[{"qemu": "name", "lxc": "hostname"}[kind]] = f"fleet{vmid}"
            config["tags"] = tag
            for key in ("smbios1", "vmgenid", "meta"):
                config.pop(key, None)
            running = vmid % 2 == 0
            state.guests[vmid] = Guest(
                vmid=vmid, kind=kind, node=("pve1", "pve2")[vmid % 3 == 0], config=config,
                status="running" if running else "stopped", pid=0x9000 + vmid if running else 0,
                started_at=state.now() - 60 if running else 0.0,
            )  # fmt: skip
    sim.simulator.pvestatd_tick()  # pvestatd reports them in /cluster/resources


FLEET_TASK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: fleet
      pve.config.fleet_config:
        select: {tags: [fleet]}
        config: {memory: 3072, cores: 3, description: fleet managed}
        parallel: 8
        per_node: 3
"""


def writes(log):
    return [(e["method"], e["path"]) for e in log if e["method"] != "GET"]


def test_32_guests_by_tag_then_a_rerun_reads_only(play, sim):
    assert sim.simulator.realism
    add_fleet(sim)
    run = play(FLEET_TASK)
    assert run.rc == 0, run.describe()
    result = run["fleet"]
    assert result.changed and result["progress"]["guests"] == 32 and result["progress"]["changed"] == 32
    assert [g["vmid"] for g in result["guests"]] == list(FLEET)
    assert not [g for g in result["guests"] if g["failed"]]
    for vmid in FLEET:
        guest = sim.simulator.guest_config(vmid)
        merged = {**guest["config"], **guest["pending"]}
        assert (merged["memory"], merged["cores"], merged["description"]) == ("3072", "3", "fleet managed"), vmid
    log = sim.simulator.requests()
    assert sum(1 for e in log if e["path"] == "/cluster/resources") == 1
    assert {int(path.split("/")[4]) for method, path in writes(log)} == set(FLEET)
    # a running VM keeps memory and cores pending (hotplug defaults to network,disk,usb: qemu-server
    # vmconfig_hotplug_pending); a running container applies them at once
    running_vm = next(g for g in result["guests"] if g["guest_type"] == "qemu" and g["vmid"] % 2 == 0)
    assert running_vm["reboot_required"] and {"memory", "cores"} <= set(running_vm["pending"])

    sim.simulator.clear_requests()
    rerun = play(FLEET_TASK)
    assert rerun.rc == 0, rerun.describe()
    assert not rerun["fleet"].changed and rerun["fleet"]["progress"]["unchanged"] == 32
    log = sim.simulator.requests()
    assert writes(log) == []
    assert len(log) == 1 + 32, "one /cluster/resources read, then one /pending read per guest"


def test_check_diff_predicts_per_guest_and_writes_nothing(play, sim):
    add_fleet(sim)
    digests = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in FLEET}
    run = play(FLEET_TASK, check=True, diff=True)
    assert run.rc == 0, run.describe()
    result = run["fleet"]
    assert result.changed and result["progress"]["changed"] == 32
    assert writes(sim.simulator.requests()) == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in FLEET} == digests
    first = result["guests"][0]
    assert first["diff"]["before"]["memory"] == "2048" and first["diff"]["after"]["memory"] == "3072"
    assert first["steps"] == [{"action": "set", "keys": ["memory", "cores", "description"]}]
    assert len(result["diff"]) == 32 and result["diff"][0]["before_header"] == "QEMU VM 1000"
    assert run.stdout.count("--- before: QEMU VM ") + run.stdout.count("--- before: LXC container ") == 32
    assert result.msg.endswith(": 32 would change, 0 already as requested"), result.msg
    # predicted from the hotplug rules (a running VM keeps memory and cores pending, a stopped one nothing)
    assert first["reboot_required"] and {"memory", "cores"} <= set(first["pending_predicted"])
    stopped = result["guests"][1]
    assert stopped["vmid"] == 1001 and not stopped["reboot_required"] and stopped["pending_predicted"] == []


def test_one_failing_guest_fails_the_task_after_the_others_finished(play, sim):
    add_fleet(sim)
    sim.simulator.http_error(r"^/nodes/[^/]+/qemu/1004/config$", status=500, message="disk full", method="PUT")
    run = play(FLEET_TASK)
    result = run["fleet"]
    assert result.failed and result.changed and result["progress"]["failed"] == 1
    failed = [g for g in result["guests"] if g["failed"]]
    assert [g["vmid"] for g in failed] == [1004]
    assert failed[0]["msg"].endswith("disk full; nothing was changed"), failed[0]["msg"]
    assert "1 failed (QEMU VM 1004: " in result.msg
    for vmid in FLEET:
        guest = sim.simulator.guest_config(vmid)
        merged = {**guest["config"], **guest["pending"]}
        assert merged["memory"] == ("2048" if vmid == 1004 else "3072"), vmid


@pytest.mark.parametrize("percentage, fails", [(4, False), (3, True)])  # 1 of 32 is 3.1 %
def test_max_fail_percentage(play, sim, percentage, fails):
    add_fleet(sim)
    sim.simulator.http_error(r"^/nodes/[^/]+/qemu/1004/config$", status=500, message="disk full", method="PUT")
    run = play(FLEET_TASK.replace("per_node: 3", f"per_node: 3\n        max_fail_percentage: {percentage}"))
    assert run["fleet"].failed is fails and run["fleet"]["progress"]["failed"] == 1, run.describe()


def test_the_fleet_by_tag_playbook(play, sim):
    add_fleet(sim, tag="web")
    run = play("playbooks/fleet_by_tag.yml", extravars={"tag": "web", "memory": 3072, "cores": 2})
    assert run.rc == 0, run.describe()
    task = run["Memory, cores and description of every guest tagged web"]
    assert task.changed and task["progress"]["guests"] == 32
    reboot = run["Guests that wait for a reboot"]
    assert "fleet1000" in str(reboot["msg"]) and "fleet1003" not in str(reboot["msg"])  # a VM waits, a CT not
    rerun = play("playbooks/fleet_by_tag.yml", extravars={"tag": "web", "memory": 3072, "cores": 2})
    assert rerun.rc == 0 and rerun.changed_count() == 0, rerun.describe()


def test_the_drift_report_shows_every_guest_of_a_fleet_task(sim, tmp_path):
    add_fleet(sim)
    sim.simulator.http_error(r"^/nodes/[^/]+/lxc/1002/pending$", status=500, message="node unreachable", method="GET")
    page = tmp_path / "drift.html"
    env = dict(
        connection_env(sim), ANSIBLE_CALLBACKS_ENABLED="pve.config.drift_report", PVE_DRIFT_REPORT_PATH=str(page)
    )
    run = run_playbook(FLEET_TASK, env, check=True, diff=True)
    assert run.rc == 2 and run["fleet"].failed, run.describe()  # max_fail_percentage 0: the unreadable guest fails it
    assert writes(sim.simulator.requests()) == []
    document = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert document["summary"]["guests"] == 32 and document["summary"]["drifted"] == 31
    assert document["summary"]["failed"] == 1
    guests = {g["vmid"]: g for g in document["guests"]}
    assert set(guests) == set(FLEET) and guests[1002]["status"] == "failed"
    vm = guests[1000]
    assert (vm["name"], vm["node"], vm["guest_type"], vm["status"]) == ("fleet1000", "pve1", "qemu", "drifted")
    assert {k["key"]: (as_text(k["current"]), as_text(k["desired"])) for k in vm["keys"]} == {
        "memory": ("2048", "3072"), "cores": ("2", "3"), "description": (None, "fleet managed")
    }  # fmt: skip
    assert "node unreachable" in guests[1002]["results"][0]["msg"]
    assert "fleet1031" in page.read_text(encoding="utf-8")


def test_reboot_if_needed_reboots_the_guests_that_wait_for_it(play, sim):
    add_fleet(sim)
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: fleet
      pve.config.fleet_config:
        select: {vmids: [1000, 1001, 1004, 1008]}
        config: {memory: 3072}
        reboot: if_needed
        reboot_timeout: 60
        per_node: 2
""")
    assert run.rc == 0, run.describe()
    guests = {g["vmid"]: g for g in run["fleet"]["guests"]}
    assert {vmid: g["rebooted"] for vmid, g in guests.items()} == {1000: True, 1001: False, 1004: True, 1008: True}
    assert all(g["pending"] == {} and not g["reboot_required"] for g in guests.values())
    for vmid in guests:
        assert sim.simulator.guest_config(vmid)["config"]["memory"] == "3072"
    reboots = [e["path"] for e in sim.simulator.requests() if e["path"].endswith("/status/reboot")]
    assert sorted(reboots) == [f"/nodes/{guests[v]['node']}/qemu/{v}/status/reboot" for v in (1000, 1004, 1008)]
