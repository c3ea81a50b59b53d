"""container_nic against a faked HTTP API: exact requests and bodies, idempotence, check/diff, retries, bad input."""

import pytest
from harness import DIGEST_MISMATCH, pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

MAC = "BC:24:11:00:02:00"
NEW_MAC = "BC:24:11:5E:7A:02"
NET0 = f"name=eth0,bridge=vmbr0,firewall=1,hwaddr={MAC},ip=dhcp,type=veth"
CONFIG = {"hostname": "proxy01", "memory": 512, "cores": 1, "net0": NET0}
PATH = "nodes/pve1/lxc/200"
READS = [("GET", "/cluster/resources", {"type": "vm"}), ("GET", "/" + PATH + "/pending", {})]


def guest(api, config=None, digest="d1", status="running", **kw):
    config = CONFIG if config is None else config
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1", status, "proxy01")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def put(api, body, digest="d1"):
    api.put(
        url(PATH + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher(dict(body, digest=digest))],
    )


def after(api, config, digest="d2", **kw):
    api.get(url(PATH + "/pending"), json=pending(config, digest, **kw))


def put_request(body, digest="d1"):
    return ("PUT", "/" + PATH + "/config", dict(body, digest=digest))


def test_add_with_dhcp_in_given_slot(api):
    guest(api)
    put(api, {"net1": "name=eth1,bridge=vmbr0,ip=dhcp,type=veth"})
    written = f"name=eth1,bridge=vmbr0,hwaddr={NEW_MAC},ip=dhcp,type=veth"
    after(api, dict(CONFIG, net1=written))
    result, failed = run_module("container_nic", dict(vmid=200, interface="net1", ip="dhcp"), diff=True)
    assert not failed, result
    assert requests_made(api) == READS + [
        put_request({"net1": "name=eth1,bridge=vmbr0,ip=dhcp,type=veth"}),
        ("GET", "/" + PATH + "/pending", {}),
    ]
    assert result["changed"] is True and result["guest_type"] == "lxc"
    assert result["interface"] == "net1" and result["hwaddr"] == NEW_MAC and result["name"] == "eth1"
    assert result["diff"] == {"before": {}, "after": {"net1": written}}
    assert result["msg"] == "add net1 of LXC container 200 on pve1"


def test_interface_with_sub_keys_of_a_newer_proxmox_stays_configurable(api):
    current = f"name=eth0,bridge=vmbr0,hwaddr={MAC},future-knob=x=1,ip=dhcp,type=veth"
    new = f"name=eth0,bridge=vmbr0,hwaddr={MAC},future-knob=x=1,ip=dhcp,type=veth,tag=30"
    guest(api, dict(CONFIG, net0=current))
    put(api, {"net0": new})
    after(api, dict(CONFIG, net0=new))
    result, failed = run_module("container_nic", dict(vmid=200, name="eth0", tag=30))
    assert not failed, result
    assert writes(api) == [put_request({"net0": new})]
    assert result["interface"] == "net0" and result["hwaddr"] == MAC


def test_add_static_ip_and_gateway_in_first_free_slot(api):
    guest(api)
    body = "name=eth1,bridge=vmbr1,gw=192.0.2.1,ip=192.0.2.10/24,ip6=auto,tag=30,type=veth"
    put(api, {"net1": body})
    after(api, dict(CONFIG, net1=body.replace("ip=", f"hwaddr={NEW_MAC},ip=", 1)))
    result, failed = run_module(
        "container_nic", dict(vmid=200, bridge="vmbr1", tag=30, ip="192.0.2.10/24", gw="192.0.2.1", ip6="auto")
    )
    assert not failed, result
    assert writes(api) == [put_request({"net1": body})]
    assert result["interface"] == "net1" and result["hwaddr"] == NEW_MAC and result["name"] == "eth1"


def test_add_with_given_name_and_hwaddr(api):
    guest(api)
    body = "name=mgmt,bridge=vmbr0,hwaddr=02:00:00:00:00:0A,ip=manual,mtu=9000,type=veth"
    put(api, {"net3": body})
    after(api, dict(CONFIG, net3=body))
    result, failed = run_module(
        "container_nic",
        dict(vmid=200, interface="net3", name="mgmt", ip="manual", hwaddr="02:00:00:00:00:0a", mtu=9000),
    )
    assert not failed, result
    assert result["hwaddr"] == "02:00:00:00:00:0A" and result["name"] == "mgmt"


@pytest.mark.parametrize(
    "args",
    [
        dict(interface="net0", ip="dhcp", firewall=True, bridge="vmbr0", name="eth0"),
        dict(interface="net0", hwaddr=MAC.lower(), ip="DHCP", link_down=False),
        dict(name="eth0", bridge="vmbr0"),
    ],
)
def test_rerun_is_a_noop_with_exactly_two_gets(api, args):
    guest(api)
    result, failed = run_module("container_nic", dict(vmid=200, **args))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == READS
    assert result["interface"] == "net0" and result["hwaddr"] == MAC and result["name"] == "eth0"


