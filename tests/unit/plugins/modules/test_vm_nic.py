"""vm_nic against a faked HTTP API: exact requests and bodies, idempotence, check/diff, retries, bad input."""

import pytest
from harness import DIGEST_MISMATCH, pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

MAC = "BC:24:11:00:01:00"
NEW_MAC = "BC:24:11:5E:7A:01"
NET0 = f"virtio={MAC},bridge=vmbr0,firewall=1,queues=4"
CONFIG = {"name": "web01", "memory": "2048", "cores": 2, "net0": NET0}
PATH = "nodes/pve1/qemu/100"
UPID = "UPID:pve1:000A1B2C:0012D687:67A0B1C2:qmconfig:100:root@pam!ci:"
READS = [("GET", "/cluster/resources", {"type": "vm"}), ("GET", "/" + PATH + "/pending", {})]


def guest(api, config=None, digest="d1", **kw):
    config = CONFIG if config is None else config
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def post(api, body, digest="d1"):
    """A netN write: POST .../config answers the qmconfig UPID, whose status is then polled once."""
    api.post(
        url(PATH + "/config"),
        json={"data": UPID},
        match=[matchers.urlencoded_params_matcher(dict(body, digest=digest))],
    )
    api.get(url(f"nodes/pve1/tasks/{UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})


def after(api, config, digest="d2", **kw):
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def post_request(body, digest="d1"):
    return ("POST", "/" + PATH + "/config", dict(body, digest=digest))


TASK_STATUS = ("GET", f"/nodes/pve1/tasks/{UPID}/status", {})


# --- adding -------------------------------------------------------------------------------------------------


def test_add_in_given_slot_returns_generated_mac(api):
    guest(api)
    post(api, {"net1": "virtio,bridge=vmbr0"})
    after(api, dict(CONFIG, net1=f"virtio={NEW_MAC},bridge=vmbr0"))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net1"), diff=True)
    assert not failed, result
    assert requests_made(api) == READS + [
        post_request({"net1": "virtio,bridge=vmbr0"}),
        TASK_STATUS,
        ("GET", "/" + PATH + "/pending", {}),
    ]
    assert result["changed"] is True
    assert result["interface"] == "net1" and result["macaddr"] == NEW_MAC
    assert result["diff"] == {"before": {}, "after": {"net1": f"virtio={NEW_MAC},bridge=vmbr0"}}
    assert result["config"]["net1"] == f"virtio={NEW_MAC},bridge=vmbr0"
    assert result["pending"] == {} and result["reboot_required"] is False
    assert result["msg"] == "add net1 of QEMU VM 100 on pve1"


def test_add_in_first_free_slot(api):
    guest(api)
    post(api, {"net1": "virtio,bridge=vmbr0"})
    after(api, dict(CONFIG, net1=f"virtio={NEW_MAC},bridge=vmbr0"))
    result, failed = run_module("vm_nic", dict(vmid=100))
    assert not failed, result
    assert writes(api) == [post_request({"net1": "virtio,bridge=vmbr0"})]
    assert len(requests_made(api)) == 5
    assert result["interface"] == "net1" and result["macaddr"] == NEW_MAC


def test_first_free_slot_fills_a_gap_and_writes_the_options_in_proxmox_order(api):
    config = dict(CONFIG, net2="e1000=BC:24:11:00:03:00,bridge=vmbr1")
    guest(api, config)
    post(api, {"net1": "e1000=02:00:00:00:00:01,bridge=vmbr1,firewall=1,rate=12.5,tag=10"})
    after(api, dict(config, net1="e1000=02:00:00:00:00:01,bridge=vmbr1,firewall=1,rate=12.5,tag=10"))
    result, failed = run_module(
        "vm_nic",
        dict(vmid=100, tag=10, bridge="vmbr1", firewall=True, model="e1000", rate=12.5, macaddr="02:00:00:00:00:01"),
    )
    assert not failed, result
    assert len(writes(api)) == 1
    assert result["interface"] == "net1" and result["macaddr"] == "02:00:00:00:00:01"


def test_a_nic_whose_removal_is_pending_keeps_its_slot(api):
    config = dict(CONFIG, net1="virtio=BC:24:11:00:03:00,bridge=vmbr0")
    guest(api, config, deletes=("net1",))
    post(api, {"net2": "virtio,bridge=vmbr0"})
    after(api, dict(config, net2=f"virtio={NEW_MAC},bridge=vmbr0"), deletes=("net1",))
    result, failed = run_module("vm_nic", dict(vmid=100))
    assert not failed, result
    assert writes(api) == [post_request({"net2": "virtio,bridge=vmbr0"})]
    assert result["interface"] == "net2"


def test_mac_given_without_interface_finds_the_nic_again(api):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100, macaddr=MAC.lower(), bridge="vmbr0"))
    assert not failed and result["changed"] is False
    assert result["interface"] == "net0"
    assert requests_made(api) == READS


