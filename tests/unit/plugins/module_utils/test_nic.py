"""nic.py as tables: slots, value checks, and the shared plan (params + config -> Change) for both NIC kinds."""

import pytest

from ansible_collections.pve.config.plugins.module_utils import nic
from ansible_collections.pve.config.plugins.module_utils.apply import Context
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, GuestState
from ansible_collections.pve.config.plugins.module_utils.outcome import tell
from ansible_collections.pve.config.plugins.module_utils.schema_formats import FORMATS
from ansible_collections.pve.config.plugins.modules import container_nic, vm_nic

MAC = "BC:24:11:00:01:00"


def told_once(exc):
    """The message as the user reads it: outcome.tell (run_config_module, Rounds.run) ends it with the outcome,
    once; nic.py itself no longer adds "nothing was changed"."""
    message = tell(exc, []).msg
    return message.endswith("; nothing was changed") and message.count("nothing was changed") == 1


@pytest.mark.parametrize("slot, index", [("net0", 0), ("net9", 9), ("net31", 31), (" net1 ", 1)])
def test_slot_index(slot, index):
    assert nic.slot_index(slot) == index


@pytest.mark.parametrize(
    "slot, words",
    [
        ("eth0", "not the name inside the guest"),
        ("net", "config slot net0 to net31"),
        ("net01", "config slot"),
        ("net-1", "config slot"),
        ("NET1", "config slot"),
        ("scsi0", "config slot"),
        ("net32", "out of range"),
        ("net100", "out of range"),
    ],
)
def test_bad_slots(slot, words):
    with pytest.raises(InvalidRequest) as exc:
        nic.slot_index(slot)
    assert words in exc.value.msg and slot.strip() in exc.value.msg
    assert "nothing was changed" not in exc.value.msg  # the outcome is outcome.tell's to add
    assert told_once(exc.value)


@pytest.mark.parametrize(
    "config, free",
    [
        ({}, "net0"),
        ({"net0": "x"}, "net1"),
        ({"net0": "x", "net2": "x"}, "net1"),
        ({"net1": "x", "memory": 512}, "net0"),
    ],
)
def test_first_free_slot(config, free):
    assert nic.first_free_slot(config) == free


def test_no_free_slot():
    with pytest.raises(InvalidRequest) as exc:
        nic.first_free_slot({f"net{i}": "x" for i in range(32)}, "QEMU VM 100")
    assert "all 32 NIC slots of QEMU VM 100 are in use" in exc.value.msg


def test_nic_slots_sorted_by_number():
    assert nic.nic_slots({"net10": 1, "net2": 1, "netx": 1, "scsi0": 1, "net0": 1}) == ["net0", "net2", "net10"]


@pytest.mark.parametrize(
    "value, written",
    [
        ("bc:24:11:aa:bb:cc", "BC:24:11:AA:BB:CC"),
        ("02:00:00:00:00:01", "02:00:00:00:00:01"),
    ],
)
def test_mac_ok(value, written):
    assert nic.mac_address("macaddr", value) == written


@pytest.mark.parametrize(
    "value, words",
    [
        ("BC:24:11:00:01", "must be a MAC address"),
        ("BC-24-11-00-01-00", "must be a MAC address"),
        ("ZZ:24:11:00:01:00", "must be a MAC address"),
        ("01:00:5E:00:00:01", "multicast"),
        ("00:00:00:00:00:00", "must not be 00:00:00:00:00:00"),
    ],
)
def test_mac_bad(value, words):
    with pytest.raises(InvalidRequest) as exc:
        nic.mac_address("macaddr", value)
    assert words in exc.value.msg and exc.value.msg.startswith("macaddr")


