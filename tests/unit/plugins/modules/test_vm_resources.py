"""vm_resources against a faked HTTP API: exact requests, idempotence, check/diff, retries, bad input."""

import pytest
from harness import DIGEST_MISMATCH, pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

CONFIG = {
    "memory": "2048",
    "cores": 2,
    "sockets": 1,
    "cpu": "x86-64-v2-AES,flags=+aes",
    "name": "web01",
    "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0",
}
PATH = "nodes/pve1/qemu/100"


def guest(api, config=None, digest="d1", **kw):
    config = CONFIG if config is None else config
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def test_noop_costs_two_gets(api):
    guest(api)
    result, failed = run_module("vm_resources", dict(vmid=100, memory="2G", cores=2, cpu="x86-64-v2-AES"))
    assert not failed
    assert result["changed"] is False
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "vm"}), ("GET", "/" + PATH + "/pending", {})]
    assert result["node"] == "pve1" and result["guest_type"] == "qemu"
    assert result["diff"] == {"before": {}, "after": {}}


def test_noop_with_node_costs_one_get(api):
    api.get(url(PATH + "/pending"), json=pending(CONFIG))
    result, failed = run_module("vm_resources", dict(vmid=100, node="pve1", memory=2048))
    assert not failed and result["changed"] is False
    assert len(requests_made(api)) == 1


def test_change_sends_digest_and_only_changed_keys(api):
    guest(api)
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"memory": "4096", "cores": "4", "digest": "d1"})],
    )
    after = dict(CONFIG, memory="2048", cores=2)
    api.get(url(PATH + "/pending"), json=pending(after, "d2", pending_values={"memory": "4096", "cores": "4"}))
    result, failed = run_module("vm_resources", dict(vmid=100, memory="4G", cores=4, sockets=1), diff=True)
    assert not failed, result
    assert result["changed"] is True
    assert writes(api) == [("PUT", "/" + PATH + "/config", {"memory": "4096", "cores": "4", "digest": "d1"})]
    assert result["diff"] == {"before": {"memory": "2048", "cores": 2}, "after": {"memory": "4096", "cores": "4"}}
    assert result["pending"] == {"memory": "4096", "cores": "4"}
    assert result["reboot_required"] is True
    assert result["config"]["memory"] == "4096"
    assert len(requests_made(api)) == 4


def test_cpu_type_change_keeps_flags(api):
    guest(api)
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"cpu": "host,flags=+aes", "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, cpu="host,flags=+aes"), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpu="host"))
    assert not failed and result["changed"]
    assert result["pending"] == {} and result["reboot_required"] is False


def test_check_mode_writes_nothing_and_predicts(api):
    guest(api)
    result, failed = run_module("vm_resources", dict(vmid=100, memory=8192), check=True, diff=True)
    assert not failed
    assert result["changed"] is True
    assert writes(api) == []
    assert result["diff"] == {"before": {"memory": "2048"}, "after": {"memory": "8192"}}
    assert result["config"]["memory"] == "8192"
    assert result["msg"].startswith("would ")


def test_digest_conflict_rereads_and_retries(api):
    guest(api, digest="d1")
    pve_error(
        api,
        "PUT",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"memory": "4096", "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, description="edited"), "d2"))
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"memory": "4096", "digest": "d2"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, memory="4096"), "d3"))
    result, failed = run_module("vm_resources", dict(vmid=100, memory=4096))
    assert not failed, result
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]


def test_conflict_that_already_did_our_change_ends_unchanged(api):
    guest(api, digest="d1")
    pve_error(api, "PUT", PATH + "/config", DIGEST_MISMATCH)
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, memory="4096"), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, memory=4096))
    assert not failed
    assert result["changed"] is False
    assert len(writes(api)) == 1


def test_locked_guest_is_waited_for_then_written(api):
    guest(api, config=dict(CONFIG, lock="backup"))
    api.get(url(PATH + "/pending"), json=pending(CONFIG, "d2"))
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"cores": "8", "digest": "d2"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, cores=8), "d3"))
    result, failed = run_module("vm_resources", dict(vmid=100, cores=8))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + PATH + "/config", {"cores": "8", "digest": "d2"})]


def test_lock_that_stays_fails_naming_it(api):
    guest(api, config=dict(CONFIG, lock="migrate"))
    result, failed = run_module("vm_resources", dict(vmid=100, cores=8, lock_timeout=1))
    assert failed
    assert "locked (migrate)" in result["msg"] and "nothing was changed" in result["msg"]
    assert writes(api) == []


def test_locked_guest_already_as_requested_is_not_waited_for(api):
    guest(api, config=dict(CONFIG, lock="backup"))
    result, failed = run_module("vm_resources", dict(vmid=100, cores=2, lock_timeout=30))
    assert not failed and result["changed"] is False
    assert len(requests_made(api)) == 2


def test_bad_memory_fails_before_any_request(api):
    for bad in (0, -512, "abc", "1.5M", 1.5):
        result, failed = run_module("vm_resources", dict(vmid=100, memory=bad))
        assert failed, bad
        assert "memory" in result["msg"] and result["msg"].endswith("nothing was changed")
    assert requests_made(api) == []


def test_out_of_range_cores_fails_before_any_request(api):
    result, failed = run_module("vm_resources", dict(vmid=100, cores=0))
    assert failed and "cores must be at least 1, got 0" in result["msg"]
    assert requests_made(api) == []


def test_balloon_larger_than_memory_is_refused(api):
    guest(api)
    result, failed = run_module("vm_resources", dict(vmid=100, balloon=4096))
    assert failed and "balloon 4096 MiB is larger than memory 2048 MiB" in result["msg"]
    assert writes(api) == []


