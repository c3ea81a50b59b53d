"""pve.config.guests against a faked HTTP API: the exact requests, hosts, variables, groups, filters and errors.

Each test runs the inventory through Ansible's InventoryManager in a process of its own (inventory_run.py);
``responses`` fakes the API in that process and reports every request made.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import HOST, TOKEN_SECRET

RUNNER = Path(__file__).with_name("inventory_run.py")
ENV = {
    "PROXMOX_HOST": HOST,
    "PROXMOX_USER": "root@pam",
    "PROXMOX_TOKEN_ID": "ci",
    "PROXMOX_TOKEN_SECRET": TOKEN_SECRET,
}
RESOURCES = "/cluster/resources"
SECRET_IN_FILE = "5ec2e7-from-the-file"


def row(vmid, name=None, kind="qemu", node="pve1", status="running", **extra):
    """A /cluster/resources?type=vm row as pve-manager's extract_vm_stats builds it."""
    entry = {"id": f"{kind}/{vmid}", "vmid": vmid, "node": node, "type": kind, "status": status}
    if name is not None:
        entry.update(name=name, template=0, uptime=10, maxmem=2147483648, maxcpu=2)
    entry.update(extra)
    return entry


def listing(*rows):
    return {"method": "GET", "path": RESOURCES, "query": {"type": "vm"}, "json": {"data": list(rows)}}


def config_answer(guest, config, delay=0):
    path = f"/nodes/{guest['node']}/{guest['type']}/{guest['vmid']}/config"
    return {"method": "GET", "path": path, "json": {"data": config}, "delay": delay}