@pytest.mark.parametrize(
    "check, value, ok",
    [
        (nic.ip_config(4, ("dhcp", "manual")), "dhcp", True),
        (nic.ip_config(4, ("dhcp", "manual")), "DHCP", True),
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10/24", True),
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10", False),
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.300/24", False),
        (nic.ip_config(4, ("dhcp", "manual")), "2001:db8::1/64", False),
        (nic.ip_config(4, ("dhcp", "manual")), "auto", False),
        (nic.ip_config(6, ("auto", "dhcp", "manual")), "auto", True),
        (nic.ip_config(6, ("auto", "dhcp", "manual")), "2001:db8::1/64", True),
        (nic.ip_config(6, ("auto", "dhcp", "manual")), "192.0.2.10/24", False),
        (nic.ip_address(4), "192.0.2.1", True),
        (nic.ip_address(4), "192.0.2.1/24", False),
        (nic.ip_address(4), "gateway", False),
        (nic.ip_address(6), "fe80::1", True),
        (nic.ip_address(6), "2001:DB8::1", True),
        (nic.ip_address(6), "::ffff:192.0.2.1", True),
        (nic.ip_address(6), "fe80::1%eth0", False),  # no scope id: pve-common $IPV6RE has none
        (nic.ip_address(6), "fe80::1%ip=1.2.3.4", False),
        (nic.ip_address(4), "192.0.2.01", False),  # $IPV4OCTET: no leading zero
        (nic.ip_address(4), "\uff11\uff19\uff12.0.2.1", False),  # full-width digits
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10/8", True),
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10/7", False),  # pve_verify_cidrv4: prefix > 7
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10/33", False),
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10/255.255.255.0", False),
        (nic.ip_config(4, ("dhcp", "manual")), "192.0.2.10/\u0662\u0664", False),
        (nic.ip_config(6, ("auto", "dhcp", "manual")), "2001:db8::1/128", True),
        (nic.ip_config(6, ("auto", "dhcp", "manual")), "fe80::1%eth0/64", False),
        (nic.ip_address(6), "192.0.2.1", False),
    ],
)
def test_ip_checks(check, value, ok):
    if ok:
        check("ip", value)
    else:
        with pytest.raises(InvalidRequest) as exc:
            check("ip", value)
        assert repr(value) in exc.value.msg


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("2001:db8::1/64", "2001:DB8:0::1/64", True),
        ("192.0.2.10/24", "192.0.2.10/25", False),
        ("dhcp", "DHCP", True),
        ("192.0.2.1", "192.0.2.1", True),
        ("fe80::1", "FE80::1", True),
    ],
)
def test_same_ip(a, b, same):
    assert nic.same_ip(a, b) is same


def test_vm_model_choices_come_from_the_schema():
    assert vm_nic.VM_NIC.options()["model"]["choices"] == FORMATS["qemu_net"]["enums"]["model"]


# --- the plan ----------------------------------------------------------------------------------------------


def vm_params(**kw):
    params = {f.name: None for f in vm_nic.FIELDS}
    params.update(state="present", interface=None, vmid=100, name=None)
    params.update(kw)
    vm_nic.VM_NIC.check_params(params)
    return params


def ct_params(**kw):
    params = {f.name: None for f in container_nic.FIELDS}
    params.update(state="present", interface=None, vmid=200)
    params.update(kw)
    container_nic.CONTAINER_NIC.check_params(params)
    return params


def plan(kind, params, config, memory=None):
    guest = Guest(100 if kind is vm_nic.VM_NIC else 200, "pve1", "qemu" if kind is vm_nic.VM_NIC else "lxc")
    state = GuestState(dict(config), dict(config), {}, "d1")
    return kind.plan(Context(None, guest, params, state, memory or {}))


VM = {"net0": f"virtio={MAC},bridge=vmbr0,firewall=1"}