def test_new_nic_pending_on_a_vm_without_nic_hotplug(api):
    guest(api)
    post(api, {"net1": "virtio,bridge=vmbr0"})
    new = f"virtio={NEW_MAC},bridge=vmbr0"
    after(api, CONFIG, pending_values={"net1": new})
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net1"))
    assert not failed, result
    assert result["pending"] == {"net1": new} and result["reboot_required"] is True
    assert result["macaddr"] == NEW_MAC
    assert "pending until reboot: net1" in result["msg"]


# --- no change ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        dict(interface="net0", bridge="vmbr0", model="virtio", firewall=True, queues=4),
        dict(interface="net0", macaddr=MAC.lower()),
        dict(interface="net0", macaddr=MAC, link_down=False),
        dict(interface="net0"),
    ],
)
def test_rerun_is_a_noop_with_exactly_two_gets(api, args):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100, **args))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == READS
    assert result["diff"] == {"before": {}, "after": {}}
    assert result["interface"] == "net0" and result["macaddr"] == MAC


def test_noop_with_node_costs_one_get(api):
    api.get(url(PATH + "/pending"), json=pending(CONFIG))
    result, failed = run_module("vm_nic", dict(vmid=100, node="pve1", interface="net0", tag=None, firewall=True))
    assert not failed and result["changed"] is False
    assert len(requests_made(api)) == 1


# --- changing -----------------------------------------------------------------------------------------------


def test_change_one_option_keeps_mac_firewall_and_other_keys(api):
    guest(api)
    new = f"virtio={MAC},bridge=vmbr0,firewall=1,queues=4,tag=20"
    post(api, {"net0": new})
    after(api, dict(CONFIG, net0=new))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", tag=20), diff=True)
    assert not failed, result
    assert writes(api) == [post_request({"net0": new})]
    assert result["diff"] == {"before": {"net0": NET0}, "after": {"net0": new}}
    assert result["macaddr"] == MAC
    assert result["msg"] == "update net0 (tag) of QEMU VM 100 on pve1"


@pytest.mark.parametrize(
    "current, args, new",
    [
        # host-tunnel (qemu-server 9.2) and a sub-key no release has yet: kept verbatim, in their place
        (
            f"virtio={MAC},bridge=vmbr0,host-tunnel=1,future-knob=a=b,firewall=1",
            dict(tag=20),
            f"virtio={MAC},bridge=vmbr0,host-tunnel=1,future-knob=a=b,firewall=1,tag=20",
        ),
        (
            f"virtio={MAC},bridge=vmbr0,host-tunnel=1",
            dict(bridge="vmbr1"),
            f"virtio={MAC},bridge=vmbr1,host-tunnel=1",
        ),
        # a NIC model newer than the table (written model=MAC like every model): its MAC is found and kept
        (f"igb={MAC},bridge=vmbr0", dict(model="virtio"), f"virtio={MAC},bridge=vmbr0"),
    ],
)
def test_nic_with_sub_keys_of_a_newer_proxmox_stays_configurable(api, current, args, new):
    config = dict(CONFIG, net0=current)
    guest(api, config)
    post(api, {"net0": new})
    after(api, dict(config, net0=new))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", **args))
    assert not failed, result
    assert writes(api) == [post_request({"net0": new})]
    assert result["macaddr"] == MAC