def run_inventory(tmp_path, source, answers, env=None, name="cluster.pve.yml", mode=()):
    """Parse ``source`` (the inventory file's text) with the API answering ``answers``; the runner's JSON.

    Through InventoryManager, or with ``mode=["--plugin"]`` by the plugin itself (to see its exception)."""
    path = tmp_path / name
    path.write_text(source)
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps([dict({"host": f"{HOST}:8006"}, **answer) for answer in answers]))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROXMOX_")}
    full_env.update(ENV if env is None else env, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [sys.executable, str(RUNNER), *mode, str(path), str(answers_file)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    out["stderr"] = proc.stderr
    for secret in (TOKEN_SECRET, SECRET_IN_FILE):
        assert secret not in proc.stdout + proc.stderr, "a secret leaked"
    return out


PLUGIN = "plugin: pve.config.guests\n"
WEB = row(100, "web01", tags="web;prod", pool="frontend")
DB = row(101, "db01", status="stopped", lock="backup", tags="db")
CT = row(200, "dns01", kind="lxc", node="pve2", tags="infra,dns web")
TEMPLATE = row(9000, "tpl-debian", status="stopped")
TEMPLATE["template"] = 1


def test_one_request_and_every_host_variable(tmp_path):
    out = run_inventory(tmp_path, PLUGIN, [listing(WEB, DB, CT, TEMPLATE)])

    assert out["requests"] == [["GET", RESOURCES, {"type": "vm"}]]
    assert sorted(out["hosts"]) == ["db01", "dns01", "web01"]
    web = {k: v for k, v in out["hosts"]["web01"].items() if k.startswith("pve_")}
    assert web == {
        "pve_vmid": 100,
        "pve_node": "pve1",
        "pve_type": "qemu",
        "pve_name": "web01",
        "pve_status": "running",
        "pve_tags": ["web", "prod"],
        "pve_pool": "frontend",
        "pve_lock": None,
        "pve_template": False,
    }
    assert out["hosts"]["db01"]["pve_lock"] == "backup"
    assert out["hosts"]["db01"]["pve_pool"] is None
    # ';', ',' and spaces all separate tags (pve-common split_list)
    assert out["hosts"]["dns01"]["pve_tags"] == ["infra", "dns", "web"]
    assert "ansible_host" not in out["hosts"]["web01"], "connection is left to the user"


def test_groups_by_node_type_status_tag_and_pool(tmp_path):
    weird = row(102, "odd", node="pve-2", tags="team.a")
    out = run_inventory(tmp_path, PLUGIN, [listing(WEB, DB, CT, weird)])

    groups = out["groups"]
    assert groups["pve_node_pve1"] == ["db01", "web01"]
    assert groups["pve_node_pve_2"] == ["odd"], "group names are made safe"
    assert groups["pve_type_qemu"] == ["db01", "odd", "web01"]
    assert groups["pve_type_lxc"] == ["dns01"]
    assert groups["pve_status_stopped"] == ["db01"]
    assert groups["pve_tag_web"] == ["dns01", "web01"]
    assert groups["pve_tag_team_a"] == ["odd"]
    assert groups["pve_pool_frontend"] == ["web01"]


def test_templates_only_when_asked(tmp_path):
    out = run_inventory(tmp_path, PLUGIN + "include_templates: true\n", [listing(WEB, TEMPLATE)])

    assert sorted(out["hosts"]) == ["tpl-debian", "web01"]
    assert out["hosts"]["tpl-debian"]["pve_template"] is True


def test_shared_names_get_the_vmid_and_a_guest_without_name_its_vmid(tmp_path):
    twin_a = row(110, "ci01")
    twin_b = row(111, "ci01", node="pve2")
    unseen = row(112, status="unknown")  # pvestatd has not reported it yet: no name, status unknown (extract_vm_stats)
    out = run_inventory(tmp_path, PLUGIN, [listing(twin_a, twin_b, unseen, WEB)])

    assert sorted(out["hosts"]) == ["112", "ci01_110", "ci01_111", "web01"]
    assert out["hosts"]["112"]["pve_name"] is None
    assert out["hosts"]["112"]["pve_status"] == "unknown"
    assert out["hosts"]["ci01_111"]["pve_node"] == "pve2"


@pytest.mark.parametrize(
    "filters, hosts",
    [
        ("{tags: [web]}", ["dns01", "web01"]),
        ("{tags: [web], types: [lxc]}", ["dns01"]),
        ("{pools: [frontend]}", ["web01"]),
        ("{nodes: [pve2]}", ["dns01"]),
        ("{status: [stopped]}", ["db01"]),
        ("{status: [running], nodes: [pve1, pve2]}", ["dns01", "web01"]),
        ("{tags: [nothing]}", []),
    ],
)
def test_filters_all_must_match(tmp_path, filters, hosts):
    out = run_inventory(tmp_path, PLUGIN + f"filters: {filters}\n", [listing(WEB, DB, CT)])

    assert sorted(out["hosts"]) == hosts
    assert out["requests"] == [["GET", RESOURCES, {"type": "vm"}]]


def test_want_config_fetches_each_config_concurrently_within_the_bound(tmp_path):
    guests = [row(100 + i, f"vm{i}", node=f"pve{i % 2 + 1}") for i in range(6)] + [CT]
    answers = [listing(*guests, TEMPLATE)]
    answers += [config_answer(g, {"name": g["name"], "memory": "2048"}, delay=0.2) for g in guests]
    source = PLUGIN + "want_config: true\nconfig_workers: 3\n"
    out = run_inventory(tmp_path, source, answers)

    requests = out["requests"]
    assert requests[0] == ["GET", RESOURCES, {"type": "vm"}]
    expected = sorted(["GET", f"/nodes/{g['node']}/{g['type']}/{g['vmid']}/config", {}] for g in guests)
    assert sorted(requests[1:]) == expected, "one config GET per guest that passed, none for the template"
    assert out["max_in_flight"] == 3, "config_workers requests at once"
    assert out["hosts"]["vm0"]["pve_config"] == {"name": "vm0", "memory": "2048"}
    assert out["hosts"]["dns01"]["pve_config"] == {"name": "dns01", "memory": "2048"}


def test_want_config_only_for_filtered_guests(tmp_path):
    source = PLUGIN + "want_config: true\nfilters: {types: [lxc]}\n"
    out = run_inventory(tmp_path, source, [listing(WEB, CT), config_answer(CT, {"hostname": "dns01"})])

    assert out["requests"][1:] == [["GET", "/nodes/pve2/lxc/200/config", {}]]
    assert out["hosts"]["dns01"]["pve_config"] == {"hostname": "dns01"}


def test_compose_groups_and_keyed_groups(tmp_path):
    source = PLUGIN + (
        "compose:\n  ansible_host: pve_name ~ '.lab'\n"
        "groups:\n  locked: pve_lock is not none\n"
        "keyed_groups:\n  - key: pve_tags\n    prefix: role\n"
    )
    out = run_inventory(tmp_path, source, [listing(WEB, DB, CT)])

    assert out["hosts"]["web01"]["ansible_host"] == "web01.lab"
    assert out["groups"]["locked"] == ["db01"]
    assert out["groups"]["role_web"] == ["dns01", "web01"]
    assert out["groups"]["role_db"] == ["db01"]


def test_cache_answers_the_second_run_without_requests(tmp_path):
    source = PLUGIN + "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % (
        tmp_path / "cache"
    )
    first = run_inventory(tmp_path, source, [listing(WEB, CT)])
    second = run_inventory(tmp_path, source, [listing(WEB)])

    assert first["requests"] == [["GET", RESOURCES, {"type": "vm"}]]
    assert second["requests"] == [], "the cached guests are used"
    assert sorted(second["hosts"]) == ["dns01", "web01"]
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert "dns01" in cached and TOKEN_SECRET not in cached


@pytest.mark.parametrize("name, verified", [("cluster.yml", False), ("a.pve.yaml", True), ("pve.yml", False)])
def test_only_pve_yml_files_are_read(tmp_path, name, verified):
    out = run_inventory(tmp_path, PLUGIN, [listing(WEB)], name=name, mode=["--plugin"])

    assert out["verified"] is verified
    assert sorted(out["hosts"]) == (["web01"] if verified else [])


def test_a_plugin_error_reaches_the_user_through_the_inventory_manager(tmp_path):
    out = run_inventory(tmp_path, PLUGIN + "filters: {tag: [web]}\n", [listing(WEB)])

    assert out["error"] == "No inventory was parsed, please check your configuration and options."
    assert "unknown filters key(s) tag" in out["stderr"], "Ansible shows the plugin's error as a warning"


@pytest.mark.parametrize(
    "source, message",
    [
        ("filters: {tag: [web]}\n", "unknown filters key(s) tag: use tags, pools, nodes, types, status"),
        ("filters: {tags: web}\n", "filters.tags must be a list, not 'web'"),
        ("filters: {types: [vm]}\n", "filters.types: vm is not qemu or lxc"),
        ("want_config: true\nconfig_workers: 50\n", "config_workers must be from 1 to 10, not 50"),
        ("want_configs: true\n", "unknown option(s) want_configs in "),
    ],
)
def test_bad_options_are_clear_errors_before_any_request(tmp_path, source, message):
    out = run_inventory(tmp_path, PLUGIN + source, [listing(WEB)], mode=["--plugin"])

    assert out["error_type"] == "AnsibleParserError"
    assert message in out["error"]
    assert out["requests"] == []


def test_empty_filters_keep_every_guest(tmp_path):
    out = run_inventory(tmp_path, PLUGIN + "filters:\n", [listing(WEB, CT)])

    assert sorted(out["hosts"]) == ["dns01", "web01"]


def test_refused_credentials(tmp_path):
    refused = dict(listing(WEB), status=401, json={"data": None})
    out = run_inventory(tmp_path, PLUGIN, [refused], mode=["--plugin"])

    assert out["error_type"] == "AnsibleParserError"
    assert "pve.config.guests: Proxmox refused the credentials (GET /cluster/resources" in out["error"]
    assert TOKEN_SECRET not in out["error"]


def test_missing_credentials(tmp_path):
    out = run_inventory(tmp_path, PLUGIN, [listing(WEB)], env={"PROXMOX_HOST": HOST}, mode=["--plugin"])

    assert out["error_type"] == "AnsibleParserError"
    assert "give api_token_id with api_token_secret, or api_password" in out["error"]
    assert out["requests"] == []


def test_options_in_the_file_win_over_the_environment(tmp_path):
    source = PLUGIN + f"api_host: other.test\napi_token_id: file\napi_token_secret: {SECRET_IN_FILE}\n"
    out = run_inventory(tmp_path, source, [dict(listing(WEB), host="other.test:8006")])

    assert sorted(out["hosts"]) == ["web01"]
    assert out["auth"] == ["PVEAPIToken=root@pam!file"]


def test_token_from_the_environment(tmp_path):
    out = run_inventory(tmp_path, PLUGIN, [listing(WEB)])

    assert out["auth"] == ["PVEAPIToken=root@pam!ci"]
