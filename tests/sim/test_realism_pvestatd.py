"""Realism: /cluster/resources takes guests' name and status from pvestatd's RRD data, stale until a tick."""

import requests

from pve_sim import Simulator
from pve_sim.testing import proxmox_client


def vm_row(api, vmid):
    return next(r for r in api.cluster.resources.get(type="vm") if r["vmid"] == vmid)


def test_a_rename_shows_in_resources_only_after_a_pvestatd_tick(realism):
    api = proxmox_client(realism)
    api.nodes("pve1").qemu(101).config.put(name="db02")
    assert api.nodes("pve1").qemu(101).config.get()["name"] == "db02"  # the config has it at once
    assert vm_row(api, 101)["name"] == "db01"
    requests.post(realism.url + "/_sim/pvestatd/tick", verify=realism.ca_path, timeout=10)
    assert vm_row(api, 101)["name"] == "db02"


def test_a_status_change_lags_too(realism):
    api = proxmox_client(realism)
    realism.simulator.set_guest_status(101, "running")
    assert vm_row(api, 101)["status"] == "stopped"
    realism.simulator.pvestatd_tick()
    assert vm_row(api, 101)["status"] == "running"


def test_a_guest_pvestatd_has_not_seen_has_no_name_and_status_unknown(realism):
    api = proxmox_client(realism)
    realism.simulator.lock_guest(102, "backup")
    with realism.simulator.state.lock:
        del realism.simulator.state.rrd[102]  # as for a guest created since pvestatd's last round
    assert vm_row(api, 102) == {
        "id": "qemu/102",
        "vmid": 102,
        "node": "pve2",
        "type": "qemu",
        "status": "unknown",
        "lock": "backup",  # lock and tags come from the config, not from the RRD
    }
    realism.simulator.pvestatd_tick()
    assert vm_row(api, 102)["name"] == "app02"


def test_node_rows_carry_cgroup_mode_2(realism):
    api = proxmox_client(realism)
    nodes = list(api.cluster.resources.get(type="node"))
    assert [(n["node"], n["cgroup-mode"]) for n in nodes] == [("pve1", 2), ("pve2", 2)]


def test_without_realism_resources_follow_the_config_at_once(sim_api):
    sim_api.nodes("pve1").qemu(101).config.put(name="db02")
    assert vm_row(sim_api, 101)["name"] == "db02"


def test_with_an_interval_pvestatd_ticks_by_itself():
    now = [1000.0]
    sim = Simulator(realism=True, pvestatd_interval=10, clock=lambda: now[0])
    sim.handle_http("PUT", "/api2/json/nodes/pve1/qemu/101/config", sim.auth_header(), b"name=db02")

    def name():
        resp = sim.handle_http("GET", "/api2/json/cluster/resources?type=vm", sim.auth_header())
        return next(r["name"] for r in resp.json()["data"] if r["vmid"] == 101)

    now[0] += 9.9
    assert name() == "db01"
    now[0] += 0.1
    assert name() == "db02"
    sim.pvestatd_interval = None
    sim.handle_http("PUT", "/api2/json/nodes/pve1/qemu/101/config", sim.auth_header(), b"name=db03")
    now[0] += 60
    assert name() == "db02"