VM_CASES = [
    # (params, config, set, delete, result)
    (dict(interface="net1"), VM, {"net1": "virtio,bridge=vmbr0"}, [], {"interface": "net1", "macaddr": None}),
    (dict(), VM, {"net1": "virtio,bridge=vmbr0"}, [], {"interface": "net1", "macaddr": None}),
    (
        dict(bridge="vmbr1", tag=5, firewall=True, model="e1000"),
        {},
        {"net0": "e1000,bridge=vmbr1,firewall=1,tag=5"},
        [],
        {"interface": "net0", "macaddr": None},
    ),
    (
        dict(macaddr="02:00:00:00:00:09", firewall=False),
        {},
        {"net0": "virtio=02:00:00:00:00:09,bridge=vmbr0"},
        [],
        {"interface": "net0", "macaddr": "02:00:00:00:00:09"},
    ),
    (
        dict(interface="net0", tag=20),
        VM,
        {"net0": f"virtio={MAC},bridge=vmbr0,firewall=1,tag=20"},
        [],
        {"interface": "net0", "macaddr": MAC},
    ),
    (
        dict(interface="net0", model="e1000"),
        VM,
        {"net0": f"e1000={MAC},bridge=vmbr0,firewall=1"},
        [],
        {"interface": "net0", "macaddr": MAC},
    ),
    (
        dict(interface="net0", firewall=False),
        VM,
        {"net0": f"virtio={MAC},bridge=vmbr0,firewall=0"},
        [],
        {"interface": "net0", "macaddr": MAC},
    ),
    (
        dict(interface="net0", macaddr=MAC.lower(), bridge="vmbr0", firewall=True),
        VM,
        {},
        [],
        {"interface": "net0", "macaddr": MAC},
    ),
    (dict(interface="net0", link_down=False), VM, {}, [], {"interface": "net0", "macaddr": MAC}),
    (
        dict(macaddr=MAC.lower(), tag=3),
        VM,
        {"net0": f"virtio={MAC},bridge=vmbr0,firewall=1,tag=3"},
        [],
        {"interface": "net0", "macaddr": MAC},
    ),
    (dict(interface="net0", state="absent"), VM, {}, ["net0"], {"interface": "net0", "macaddr": MAC}),
    (dict(interface="net3", state="absent"), VM, {}, [], {"interface": "net3", "macaddr": None}),
]


@pytest.mark.parametrize("params, config, to_set, delete, result", VM_CASES)
def test_vm_plan(params, config, to_set, delete, result):
    change = plan(vm_nic.VM_NIC, vm_params(**params), config)
    assert change.set == to_set
    assert change.delete == delete
    assert change.result == result


@pytest.mark.parametrize("if_exists", ["update", "fail"])
def test_new_nic_is_remembered_and_found_again_after_the_write(if_exists):
    """With if_exists=fail too: the re-plan after the add finds the NIC it added, it does not refuse it."""
    params = vm_params(if_exists=if_exists)
    first = plan(vm_nic.VM_NIC, params, VM)
    assert first.remember == {"interface": "net1", "added": "net1"}
    after = dict(VM, net1="virtio=BC:24:11:00:02:00,bridge=vmbr0")
    again = plan(vm_nic.VM_NIC, params, after, memory=first.remember)
    assert again.empty
    assert again.result == {"interface": "net1", "macaddr": "BC:24:11:00:02:00"}


def test_vm_mtu_needs_virtio():
    with pytest.raises(InvalidRequest) as exc:
        plan(vm_nic.VM_NIC, vm_params(model="e1000", mtu=9000), {})
    assert "mtu is only supported by the virtio model" in exc.value.msg
    with pytest.raises(InvalidRequest):
        plan(vm_nic.VM_NIC, vm_params(interface="net0", model="e1000"), {"net0": f"virtio={MAC},mtu=9000"})
    assert plan(vm_nic.VM_NIC, vm_params(mtu=1), {}).set == {"net0": "virtio,bridge=vmbr0,mtu=1"}


@pytest.mark.parametrize(
    "params, words",
    [
        (dict(interface="eth0"), "not the device name inside the guest"),
        (dict(interface="net32"), "out of range"),
        (dict(state="absent"), "state=absent needs interface"),
        (dict(macaddr="nope"), "macaddr must be a MAC address"),
        (dict(tag=0), "tag must be 1 to 4094, got 0"),
        (dict(mtu=100), "mtu must be 1 or 576 to 65520, got 100"),
        (dict(queues=65), "queues must be 0 to 64, got 65"),
        (dict(rate=-1.0), "rate must be at least 0, got -1"),
        (dict(trunks="10,20"), "trunks must look like"),
        (dict(bridge="vmbr 0"), "bridge must look like"),
    ],
)
def test_vm_bad_params(params, words):
    with pytest.raises(InvalidRequest) as exc:
        vm_params(**params)
    assert words in exc.value.msg
    assert told_once(exc.value)