def test_nic_with_unknown_sub_keys_is_a_noop_when_the_known_ones_hold(api):
    current = f"virtio={MAC},bridge=vmbr0,host-tunnel=1"
    guest(api, dict(CONFIG, net0=current))
    result, failed = run_module("vm_nic", dict(macaddr=MAC.lower(), vmid=100, bridge="vmbr0"))
    assert not failed, result
    assert result["changed"] is False and result["interface"] == "net0"
    assert writes(api) == []


def test_model_change_keeps_mac(api):
    guest(api)
    new = f"e1000={MAC},bridge=vmbr0,firewall=1,queues=4"
    post(api, {"net0": new})
    after(api, dict(CONFIG, net0=new))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", model="e1000"))
    assert not failed, result
    assert writes(api) == [post_request({"net0": new})]
    assert result["macaddr"] == MAC


def test_new_mac_replaces_the_old_one_written_upper_case(api):
    guest(api)
    new = "virtio=02:AB:00:00:00:01,bridge=vmbr0,firewall=1,queues=4"
    post(api, {"net0": new})
    after(api, dict(CONFIG, net0=new))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", macaddr="02:ab:00:00:00:01"))
    assert not failed, result
    assert result["macaddr"] == "02:AB:00:00:00:01"


def test_check_mode_writes_nothing_and_predicts(api):
    guest(api)
    result, failed = run_module(
        "vm_nic", dict(vmid=100, interface="net0", link_down=True, bridge="vmbr9"), check=True, diff=True
    )
    assert not failed, result
    assert result["changed"] is True
    assert requests_made(api) == READS
    new = f"virtio={MAC},bridge=vmbr9,firewall=1,queues=4,link_down=1"
    assert result["diff"] == {"before": {"net0": NET0}, "after": {"net0": new}}
    assert result["config"]["net0"] == new
    assert result["msg"].startswith("would update net0 (")


def test_check_mode_new_nic_predicts_slot_without_mac(api):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100), check=True)
    assert not failed and result["changed"] is True
    assert requests_made(api) == READS
    assert result["interface"] == "net1" and result["macaddr"] is None
    assert result["diff"] == {"before": {}, "after": {"net1": "virtio,bridge=vmbr0"}}


# --- removing -----------------------------------------------------------------------------------------------


def test_remove(api):
    guest(api)
    post(api, {"delete": "net0"})
    after(api, {k: v for k, v in CONFIG.items() if k != "net0"})
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", state="absent"), diff=True)
    assert not failed, result
    assert writes(api) == [post_request({"delete": "net0"})]
    assert result["changed"] is True
    assert result["diff"] == {"before": {"net0": NET0}, "after": {}}
    assert "net0" not in result["config"]
    assert result["interface"] == "net0" and result["macaddr"] == MAC
    assert result["msg"] == "remove net0 of QEMU VM 100 on pve1"


def test_remove_in_check_mode(api):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", state="absent"), check=True)
    assert not failed and result["changed"] is True
    assert requests_made(api) == READS
    assert "net0" not in result["config"] and result["macaddr"] == MAC
    assert result["diff"] == {"before": {"net0": NET0}, "after": {}}