def test_static_ipv6_written_differently_is_no_change(api):
    guest(api, dict(CONFIG, net1=f"name=eth1,bridge=vmbr0,hwaddr={NEW_MAC},ip6=2001:db8::10/64,gw6=2001:db8::1"))
    result, failed = run_module(
        "container_nic", dict(vmid=200, interface="net1", ip6="2001:DB8:0::10/64", gw6="2001:DB8::1")
    )
    assert not failed and result["changed"] is False
    assert requests_made(api) == READS


def test_change_keeps_hwaddr_and_other_keys(api):
    guest(api)
    new = f"name=eth0,bridge=vmbr0,firewall=1,hwaddr={MAC},ip=192.0.2.20/24,type=veth,gw=192.0.2.1"
    put(api, {"net0": new})
    after(api, dict(CONFIG, net0=new))
    result, failed = run_module(
        "container_nic", dict(vmid=200, interface="net0", ip="192.0.2.20/24", gw="192.0.2.1"), diff=True
    )
    assert not failed, result
    assert writes(api) == [put_request({"net0": new})]
    assert result["diff"] == {"before": {"net0": NET0}, "after": {"net0": new}}
    assert result["hwaddr"] == MAC


def test_running_container_reports_what_pending_says(api):
    guest(api)
    new = NET0 + ",tag=40"
    put(api, {"net0": new})
    after(api, dict(CONFIG, net0=new))  # LXC applies NIC changes of a running container at once
    result, failed = run_module("container_nic", dict(vmid=200, interface="net0", tag=40))
    assert not failed, result
    assert result["changed"] is True
    assert result["pending"] == {} and result["reboot_required"] is False
    assert "pending" not in result["msg"]


def test_pending_nic_value_is_reported(api):
    guest(api)
    new = NET0 + ",tag=40"
    put(api, {"net0": new})
    after(api, CONFIG, pending_values={"net0": new})
    result, failed = run_module("container_nic", dict(vmid=200, interface="net0", tag=40))
    assert not failed, result
    assert result["pending"] == {"net0": new} and result["reboot_required"] is True


def test_check_mode_writes_nothing(api):
    guest(api)
    result, failed = run_module("container_nic", dict(vmid=200, interface="net1", ip="dhcp"), check=True, diff=True)
    assert not failed and result["changed"] is True
    assert requests_made(api) == READS
    assert result["diff"] == {"before": {}, "after": {"net1": "name=eth1,bridge=vmbr0,ip=dhcp,type=veth"}}
    assert result["hwaddr"] is None and result["name"] == "eth1"


def test_remove_reports_the_removed_interface(api):
    guest(api)
    put(api, {"delete": "net0"})
    after(api, {k: v for k, v in CONFIG.items() if k != "net0"})
    result, failed = run_module("container_nic", dict(vmid=200, interface="net0", state="absent"))
    assert not failed, result
    assert writes(api) == [put_request({"delete": "net0"})]
    assert result["changed"] is True and "net0" not in result["config"]
    assert result["hwaddr"] == MAC and result["name"] == "eth0"


def test_remove_missing_is_no_change(api):
    guest(api)
    result, failed = run_module("container_nic", dict(vmid=200, interface="net7", state="absent"))
    assert not failed and result["changed"] is False
    assert requests_made(api) == READS


RENAMED = dict(CONFIG, net0=NET0.replace("name=eth0", "name=eth2"), net1="name=mgmt,bridge=vmbr1")


