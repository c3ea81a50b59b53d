"""container_resources against a faked HTTP API: exact requests, idempotence, check/diff, bad input, wrong kind."""

import pytest
from harness import DIGEST_MISMATCH, pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

CONFIG = {
    "arch": "amd64",
    "hostname": "cache01",
    "memory": 512,
    "swap": 512,
    "cores": 1,
    "rootfs": "local-lvm:vm-200-disk-0,size=8G",
    "ostype": "debian",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
}
PATH = "nodes/pve1/lxc/200"
LOOKUP = ("GET", "/cluster/resources", {"type": "vm"})
READ = ("GET", "/" + PATH + "/pending", {})


def guest(api, config=None, digest="d1", **kw):
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )
    api.get(url(PATH + "/pending"), json=pending(CONFIG if config is None else config, digest, **kw))


def expect_put(api, body):
    api.put(url(PATH + "/config"), json={"data": None}, match=[matchers.urlencoded_params_matcher(body)])


def test_noop_costs_two_gets(api):
    guest(api)
    result, failed = run_module("container_resources", dict(vmid=200, memory="512M", swap=512, cores=1))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == [LOOKUP, READ]
    assert result["node"] == "pve1" and result["guest_type"] == "lxc" and result["vmid"] == 200
    assert result["diff"] == {"before": {}, "after": {}}
    assert result["msg"] == "LXC container 200 on pve1 already as requested"


def test_unset_keys_compare_with_proxmox_defaults(api):
    # memory/swap/cpulimit unset in the config mean 512/512/0: asking for those is a no-op
    config = {k: v for k, v in CONFIG.items() if k not in ("memory", "swap")}
    guest(api, config=config)
    result, failed = run_module("container_resources", dict(vmid=200, memory=512, swap="512M", cpulimit=0))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [LOOKUP, READ]


def test_noop_with_node_costs_one_get(api):
    api.get(url(PATH + "/pending"), json=pending(CONFIG))
    result, failed = run_module("container_resources", dict(vmid=200, node="pve1", memory=512))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [READ]


def test_change_sends_digest_and_only_changed_keys(api):
    guest(api)
    expect_put(api, {"memory": "1024", "cores": "2", "digest": "d1"})
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, memory=1024, cores=2), "d2"))
    result, failed = run_module("container_resources", dict(vmid=200, memory="1G", cores=2, swap=512))
    assert not failed, result
    assert result["changed"] is True
    assert writes(api) == [("PUT", "/" + PATH + "/config", {"memory": "1024", "cores": "2", "digest": "d1"})]
    assert requests_made(api) == [LOOKUP, READ, writes(api)[0], READ]
    assert result["config"]["memory"] == 1024 and result["config"]["cores"] == 2
    assert result["diff"] == {"before": {"memory": 512, "cores": 1}, "after": {"memory": 1024, "cores": 2}}
    assert result["msg"] == "set memory, cores of LXC container 200 on pve1"


def test_running_container_applies_at_once(api):
    # LXC resources are hot-applied: after the write /pending has no pending item, so no reboot is due
    guest(api)
    expect_put(api, {"swap": "0", "cpulimit": "1.5", "cpuunits": "200", "digest": "d1"})
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, swap=0, cpulimit="1.5", cpuunits=200), "d2"))
    result, failed = run_module("container_resources", dict(vmid=200, swap=0, cpulimit=1.5, cpuunits=200))
    assert not failed, result
    assert result["changed"] is True
    assert result["pending"] == {} and result["reboot_required"] is False
    assert "pending until reboot" not in result["msg"]


def test_pending_values_are_reported(api):
    guest(api)
    expect_put(api, {"memory": "2048", "digest": "d1"})
    api.get(url(PATH + "/pending"), json=pending(CONFIG, "d2", pending_values={"memory": 2048}))
    result, failed = run_module("container_resources", dict(vmid=200, memory=2048))
    assert not failed, result
    assert result["pending"] == {"memory": 2048} and result["reboot_required"] is True
    assert result["config"]["memory"] == 2048


def test_check_mode_writes_nothing_and_predicts(api):
    guest(api)
    result, failed = run_module("container_resources", dict(vmid=200, memory="2G", swap="1G"), check=True, diff=True)
    assert not failed, result
    assert result["changed"] is True
    assert writes(api) == []
    assert requests_made(api) == [LOOKUP, READ]
    assert result["diff"] == {"before": {"memory": 512, "swap": 512}, "after": {"memory": "2048", "swap": "1024"}}
    assert result["config"]["memory"] == "2048" and result["config"]["hostname"] == "cache01"
    assert result["msg"].startswith("would set memory, swap of LXC container 200")


def test_check_mode_noop_is_unchanged(api):
    guest(api)
    result, failed = run_module("container_resources", dict(vmid=200, cores=1), check=True)
    assert not failed and result["changed"] is False


