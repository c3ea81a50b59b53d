"""Request log, state dump and reset through the control API."""

import json

import requests


def test_request_log_records_method_path_params_status_without_credentials(sim, sim_api):
    sim_api.nodes("pve1").qemu(101).config.put(cores=3)
    sim_api.nodes("pve1").storage("local-lvm").content("local-lvm:vm-999-disk-0").delete()
    requests.post(
        sim.api_url + "/access/ticket",
        data={"username": "root@pam", "password": sim.password},
        verify=sim.ca_path,
        timeout=10,
    )
    log = requests.get(sim.url + "/_sim/requests", verify=sim.ca_path, timeout=10).json()
    assert [(e["method"], e["path"], e["params"], e["status"]) for e in log] == [
        ("PUT", "/nodes/pve1/qemu/101/config", {"cores": "3"}, 200),
        ("DELETE", "/nodes/pve1/storage/local-lvm/content/local-lvm:vm-999-disk-0", {}, 200),
        ("POST", "/access/ticket", {"username": "root@pam", "password": "<hidden>"}, 200),
    ]
    assert all(isinstance(e["time"], float) for e in log)
    text = json.dumps(log)
    assert sim.token_secret not in text and sim.password not in text


def test_request_log_can_be_cleared(sim, sim_api):
    sim_api.version.get()
    assert requests.delete(sim.url + "/_sim/requests", verify=sim.ca_path, timeout=10).json() == {"cleared": 1}
    assert sim.simulator.requests() == []


def test_state_dump_and_reset(sim, sim_api):
    sim_api.nodes("pve1").qemu(101).config.put(cores=7)
    state = requests.get(sim.url + "/_sim/state", verify=sim.ca_path, timeout=10).json()
    assert state["nodes"] == ["pve1", "pve2"]
    assert state["guests"]["101"]["config"]["cores"] == "7"
    assert state["guests"]["200"]["kind"] == "lxc"
    assert sorted(state["storages"]["pve2"]) == ["local", "local-lvm", "nas-backup", "old-nfs"]
    assert requests.post(sim.url + "/_sim/reset", verify=sim.ca_path, timeout=10).json() == {
        "reset": True,
        "realism": False,
    }
    assert sim_api.nodes("pve1").qemu(101).config.get()["cores"] == 4
    assert sim.simulator.requests()[-1]["path"] == "/nodes/pve1/qemu/101/config"
    assert len(sim.simulator.requests()) == 1


def test_guest_status_control(sim, sim_api):
    resp = requests.post(
        sim.url + "/_sim/guests/101/status", json={"status": "running"}, verify=sim.ca_path, timeout=10
    )
    assert resp.json()["status"] == "running"
    assert sim_api.nodes("pve1").qemu(101).status.current.get()["status"] == "running"
    assert requests.get(sim.url + "/_sim/nothing", verify=sim.ca_path, timeout=10).status_code == 404


def test_cluster_resources_and_nextid(sim_api):
    vms = sim_api.cluster.resources.get(type="vm")
    assert [(r["id"], r["node"], r["name"], r["status"], r["template"]) for r in vms] == [
        ("qemu/100", "pve1", "web01", "running", 0),
        ("qemu/101", "pve1", "db01", "stopped", 0),
        ("qemu/102", "pve2", "app02", "running", 0),
        ("lxc/200", "pve1", "dns01", "running", 0),
        ("lxc/201", "pve2", "proxy01", "stopped", 0),
    ]
    assert (vms[0]["maxmem"], vms[0]["maxcpu"], vms[0]["maxdisk"]) == (2048 * 1024**2, 2, 32 * 1024**3)
    storages = sim_api.cluster.resources.get(type="storage")
    assert [r["id"] for r in storages] == [
        "storage/pve1/local",
        "storage/pve2/local",
        "storage/pve1/local-lvm",
        "storage/pve2/local-lvm",
        "storage/pve1/nas-backup",
        "storage/pve2/nas-backup",
    ]
    assert [r["node"] for r in sim_api.cluster.resources.get(type="node")] == ["pve1", "pve2"]
    assert sim_api.cluster.nextid.get() == "103"


def test_guest_lists_and_status(sim_api):
    assert [g["vmid"] for g in sim_api.nodes("pve1").qemu.get()] == [100, 101]
    assert [(g["vmid"], g["name"], g["type"]) for g in sim_api.nodes("pve2").lxc.get()] == [(201, "proxy01", "lxc")]
    status = sim_api.nodes("pve1").lxc(200).status.current.get()
    assert (status["status"], status["maxmem"], status["maxswap"], status["ha"]) == (
        "running",
        512 * 1024**2,
        512 * 1024**2,
        {"managed": 0},
    )
