"""pve.config.fleet_config in-process against a faked cluster: the same requests and end state as guest_config
per guest, check and diff mode, failures, secrets, bad input."""

import json

import pytest
import responses
from fake_cluster import FakeCluster, vm
from harness import requests_made, run_module, writes

QEMU_CONFIG = {
    "name": "guest100",
    "memory": "2048",
    "cores": "1",
    "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
    "serial0": "socket",
    "tags": "web",
}
LXC_CONFIG = {
    "hostname": "guest200",
    "memory": "512",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,ip=dhcp,type=veth",
    "tags": "web",
}
CHANGES = {
    100: dict(config={"memory": 4096, "cores": 2, "description": "web server", "net0": {"firewall": True}},
              absent=["serial0"]),
    200: dict(config={"memory": 1024, "net0": {"rate": 10}, "description": "web container"}, absent=[]),
}  # fmt: skip


def cluster_guests():
    return [vm(100, config=QEMU_CONFIG, tags="web"), vm(200, kind="lxc", config=LXC_CONFIG, tags="web;ct")]


def per_guest(mock, vmid):
    """The requests about one guest (the /cluster/resources lookup left out)."""
    return [call for call in requests_made(mock) if f"/{vmid}/" in call[1] or f":{vmid}:" in call[1]]


def test_a_guest_ends_the_same_with_the_same_requests_as_through_guest_config():
    alone = {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        cluster = FakeCluster(mock, cluster_guests())
        for vmid, change in CHANGES.items():
            result, failed = run_module("guest_config", dict(vmid=vmid, **change))
            assert not failed and result["changed"], result
        alone = {vmid: per_guest(mock, vmid) for vmid in CHANGES}
        configs = {vmid: cluster.guests[vmid]["config"] for vmid in CHANGES}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        cluster = FakeCluster(mock, cluster_guests())
        result, failed = run_module("fleet_config", dict(guests=[dict(vmid=v, **c) for v, c in CHANGES.items()]))
        assert not failed and result["changed"], result
        assert {vmid: per_guest(mock, vmid) for vmid in CHANGES} == alone
        assert {vmid: cluster.guests[vmid]["config"] for vmid in CHANGES} == configs
        assert [c for c in requests_made(mock) if c[1] == "/cluster/resources"] == [
            ("GET", "/cluster/resources", {"type": "vm"})
        ]
    assert [method for method, path, body in alone[100]].count("POST") == 1, "net0 of a VM goes through a task"
    assert configs[100]["memory"] == "4096" and "serial0" not in configs[100]
    assert "firewall=1" in configs[100]["net0"] and "rate=10" in configs[200]["net0"]
    entries = {g["vmid"]: g for g in result["guests"]}
    assert entries[100]["steps"] == [
        {"action": "set", "keys": ["memory", "cores", "description", "net0"]},
        {"action": "delete", "keys": ["serial0"]},
    ]
    assert entries[200]["guest_type"] == "lxc" and entries[200]["name"] == "guest200"
    assert "config" not in entries[100]


def test_select_by_tag_then_a_rerun_is_unchanged_and_reads_only(api):
    FakeCluster(api, [vm(100 + i, f"pve{1 + i % 3}", tags="web") for i in range(9)] + [vm(200, tags="db")])
    args = dict(select={"tags": ["web"]}, config={"memory": 4096}, parallel=4, per_node=2)
    result, failed = run_module("fleet_config", args)
    assert not failed and result["changed"]
    assert result["progress"]["guests"] == 9 and result["progress"]["changed"] == 9
    assert result["msg"].startswith("9 guests in ") and result["msg"].endswith(": 9 changed, 0 already as requested")
    assert len(writes(api)) == 9 and not [w for w in writes(api) if "/200/" in w[1]]
    api.calls.reset()
    result, failed = run_module("fleet_config", args)
    assert not failed and not result["changed"] and writes(api) == []
    assert result["progress"]["unchanged"] == 9 and len(requests_made(api)) == 1 + 9


def test_by_default_10_guests_at_once_and_5_per_node(api):
    """The defaults (``parallel`` 10 as issue 11 gives it, ``per_node`` 5: module_utils/fleet.py ``PARALLEL``) are
    held and reached: 2 nodes, 20 guests each."""
    guests = [vm(100 + i, f"pve{1 + i % 2}") for i in range(40)]
    cluster = FakeCluster(api, guests, delay=0.05)
    result, failed = run_module("fleet_config", dict(select={"types": ["qemu"]}, config={"memory": 4096}))
    assert not failed and result["progress"]["changed"] == 40
    assert cluster.peak == 10, "at most 10 guests' requests in flight, and that many at some point"
    assert cluster.peak_per_node == {"pve1": 5, "pve2": 5}, "at most 5 on one node, and that many"


def test_check_mode_writes_nothing_and_diff_mode_shows_each_guest(api):
    FakeCluster(api, cluster_guests())
    args = dict(select={"tags": ["web"]}, config={"description": "managed"}, absent=["cores"])
    result, failed = run_module("fleet_config", args, check=True, diff=True)
    assert not failed and result["changed"] and writes(api) == [], result["msg"]
    assert result["diff"] == [
        {"before_header": "QEMU VM 100", "after_header": "QEMU VM 100",
         "before": {"cores": "1"}, "after": {"description": "managed"}},
        {"before_header": "LXC container 200", "after_header": "LXC container 200",
         "before": {}, "after": {"description": "managed"}},
    ]  # fmt: skip
    assert result["guests"][0]["steps"] == [
        {"action": "set", "keys": ["description"]},
        {"action": "delete", "keys": ["cores"]},
    ]
    assert result["msg"].endswith(": 2 would change, 0 already as requested")
    result, failed = run_module("fleet_config", args, check=True)
    assert "diff" not in result, "the list for Ansible's --diff only in diff mode"


def test_a_failed_guest_fails_the_task_after_the_others_and_within_the_percentage_warns(api, ansible_warnings):
    cluster = FakeCluster(api, [vm(100 + i) for i in range(4)])
    cluster.fail_put.add(102)
    args = dict(select={"vmids": [100, 101, 102, 103]}, config={"memory": 4096})
    result, failed = run_module("fleet_config", args)
    assert failed and result["changed"] and result["progress"]["failed"] == 1
    assert [g["failed"] for g in result["guests"]] == [False, False, True, False]
    assert [cluster.guests[100 + i]["config"]["memory"] for i in range(4)] == ["4096", "4096", "2048", "4096"]
    assert result["msg"].endswith(
        ": 3 changed, 0 already as requested, 1 failed (QEMU VM 102: Proxmox API error on PUT "
        "nodes/pve1/qemu/102/config: 500 simulated failure; nothing was changed)"
    ), result["msg"]
    cluster.guests[100]["config"]["memory"] = "2048"
    result, failed = run_module("fleet_config", dict(args, max_fail_percentage=25))
    assert not failed and result["changed"] and result["guests"][2]["failed"]
    assert ansible_warnings() == [result["msg"]] and result["msg"].endswith("within max_fail_percentage 25.0")


def test_a_key_one_type_of_the_selection_lacks_fails_before_any_write(api):
    FakeCluster(api, cluster_guests())
    result, failed = run_module("fleet_config", dict(select={"tags": ["web"]}, absent=["serial0"]))
    assert failed and result["changed"] is False
    assert result["msg"] == (
        "LXC container 200: absent: serial0 is not a config key of a container; nothing was changed"
    ), result["msg"]
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "vm"})]