def test_remove_missing_is_no_change(api):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net5", state="absent"))
    assert not failed and result["changed"] is False
    assert result["interface"] == "net5" and result["macaddr"] is None
    assert requests_made(api) == READS


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(interface="eth0"), "interface must be a config slot net0 to net31, got 'eth0'"),
        (dict(interface="net32"), "interface net32 is out of range"),
        (dict(macaddr="BC:24:11:00:01"), "macaddr must be a MAC address"),
        (dict(macaddr="01:24:11:00:01:00"), "multicast"),
        (dict(tag=0), "tag must be 1 to 4094, got 0"),
        (dict(tag=4095), "tag must be 1 to 4094, got 4095"),
        (dict(model="virtio-net"), "value of model must be one of"),
        (dict(mtu=9), "mtu must be 1 or 576 to 65520, got 9"),
        (dict(mtu=100), "mtu must be 1 or 576 to 65520, got 100"),
        (dict(tag=True), "tag must be an integer, got the boolean true"),
        (dict(queues=False), "queues must be an integer, got the boolean false"),
        (dict(rate=float("nan")), "rate must be a number, got nan"),
        (dict(rate=True), "rate must be a number, got the boolean true"),
        (dict(rate="fast"), "rate must be a number, got 'fast'"),
        (dict(queues=-1), "queues must be 0 to 64"),
        (dict(trunks="10,20"), "trunks must look like"),
        (dict(trunks="\u0661\u0660;20"), "trunks must look like 10;20;30 or 100-110"),
        (dict(bridge="vmbr\uff10"), "bridge must look like vmbr0 (ASCII letters, digits, - _ .), got 'vmbr\uff10'"),
        (dict(bridge="vmbr\u0430"), "bridge must look like vmbr0"),
        (dict(bridge="vmbr0,tag=5"), "bridge must look like vmbr0"),
        (dict(state="absent"), "state=absent needs interface"),
    ],
)
def test_bad_input_fails_before_any_request(api, args, words):
    result, failed = run_module("vm_nic", dict(vmid=100, **args))
    assert failed
    assert words in result["msg"], result["msg"]
    assert requests_made(api) == []


def test_rate_given_as_text_is_written_as_a_number(api):
    guest(api)
    post(api, {"net0": NET0 + ",rate=12.5"})
    after(api, dict(CONFIG, net0=NET0 + ",rate=12.5"))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", rate="12.5"))
    assert not failed, result
    assert writes(api) == [post_request({"net0": NET0 + ",rate=12.5"})]


def test_eth_name_as_interface_explains_slot(api):
    result, failed = run_module("vm_nic", dict(vmid=100, interface="eth0"))
    assert failed and "is the key netN of the NIC in the guest config" in result["msg"]
    assert result["msg"].endswith("nothing was changed")


def test_mtu_on_non_virtio_nic_is_refused_without_write(api):
    guest(api, dict(CONFIG, net1="e1000=BC:24:11:00:03:00,bridge=vmbr0"))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net1", mtu=9000))
    assert (
        failed and "mtu is only supported by the virtio model, but net1 of QEMU VM 100 would be e1000" in result["msg"]
    )
    assert requests_made(api) == READS


def test_no_free_slot_is_refused_without_write(api):
    guest(api, {f"net{i}": f"virtio=02:00:00:00:00:{i:02X},bridge=vmbr0" for i in range(32)})
    result, failed = run_module("vm_nic", dict(vmid=100))
    assert failed and "all 32 NIC slots of QEMU VM 100 are in use" in result["msg"]
    assert requests_made(api) == READS


def test_container_given_to_vm_nic(api):
    api.get(url("cluster/resources"), json=resources((200, "lxc", "pve1")))
    result, failed = run_module("vm_nic", dict(vmid=200, interface="net0", tag=3))
    assert failed and "is a LXC container, not a QEMU VM" in result["msg"]
    assert writes(api) == []


# --- concurrency --------------------------------------------------------------------------------------------


def test_digest_conflict_rereads_and_replans_into_the_next_free_slot(api):
    guest(api, digest="d1")
    pve_error(
        api,
        "POST",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"net1": "virtio,bridge=vmbr0", "digest": "d1"})],
    )
    taken = dict(CONFIG, net1="e1000=BC:24:11:00:09:00,bridge=vmbr1")
    after(api, taken, "d2")
    post(api, {"net2": "virtio,bridge=vmbr0"}, digest="d2")
    after(api, dict(taken, net2=f"virtio={NEW_MAC},bridge=vmbr0"), "d3")
    result, failed = run_module("vm_nic", dict(vmid=100), diff=True)
    assert not failed, result
    assert writes(api) == [
        post_request({"net1": "virtio,bridge=vmbr0"}),
        post_request({"net2": "virtio,bridge=vmbr0"}, digest="d2"),
    ]
    assert result["interface"] == "net2" and result["macaddr"] == NEW_MAC
    assert result["diff"] == {"before": {}, "after": {"net2": f"virtio={NEW_MAC},bridge=vmbr0"}}