CT_MAC = "BC:24:11:00:02:00"
CT = {"net0": f"name=eth0,bridge=vmbr0,hwaddr={CT_MAC},ip=dhcp,type=veth"}

CT_CASES = [
    (
        dict(interface="net1", ip="dhcp"),
        CT,
        {"net1": "name=eth1,bridge=vmbr0,ip=dhcp,type=veth"},
        {"interface": "net1", "hwaddr": None, "name": "eth1"},
    ),
    (
        dict(ip="192.0.2.10/24", gw="192.0.2.1", bridge="vmbr1", tag=30),
        {},
        {"net0": "name=eth0,bridge=vmbr1,gw=192.0.2.1,ip=192.0.2.10/24,tag=30,type=veth"},
        {"interface": "net0", "hwaddr": None, "name": "eth0"},
    ),
    (
        dict(interface="net0", firewall=True),
        CT,
        {"net0": f"name=eth0,bridge=vmbr0,hwaddr={CT_MAC},ip=dhcp,type=veth,firewall=1"},
        {"interface": "net0", "hwaddr": CT_MAC, "name": "eth0"},
    ),
    (
        dict(interface="net0", ip="DHCP", hwaddr=CT_MAC.lower(), name="eth0"),
        CT,
        {},
        {"interface": "net0", "hwaddr": CT_MAC, "name": "eth0"},
    ),
    (
        dict(name="eth0", tag=7),
        CT,
        {"net0": f"name=eth0,bridge=vmbr0,hwaddr={CT_MAC},ip=dhcp,type=veth,tag=7"},
        {"interface": "net0", "hwaddr": CT_MAC, "name": "eth0"},
    ),
    (
        dict(name="mgmt"),
        CT,
        {"net1": "name=mgmt,bridge=vmbr0,type=veth"},
        {"interface": "net1", "hwaddr": None, "name": "mgmt"},
    ),
    (
        dict(interface="net0", ip6="2001:DB8::1/64"),
        {"net0": "name=eth0,ip6=2001:db8::1/64"},
        {},
        {"interface": "net0", "hwaddr": None, "name": "eth0"},
    ),
]


@pytest.mark.parametrize("params, config, to_set, result", CT_CASES)
def test_container_plan(params, config, to_set, result):
    change = plan(container_nic.CONTAINER_NIC, ct_params(**params), config)
    assert change.set == to_set
    assert change.result == result


@pytest.mark.parametrize(
    "params, config, words",
    [
        (dict(interface="net1", name="eth0"), CT, "name eth0 is already used by net0 of LXC container 200"),
        (dict(interface="net1"), {"net0": "name=eth1,bridge=vmbr0"}, "give another name"),
        (dict(interface="net0", name="eth1"), dict(CT, net1="name=eth1"), "already used by net1"),
    ],
)
def test_container_name_must_be_unique(params, config, words):
    with pytest.raises(InvalidRequest) as exc:
        plan(container_nic.CONTAINER_NIC, ct_params(**params), config)
    assert words in exc.value.msg and "nothing was changed" not in exc.value.msg
    assert told_once(exc.value)


@pytest.mark.parametrize(
    "params, words",
    [
        (dict(interface="eth0"), "that is the option name"),
        (dict(ip="10.0.0.5"), "ip must be dhcp, manual or an IPv4 address with prefix length"),
        (dict(gw="10.0.0.1/24"), "gw must be an IPv4 address, got '10.0.0.1/24'"),
        (dict(ip6="dhcp6"), "ip6 must be auto, dhcp, manual or an IPv6 address"),
        (dict(gw6="10.0.0.1"), "gw6 must be an IPv6 address"),
        (dict(hwaddr="BC:24:11:00:02"), "hwaddr must be a MAC address"),
        (dict(mtu=63), "mtu must be 64 to 65535"),
        (dict(name="eth 1"), "name must look like"),
    ],
)
def test_container_bad_params(params, words):
    with pytest.raises(InvalidRequest) as exc:
        ct_params(**params)
    assert words in exc.value.msg