def test_bad_input_for_one_of_the_guests_fails_before_any_write(api):
    FakeCluster(api, cluster_guests())
    result, failed = run_module(
        "fleet_config", dict(guests=[dict(vmid=100, config={"memory": 4096}), dict(vmid=200, config={"lock": "x"})])
    )
    assert failed and result["changed"] is False
    assert result["msg"].startswith("LXC container 200: config: lock cannot be managed"), result["msg"]
    assert result["msg"].endswith("; nothing was changed")
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "vm"})]


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(select={"tags": ["web"]}, guests=[dict(vmid=100)]), "parameters are mutually exclusive: guests|select"),
        (dict(config={"memory": 1}), "one of the following is required: guests, select"),
        (dict(select={"tag": ["web"]}, config={"memory": 1}), "Unsupported parameters"),
        (dict(select={"types": ["vm"]}, config={"memory": 1}), "value of types must be one or more of: qemu, lxc"),
        (dict(select={"tags": ["web"]}, config={"memory": 1}, parallel=0), "parallel must be 1 to 100, got 0"),
        (dict(select={"tags": ["web"]}), "select needs config or absent"),
    ],
)
def test_bad_options_fail_before_any_request(api, args, message):
    FakeCluster(api, cluster_guests())
    result, failed = run_module("fleet_config", args)
    assert failed and message in result["msg"], result["msg"]
    assert requests_made(api) == []