@pytest.mark.parametrize(
    "config, args, words",
    [
        (CONFIG, dict(interface="net1", name="eth0"), "name eth0 is already used by net0 of LXC container 200"),
        (RENAMED, dict(interface="net0", name="mgmt"), "name mgmt is already used by net1"),
        (
            RENAMED,
            dict(interface="net2"),
            "name eth2 is already used by net0 of LXC container 200: interface names must be unique; give another name",
        ),
    ],
)
def test_name_must_be_unique(api, config, args, words):
    guest(api, config)
    result, failed = run_module("container_nic", dict(vmid=200, **args))
    assert failed
    assert words in result["msg"] and result["msg"].endswith("nothing was changed")
    assert requests_made(api) == READS


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(interface="eth0"), "the name inside the container (that is the option name)"),
        (dict(interface="net99"), "interface net99 is out of range"),
        (
            dict(ip="192.0.2.10"),
            "ip must be dhcp, manual or an IPv4 address with prefix length such as 192.0.2.10/24, got '192.0.2.10'",
        ),
        (dict(ip="300.1.1.1/24"), "got '300.1.1.1/24'"),
        (dict(gw="192.0.2.1/24"), "gw must be an IPv4 address, got '192.0.2.1/24'"),
        (dict(ip6="slaac"), "ip6 must be auto, dhcp, manual or an IPv6 address"),
        (dict(gw6="192.0.2.1"), "gw6 must be an IPv6 address, got '192.0.2.1'"),
        (dict(hwaddr="BC:24:11"), "hwaddr must be a MAC address"),
        (dict(tag=5000), "tag must be 1 to 4094, got 5000"),
        (dict(mtu=70000), "mtu must be 64 to 65535, got 70000"),
        (dict(mtu=True), "mtu must be an integer, got the boolean true"),
        (dict(rate=-1), "rate must be at least 0, got -1"),
        (dict(name="eth0;reboot"), "name must look like"),
        # look-alike characters (issue 9.11): ASCII names and addresses only, as pve-common's formats
        (dict(name="eth\u0661"), "name must look like eth1 (ASCII letters, digits, - _ .), got 'eth\u0661'"),
        (dict(bridge="vmbr\uff10"), "bridge must look like vmbr0 (ASCII letters, digits, - _ .)"),
        (dict(bridge="vmbr\u0430"), "bridge must look like vmbr0"),
        (dict(gw6="fe80::1%ip=1.2.3.4"), "gw6 must be an IPv6 address, got 'fe80::1%ip=1.2.3.4'"),
        (dict(gw6="fe80::1%eth0"), "gw6 must be an IPv6 address"),
        (dict(ip6="fe80::1%eth0/64"), "ip6 must be auto, dhcp, manual or an IPv6 address"),
        (dict(gw="\u0661\u0660.0.0.1"), "gw must be an IPv4 address"),
        (dict(ip="10.0.0.5/255.255.255.0"), "ip must be dhcp, manual or an IPv4 address with prefix length"),
        (dict(ip="10.0.0.5/4"), "(prefix length 8 to 32)"),
        (dict(ip="10.0.0.5/\u0662\u0664"), "ip must be dhcp, manual"),
        (dict(ip6="2001:db8::5/129"), "(prefix length 8 to 128)"),
        (dict(state="absent"), "state=absent needs interface"),
    ],
)
def test_bad_input_fails_before_any_request(api, args, words):
    result, failed = run_module("container_nic", dict(vmid=200, **args))
    assert failed
    assert words in result["msg"], result["msg"]
    assert requests_made(api) == []


def test_vmid_is_required_because_name_is_the_interface_name(api):
    result, failed = run_module("container_nic", dict(name="eth1", ip="dhcp"))
    assert failed and "vmid" in result["msg"]
    assert requests_made(api) == []


def test_vm_given_to_container_nic(api):
    api.get(url("cluster/resources"), json=resources((100, "qemu", "pve1")))
    result, failed = run_module("container_nic", dict(vmid=100, interface="net0", ip="dhcp"))
    assert failed and "is a QEMU VM, not a LXC container" in result["msg"]
    assert writes(api) == []


def test_digest_conflict_rereads_and_retries(api):
    guest(api, digest="d1")
    new = NET0 + ",rate=5"
    pve_error(
        api,
        "PUT",
        PATH + "/config",
        DIGEST_MISMATCH,
        match=[matchers.urlencoded_params_matcher({"net0": new, "digest": "d1"})],
    )
    after(api, dict(CONFIG, description="edited"), "d2")
    put(api, {"net0": new}, digest="d2")
    after(api, dict(CONFIG, net0=new), "d3")
    result, failed = run_module("container_nic", dict(vmid=200, interface="net0", rate=5))
    assert not failed, result
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]


# --- if_exists: fail (the add tools' create-only mode, like vm_disk's for issue 9.5) ---------------------------

FAIL_TAIL = "; if_exists=fail adds NICs only; nothing was changed"


@pytest.mark.parametrize(
    "params, words",
    [
        (dict(interface="net0", ip="10.0.0.5/24"), f"interface net0 of LXC container 200 is in use ({NET0})"),
        (dict(name="eth0", bridge="vmbr1"), f"name eth0 is already used by net0 of LXC container 200 ({NET0})"),
        (dict(interface="net3", name="eth0"), "name eth0 is already used by net0 of LXC container 200"),
    ],
)
def test_if_exists_fail_refuses_an_existing_interface_before_any_write(api, params, words):
    guest(api)
    result, failed = run_module("container_nic", dict(vmid=200, if_exists="fail", **params))
    assert failed
    assert words in result["msg"] and result["msg"].endswith(FAIL_TAIL), result["msg"]
    assert requests_made(api) == READS and result["changed"] is False


def test_if_exists_fail_adds_a_new_name_and_accepts_its_own_interface_after_the_write(api):
    guest(api)
    put(api, {"net1": "name=backup,bridge=vmbr1,type=veth"})
    written = f"name=backup,bridge=vmbr1,hwaddr={NEW_MAC},type=veth"
    after(api, dict(CONFIG, net1=written))
    result, failed = run_module("container_nic", dict(vmid=200, name="backup", bridge="vmbr1", if_exists="fail"))
    assert not failed, result
    assert writes(api) == [put_request({"net1": "name=backup,bridge=vmbr1,type=veth"})]
    assert result["changed"] is True and result["interface"] == "net1" and result["name"] == "backup"