def test_diff_mode_shows_only_managed_keys(api):
    guest(api)
    expect_put(api, {"cpulimit": "2", "digest": "d1"})
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, cpulimit=2), "d2"))
    result, failed = run_module("container_resources", dict(vmid=200, cpulimit=2, memory=512), diff=True)
    assert not failed, result
    assert result["diff"] == {"before": {}, "after": {"cpulimit": 2}}


def test_digest_conflict_rereads_and_retries(api):
    guest(api, digest="d1")
    pve_error(
        api,
        "PUT",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"cores": "4", "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, description="edited"), "d2"))
    expect_put(api, {"cores": "4", "digest": "d2"})
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, cores=4), "d3"))
    result, failed = run_module("container_resources", dict(vmid=200, cores=4))
    assert not failed, result
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(memory=8), "memory must be at least 16, got 8"),
        (dict(memory=0), "memory must be positive"),
        (dict(memory="lots"), "memory must be a positive whole number of MiB or a size such as 4G, got 'lots'"),
        (dict(memory="1.5M"), "memory '1.5M' is not a whole number of MiB"),
        (dict(swap=-1), "swap must be at least 0, got -1"),
        (dict(swap="big"), "swap must be a whole number of MiB of at least 0 or a size such as 4G"),
        (dict(cores=0), "cores must be 1 to 8192, got 0"),
        (dict(cores=8193), "cores must be 1 to 8192, got 8193"),
        (dict(cpulimit=-0.5), "cpulimit must be 0 to 8192, got -0.5"),
        (dict(cpulimit=9000), "cpulimit must be 0 to 8192, got 9000"),
        (dict(cpuunits=500001), "cpuunits must be 0 to 500000, got 500001"),
        (dict(cores="many"), "cores"),
        (dict(cores=True), "cores must be an integer, got the boolean true"),  # issue 9.8: not written as 1
        (dict(cpuunits=False), "cpuunits must be an integer, got the boolean false"),
        (dict(cpulimit=True), "cpulimit must be a number, got the boolean true"),
        (dict(cpulimit="fast"), "cpulimit must be a number, got 'fast'"),
        (dict(swap=True), "swap must be"),
    ],
)
def test_bad_input_fails_before_any_request(api, args, words):
    result, failed = run_module("container_resources", dict(vmid=200, **args))
    assert failed
    assert words in result["msg"]
    assert requests_made(api) == []


def test_zero_swap_and_zero_cpuunits_are_valid(api):
    # cpuunits 0 is outside 2..10000 (cgroup v1 stores 2): the lookup brings the node rows along, unfiltered
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, swap=0, cpuunits=0)))
    result, failed = run_module("container_resources", dict(vmid=200, swap="0M", cpuunits=0))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == [("GET", "/cluster/resources", {}), READ]


def test_qemu_vmid_is_refused_with_a_clear_error(api):
    guest(api)
    result, failed = run_module("container_resources", dict(vmid=100, memory=1024))
    assert failed
    assert "guest 100 is a QEMU VM, not a LXC container" in result["msg"]
    assert "pve.config.vm_*" in result["msg"] and "nothing was changed" in result["msg"]
    assert requests_made(api) == [LOOKUP]


def test_qemu_vmid_with_node_is_refused_without_a_write(api):
    # with node given there is no lookup: the LXC config read is what fails
    pve_error(
        api,
        "GET",
        "nodes/pve1/lxc/100/pending",
        "Configuration file 'nodes/pve1/lxc/100.conf' does not exist",
        status=500,
    )
    result, failed = run_module("container_resources", dict(vmid=100, node="pve1", memory=1024))
    assert failed
    assert result["msg"].startswith("no LXC container 100 on node pve1 (")
    assert "100.conf' does not exist" in result["msg"] and result["msg"].endswith("; nothing was changed")
    assert writes(api) == []


def test_container_found_by_name(api):
    api.get(url("cluster/resources"), json=resources((200, "lxc", "pve2", "running", "cache01")))
    api.get(url("nodes/pve2/lxc/200/pending"), json=pending(CONFIG))
    result, failed = run_module("container_resources", dict(name="cache01", cores=1))
    assert not failed and result["vmid"] == 200 and result["node"] == "pve2"


def test_locked_container_stays_locked(api):
    guest(api, config=dict(CONFIG, lock="backup"))
    result, failed = run_module("container_resources", dict(vmid=200, cores=3, lock_timeout=0))
    assert failed
    assert "LXC container 200 is locked (backup)" in result["msg"] and "nothing was changed" in result["msg"]
    assert writes(api) == []


def test_nan_cpulimit_is_refused_before_any_request(api):
    result, failed = run_module("container_resources", dict(vmid=200, cpulimit="nan"))
    assert failed and "cpulimit must be a number, got nan" in result["msg"]
    assert requests_made(api) == []