def test_a_password_in_the_config_is_in_no_output(api):
    FakeCluster(api, cluster_guests())
    secret = "s3cret-Pa55"
    result, failed = run_module(
        "fleet_config", dict(select={"types": ["qemu"]}, config={"cipassword": secret}), check=True, diff=True
    )
    assert not failed and result["changed"]
    assert secret not in json.dumps(result)
    assert result["guests"][0]["diff"]["after"]["cipassword"] == "********"


def test_purge_reaches_each_guests_plan(api):
    cluster = FakeCluster(api, [vm(100, config=dict(QEMU_CONFIG, unused0="local-lvm:vm-100-disk-1"))])
    args = dict(guests=[dict(vmid=100, absent=["unused0"])])
    result, failed = run_module("fleet_config", args)
    assert failed and result["guests"][0]["msg"].startswith("removing unused0 destroys its volume"), result
    assert writes(api) == []
    result, failed = run_module("fleet_config", dict(args, purge=True))
    assert not failed and result["changed"], result
    assert [(m, p, b.get("delete")) for m, p, b in writes(api)] == [("POST", "/nodes/pve1/qemu/100/config", "unused0")]
    assert "unused0" not in cluster.guests[100]["config"]


def test_a_password_in_a_guests_entry_is_in_no_output(api):
    FakeCluster(api, cluster_guests())
    secret = "an0ther-Pa55"
    result, failed = run_module("fleet_config", dict(guests=[dict(vmid=100, config={"cipassword": secret})]), diff=True)
    assert not failed and result["changed"], result
    assert secret not in json.dumps(result)
    sent = [b for m, p, b in writes(api)]
    assert sent and sent[0]["cipassword"] == secret, "the password is written, only never shown"


def test_no_guest_matched_is_no_change(api):
    FakeCluster(api, cluster_guests())
    result, failed = run_module("fleet_config", dict(select={"tags": ["nothing"]}, config={"memory": 1024}))
    assert not failed and not result["changed"] and result["guests"] == []
    assert result["msg"] == "no guest matched; nothing to do"
    progress = result["progress"]
    assert (progress["guests"], progress["changed"], progress["unchanged"], progress["failed"]) == (0, 0, 0, 0)
    assert progress["guests_per_second"] in (0.0, None)  # None only when no time could be measured
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "vm"})]


def test_if_digest_per_entry_refuses_only_the_guest_whose_config_changed(api):
    cluster = FakeCluster(api, cluster_guests())
    planned, failed = run_module(
        "fleet_config", dict(guests=[dict(vmid=100, config={"memory": 4096}), dict(vmid=200, config={"memory": 1024})]),
        check=True,
    )  # fmt: skip
    assert not failed and writes(api) == []
    digests = {r["vmid"]: r["digest"] for r in planned["guests"]}
    cluster.guests[200]["config"]["description"] = "edited by someone else"
    stale = FakeCluster.digest(cluster.guests[200])
    entries = [dict(vmid=vmid, config=CHANGES[vmid]["config"] | {"memory": m}, if_digest=digests[vmid])
               for vmid, m in ((100, 4096), (200, 1024))]  # fmt: skip
    result, failed = run_module("fleet_config", dict(guests=entries, max_fail_percentage=50))
    assert not failed and result["changed"], result
    first, second = result["guests"]
    assert first["changed"] and not first["failed"]
    assert second["failed"] and not second["changed"]
    assert second["msg"].startswith(
        f"the config of LXC container 200 changed since the plan was made: its digest is {stale}, "
        f"if_digest asks for {digests[200]}"
    ), second["msg"]
    assert [p for m, p, b in writes(api)] == ["/nodes/pve1/qemu/100/config"], "nothing written to guest 200"
    assert cluster.guests[200]["config"]["memory"] == "512"


def test_progress_lines_go_to_the_file_the_caller_names(api, tmp_path, monkeypatch):
    FakeCluster(api, cluster_guests())
    path = tmp_path / "progress"
    path.write_text("")
    monkeypatch.setenv("PVE_CONFIG_PROGRESS_FILE", str(path))
    result, failed = run_module("fleet_config", dict(select={"tags": ["web"]}, config={"memory": 1024}))
    assert not failed
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        dict(done=0, total=2, failed=0, changed=0),
        dict(done=1, total=2, failed=0, changed=1),
        dict(done=2, total=2, failed=0, changed=2),
    ], lines
    assert result["progress"]["guests"] == 2