def test_unknown_guest(api):
    api.get(url("cluster/resources"), json=resources((101, "qemu", "pve1")))
    result, failed = run_module("vm_resources", dict(vmid=999, memory=1024))
    assert failed and "no guest with vmid 999" in result["msg"]
    assert writes(api) == []


def test_container_id_given_to_vm_module(api):
    api.get(url("cluster/resources"), json=resources((200, "lxc", "pve1")))
    result, failed = run_module("vm_resources", dict(vmid=200, memory=1024))
    assert failed and "is a LXC container, not a QEMU VM" in result["msg"]
    assert writes(api) == []


def test_guest_found_by_name(api):
    api.get(url("cluster/resources"), json=resources((100, "qemu", "pve2", "running", "web01")))
    api.get(url("nodes/pve2/qemu/100/pending"), json=pending(CONFIG))
    result, failed = run_module("vm_resources", dict(name="web01", cores=2))
    assert not failed and result["vmid"] == 100 and result["node"] == "pve2"


def test_bad_token_is_a_clear_error(api):
    pve_error(api, "GET", "cluster/resources", "invalid token value!", status=401)
    result, failed = run_module("vm_resources", dict(vmid=100, cores=2))
    assert failed and "refused the credentials" in result["msg"]


CPU_WITH_OPTIONS = "host,flags=+aes;+pcid,hidden=1"


def test_cpu_with_options_is_refused_before_any_request_whether_or_not_the_vm_has_a_cpu_key(api):
    # issue 9.6: without a cpu key the whole string used to be written, then the re-plan failed on the comma
    for value in (CPU_WITH_OPTIONS, "cputype=host", "host;flags=+aes", "kvm64 "):
        result, failed = run_module("vm_resources", dict(vmid=100, cpu=value))
        assert failed, value
        assert result["msg"] == (
            "cpu takes only the CPU type, such as host, x86-64-v2-AES or custom-NAME (its flags and other CPU "
            f"options are kept as they are), got {value!r}; nothing was changed"
        )
    assert requests_made(api) == []


def test_cpu_type_on_a_vm_without_cpu_key_writes_the_type(api):
    config = {k: v for k, v in CONFIG.items() if k != "cpu"}
    guest(api, config=config)
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"cpu": "custom-web.v2", "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(config, cpu="custom-web.v2"), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpu="custom-web.v2"))
    assert not failed, result
    assert result["changed"] is True


def test_balloon_size_string_is_converted_to_mib(api):
    guest(api, config=dict(CONFIG, memory="16384", balloon="2048"))
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"balloon": "8192", "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, memory="16384", balloon="8192"), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, balloon="8G"))
    assert not failed, result
    assert result["changed"] is True


def test_balloon_size_string_noop_and_zero(api):
    guest(api, config=dict(CONFIG, balloon=0))
    result, failed = run_module("vm_resources", dict(vmid=100, balloon="0"))
    assert not failed and result["changed"] is False


def test_bad_balloon_fails_before_any_request(api):
    for bad, words in (
        ("8X", "balloon must be"),
        ("1.5M", "balloon '1.5M' is not a whole number of MiB"),
        (-1, "balloon"),
    ):
        result, failed = run_module("vm_resources", dict(vmid=100, balloon=bad))
        assert failed and words in result["msg"] and result["msg"].endswith("nothing was changed"), result
    assert requests_made(api) == []


def test_balloon_check_only_when_memory_or_balloon_is_written(api):
    # update_vm_api checks balloon <= memory only for a write of memory or balloon (qemu-server Qemu.pm)
    guest(api, config=dict(CONFIG, balloon="4096"))
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"cores": "4", "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, balloon="4096", cores=4), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, cores=4))
    assert not failed, result


def test_booleans_are_refused_for_numbers(api):
    # issue 9.8: cores: true used to be written as cores=1
    for key in ("cores", "sockets", "vcpus", "cpuunits"):
        result, failed = run_module("vm_resources", dict(vmid=100, **{key: True}))
        assert failed and result["msg"] == f"{key} must be an integer, got the boolean true; nothing was changed"
    for key, msg in (
        ("cpulimit", "cpulimit must be a number, got the boolean false"),
        ("memory", "memory must be a positive whole number of MiB, got False"),
        ("balloon", "balloon must be a whole number of MiB of at least 0, got False"),
    ):
        result, failed = run_module("vm_resources", dict(vmid=100, **{key: False}))
        assert failed and result["msg"] == msg + "; nothing was changed"
    assert requests_made(api) == []


@pytest.mark.parametrize(
    "cpu, written",
    [
        ("x86-64-v2-AES,flags=+aes,guest-phys-bits=40,level=30", "host,flags=+aes,guest-phys-bits=40,level=30"),
        ("kvm64,hidden=1,phys-bits=host,level=30", "host,hidden=1,phys-bits=host,level=30"),
        ("kvm64,future-key=on,flags=+aes", "host,future-key=on,flags=+aes"),  # a sub-key no table knows (13.1)
    ],
)
def test_cpu_type_change_keeps_pve9_sub_keys(api, cpu, written):
    guest(api, config=dict(CONFIG, cpu=cpu))
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"cpu": written, "digest": "d1"})],
    )
    api.get(url(PATH + "/pending"), json=pending(dict(CONFIG, cpu=written), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpu="host"))
    assert not failed, result
    assert result["changed"] is True and result["diff"]["after"] == {"cpu": written}


def test_cpu_noop_with_pve9_sub_keys(api):
    guest(api, config=dict(CONFIG, cpu="host,guest-phys-bits=40,level=30,future-key=on"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpu="host", cores=2))
    assert not failed, result
    assert result["changed"] is False and len(requests_made(api)) == 2