def test_digest_conflict_on_a_given_slot_retries_with_the_new_digest(api):
    guest(api, digest="d1")
    new = f"virtio={MAC},bridge=vmbr0,firewall=1,queues=4,tag=20"
    pve_error(
        api,
        "POST",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"net0": new, "digest": "d1"})],
    )
    after(api, dict(CONFIG, description="edited"), "d2")
    post(api, {"net0": new}, digest="d2")
    after(api, dict(CONFIG, description="edited", net0=new), "d3")
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", tag=20))
    assert not failed, result
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]
    assert result["changed"] is True


# --- if_exists: fail (the add tools' create-only mode, like vm_disk's for issue 9.5) ---------------------------

FAIL_TAIL = "; if_exists=fail adds NICs only; nothing was changed"


@pytest.mark.parametrize(
    "params, kw, words",
    [
        (dict(interface="net0", tag=20), {}, f"interface net0 of QEMU VM 100 is in use ({NET0})"),
        (
            dict(interface="net1"),
            dict(config=dict(CONFIG, net1="e1000=BC:24:11:00:01:01,bridge=vmbr1"), deletes=("net1",)),
            "interface net1 of QEMU VM 100 is in use (e1000=BC:24:11:00:01:01,bridge=vmbr1, its removal pending "
            "until the guest reboots)",
        ),
        (
            dict(interface="net1"),
            dict(pending_values={"net1": "virtio=BC:24:11:00:01:01,bridge=vmbr0"}),
            "interface net1 of QEMU VM 100 is in use (virtio=BC:24:11:00:01:01,bridge=vmbr0)",
        ),
        (dict(macaddr=MAC.lower()), {}, f"macaddr {MAC} is already used by net0 of QEMU VM 100 ({NET0})"),
        (dict(interface="net2", macaddr=MAC), {}, f"macaddr {MAC} is already used by net0 of QEMU VM 100"),
    ],
)
def test_if_exists_fail_refuses_an_existing_nic_before_any_write(api, params, kw, words):
    guest(api, **kw)
    result, failed = run_module("vm_nic", dict(vmid=100, if_exists="fail", **params))
    assert failed
    assert words in result["msg"] and result["msg"].endswith(FAIL_TAIL), result["msg"]
    assert requests_made(api) == READS and result["changed"] is False


def test_if_exists_fail_adds_in_an_empty_slot_and_accepts_its_own_nic_after_the_write(api):
    guest(api)
    post(api, {"net1": "virtio,bridge=vmbr1"})
    after(api, dict(CONFIG, net1=f"virtio={NEW_MAC},bridge=vmbr1"))
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net1", bridge="vmbr1", if_exists="fail"))
    assert not failed, result
    assert writes(api) == [post_request({"net1": "virtio,bridge=vmbr1"})]
    assert result["changed"] is True and result["interface"] == "net1" and result["macaddr"] == NEW_MAC


def test_if_exists_fail_with_a_new_mac_in_the_first_free_slot(api):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100, macaddr=NEW_MAC, if_exists="fail"), check=True)
    assert not failed, result
    assert result["changed"] is True and result["interface"] == "net1" and requests_made(api) == READS


def test_if_exists_update_is_the_default(api):
    guest(api)
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", tag=20), check=True)
    assert not failed and result["changed"] is True and requests_made(api) == READS


def test_if_exists_rejects_other_values(api):
    result, failed = run_module("vm_nic", dict(vmid=100, interface="net0", if_exists="replace"))
    assert failed and "if_exists" in result["msg"] and requests_made(api) == []
