"""pve.config.guests against the HTTPS simulator: ansible-inventory --graph/--list, ansible-doc, TLS and credentials.

The connection comes from the simulator's PROXMOX_* variables (TLS verified with its CA), as in tests/integration.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from collection_path import collection_root

RUNNER = Path(__file__).with_name("inventory_run.py")
BIN = Path(sys.executable).parent


def ansible_env(server, **overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXMOX_")}
    env.update({k: v for k, v in server.env.items() if k.startswith("PROXMOX_")})
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collection_root()), ANSIBLE_NOCOLOR="1", **overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(args, env):
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc


def inventory_file(tmp_path, text="", name="cluster.pve.yml"):
    path = tmp_path / name
    path.write_text("plugin: pve.config.guests\n" + text)
    return path


def plain(value):
    """ansible-inventory --list output without Ansible's ``{"__ansible_unsafe": ...}`` wrappers."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def test_graph(sim, tmp_path):
    proc = run([str(BIN / "ansible-inventory"), "-i", str(inventory_file(tmp_path)), "--graph"], ansible_env(sim))

    graph = proc.stdout
    for line in ("@pve_node_pve1:", "@pve_node_pve2:", "@pve_type_qemu:", "@pve_type_lxc:", "@pve_status_stopped:"):
        assert line in graph
    for host in ("web01", "db01", "app02", "dns01", "proxy01"):
        assert "|--" + host in graph
    assert "WARNING" not in proc.stderr


def test_list_with_tags_and_config(sim, sim_api, tmp_path):
    sim_api.nodes("pve1").qemu(100).config.put(tags="web;prod")
    sim_api.nodes("pve1").lxc(200).config.put(tags="dns")
    sim.simulator.clear_requests()
    source = inventory_file(tmp_path, "want_config: true\nfilters:\n  nodes: [pve1]\n")

    proc = run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], ansible_env(sim))

    out = plain(json.loads(proc.stdout))
    hostvars = out["_meta"]["hostvars"]
    assert sorted(hostvars) == ["db01", "dns01", "web01"]
    assert sorted(hostvars["web01"]["pve_tags"]) == ["prod", "web"]
    assert hostvars["web01"]["pve_config"]["tags"] in ("web;prod", "prod;web")
    assert hostvars["dns01"]["pve_type"] == "lxc"
    assert hostvars["dns01"]["pve_config"]["hostname"] == "dns01"
    assert out["pve_tag_web"]["hosts"] == ["web01"]
    calls = sorted((e["method"], e["path"]) for e in sim.simulator.requests())
    assert calls == [
        ("GET", "/cluster/resources"),
        ("GET", "/nodes/pve1/lxc/200/config"),
        ("GET", "/nodes/pve1/qemu/100/config"),
        ("GET", "/nodes/pve1/qemu/101/config"),
    ]


def test_guests_sharing_a_name_with_realism_on(sim, sim_api, tmp_path):
    sim.simulator.reset(realism=True)
    sim_api.nodes("pve2").qemu(102).config.put(name="web01")
    sim.simulator.pvestatd_tick()  # /cluster/resources shows names as pvestatd last saw them

    out = json.loads(run([sys.executable, str(RUNNER), str(inventory_file(tmp_path))], ansible_env(sim)).stdout)

    assert {name: out["hosts"][name]["pve_vmid"] for name in out["hosts"] if name.startswith("web01")} == {
        "web01_100": 100,
        "web01_102": 102,
    }
    assert out["hosts"]["ci01"]["pve_vmid"] == 111
    assert out["groups"]["pve_node_pve2"] == ["ci01", "proxy01", "web01_102"]


def test_tls_is_verified_by_default(sim, tmp_path):
    env = ansible_env(sim, PROXMOX_CA_PATH=None)
    env.pop("PROXMOX_VALIDATE_CERTS", None)
    proc = run([sys.executable, str(RUNNER), "--plugin", str(inventory_file(tmp_path))], env)

    out = json.loads(proc.stdout)
    assert out["error_type"] == "AnsibleParserError"
    assert "TLS verification of 127.0.0.1" in out["error"] and "set ca_path" in out["error"]


def test_ca_path_in_the_file(sim, tmp_path):
    env = ansible_env(sim, PROXMOX_CA_PATH=None)
    source = inventory_file(tmp_path, f"ca_path: {sim.ca_path}\n")
    out = json.loads(run([sys.executable, str(RUNNER), "--plugin", str(source)], env).stdout)

    assert "web01" in out["hosts"]


@pytest.mark.parametrize("password", [False, True])
def test_refused_credentials_name_no_secret(sim, tmp_path, password):
    wrong = "d0d0d0d0-0000-4000-8000-wrongsecret00"
    if password:
        env = ansible_env(sim, PROXMOX_TOKEN_ID=None, PROXMOX_TOKEN_SECRET=None, PROXMOX_PASSWORD=wrong)
    else:
        env = ansible_env(sim, PROXMOX_TOKEN_SECRET=wrong)
    proc = run([sys.executable, str(RUNNER), "--plugin", str(inventory_file(tmp_path))], env)

    out = json.loads(proc.stdout)
    assert out["error_type"] == "AnsibleParserError"
    assert "Proxmox refused the credentials" in out["error"]
    assert wrong not in proc.stdout + proc.stderr


def test_ansible_doc(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_root()), ANSIBLE_NOCOLOR="1")
    proc = run([str(BIN / "ansible-doc"), "-t", "inventory", "--json", "pve.config.guests"], env)

    doc = json.loads(proc.stdout)["pve.config.guests"]["doc"]
    options = doc["options"]
    for name in ("filters", "include_templates", "want_config", "config_workers", "compose", "keyed_groups", "cache"):
        assert name in options
    assert options["api_host"]["env"] == [{"name": "PROXMOX_HOST"}]
    assert options["api_token_secret"]["env"] == [{"name": "PROXMOX_TOKEN_SECRET"}]
    assert options["validate_certs"]["default"] is True
    assert options["api_host"]["description"][0].startswith("Host name or IP address")
    assert "EXAMPLES" not in proc.stderr
    assert json.loads(proc.stdout)["pve.config.guests"]["examples"].strip().startswith("# cluster.pve.yml")
