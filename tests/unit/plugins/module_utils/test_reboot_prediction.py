"""reboot_prediction: the predicted pending keys equal what the simulator (which follows qemu-server
vmconfig_hotplug_pending and pve-container vmconfig_hotplug_pending) then leaves pending, case by case, through
the HTTP API (the simulator's responses adapter); and guest_running's requests."""

import pytest
import responses
from harness import AUTH, HOST, TOKEN_SECRET, requests_made, url

from ansible_collections.pve.config.plugins.module_utils.client import connect
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, GuestState, read_state
from ansible_collections.pve.config.plugins.module_utils.reboot_prediction import guest_running, predict_pending
from pve_sim import Simulator
from pve_sim.responses_adapter import install

NODE = {100: "pve1", 101: "pve1", 110: "pve1", 200: "pve1", 201: "pve2"}
KIND = {100: "qemu", 101: "qemu", 110: "qemu", 200: "lxc", 201: "lxc"}

# (case id, vmid, realism, writes before, values written, keys deleted, keys pending afterwards)
CASES = [
    ("vm memory", 100, False, [], {"memory": "4096"}, [], ["memory"]),
    ("vm cores and sockets", 100, False, [], {"cores": "4", "sockets": "2"}, [], ["cores", "sockets"]),
    ("vm cpu type", 100, False, [], {"cpu": "host"}, [], ["cpu"]),
    (
        "vm nic bridge and vlan",
        100,
        False,
        [],
        {"net0": "virtio=BC:24:11:00:01:00,bridge=vmbr1,firewall=1,tag=5"},
        [],
        [],
    ),
    ("vm nic model", 100, False, [], {"net0": "e1000=BC:24:11:00:01:00,bridge=vmbr0,firewall=1"}, [], []),
    (
        "vm nic model without network hotplug",
        100,
        False,
        [({"hotplug": "disk"}, [])],
        {"net0": "e1000=BC:24:11:00:01:00,bridge=vmbr0,firewall=1"},
        [],
        ["net0"],
    ),
    ("vm new nic", 100, False, [], {"net1": "virtio=BC:24:11:00:09:09,bridge=vmbr0"}, [], []),
    ("vm new nic, hotplug 0", 100, False, [({"hotplug": "0"}, [])], {"net1": "virtio,bridge=vmbr0"}, [], ["net1"]),
    ("vm delete nic", 100, False, [], {}, ["net0"], []),
    ("vm new scsi disk", 100, False, [], {"scsi1": "local-lvm:1,iothread=1"}, [], []),
    ("vm new sata disk", 100, False, [], {"sata1": "local-lvm:1"}, [], ["sata1"]),
    (
        "vm new scsi disk without disk hotplug",
        100,
        False,
        [({"hotplug": "network"}, [])],
        {"scsi1": "local-lvm:1"},
        [],
        ["scsi1"],
    ),
    (
        "vm disk cache",
        100,
        False,
        [],
        {"scsi0": "local-lvm:vm-100-disk-0,cache=writeback,iothread=1,size=32G"},
        [],
        ["scsi0"],
    ),
    ("vm disk throttle", 100, False, [], {"scsi0": "local-lvm:vm-100-disk-0,iothread=1,mbps_rd=100,size=32G"}, [], []),
    ("vm delete boot disk", 100, False, [], {}, ["scsi0"], []),
    ("vm cd-rom joins the boot order", 100, False, [], {"ide2": "none,media=cdrom"}, [], ["boot", "ide2"]),
    ("vm cloud-init drive on ide", 100, False, [], {"ide0": "local-lvm:cloudinit"}, [], ["ide0"]),
    ("vm cloud-init drive on scsi", 100, False, [], {"scsi5": "local-lvm:cloudinit"}, [], []),
    (
        "vm cloud-init keys",
        100,
        False,
        [],
        {"ciuser": "bob", "ipconfig0": "ip=dhcp", "nameserver": "10.0.0.53", "sshkeys": "ssh-ed25519%20AAAA"},
        [],
        [],
    ),
    (
        "vm description tags onboot name",
        100,
        False,
        [],
        {"description": "web", "tags": "prod;web", "onboot": "1", "name": "web02"},
        [],
        [],
    ),
    ("vm delete tags and onboot", 100, False, [({"tags": "a", "onboot": "1"}, [])], {}, ["tags", "onboot"], []),
    ("vm balloon target", 100, False, [], {"balloon": "1024"}, [], []),
    ("vm balloon device off", 100, False, [], {"balloon": "0"}, [], ["balloon"]),
    ("vm cpuunits cpulimit", 100, False, [], {"cpuunits": "200", "cpulimit": "1.5"}, [], []),
    ("vm hotplug with memory", 100, False, [], {"hotplug": "network,disk,memory"}, [], ["hotplug"]),
    ("vm hotplug without cpu or memory", 100, False, [], {"hotplug": "network"}, [], []),
    ("vm vcpus without cpu hotplug", 100, False, [], {"vcpus": "1"}, [], ["vcpus"]),
    ("vm agent on", 100, False, [], {"agent": "1"}, [], ["agent"]),
    (
        "vm agent fstrim",
        100,
        False,
        ["stop", ({"agent": "1"}, []), "start"],
        {"agent": "1,fstrim_cloned_disks=1"},
        [],
        [],
    ),
    ("vm agent type", 100, False, ["stop", ({"agent": "1"}, []), "start"], {"agent": "1,type=isa"}, [], ["agent"]),
    ("vm tablet", 100, False, [], {"tablet": "0"}, [], []),
    ("vm machine and bios", 100, False, [], {"machine": "q35", "bios": "ovmf"}, [], ["bios", "machine"]),
    ("vm pending kept by a later write", 100, False, [({"cores": "4"}, [])], {"description": "x"}, [], ["cores"]),
    ("vm write back to the current value", 100, False, [({"cores": "4"}, [])], {"cores": "2"}, [], []),
    ("stopped vm", 101, False, [], {"memory": "8192", "cores": "8", "scsi2": "local-lvm:1"}, [], []),
    ("vm memory hotplug (dimms)", 110, True, [], {"memory": "8192"}, [], []),
    ("vm memory hotplug and balloon off", 110, True, [], {"memory": "6144", "balloon": "0"}, [], ["balloon"]),
    # qemu_memory_hotplug dies ("memory can't be lower than 1024 MB"): the update answers 400, memory stays pending
    ("vm memory hotplug below the static memory", 110, True, [], {"memory": "768"}, [], ["memory"]),
    ("ct memory and swap", 200, False, [], {"memory": "1024", "swap": "256"}, [], []),
    ("ct cores hostname", 200, False, [], {"cores": "2", "hostname": "dns02"}, [], []),
    (
        "ct nameserver",
        200,
        False,
        [],
        {"nameserver": "10.0.0.53", "searchdomain": "example.org"},
        [],
        ["nameserver", "searchdomain"],
    ),
    ("ct features", 200, False, [], {"features": "nesting=1,keyctl=1"}, [], ["features"]),
    ("ct new mount point", 200, False, [], {"mp0": "local-lvm:1,mp=/srv"}, [], []),
    (
        "ct changed mount point",
        200,
        False,
        [({"mp0": "local-lvm:1,mp=/srv"}, [])],
        {"mp0": "local-lvm:vm-200-disk-1,mp=/data,size=1G"},
        [],
        ["mp0"],
    ),
    ("ct delete mount point", 200, False, [({"mp0": "local-lvm:1,mp=/srv"}, [])], {}, ["mp0"], ["mp0"]),
    (
        "ct new nic",
        200,
        False,
        [],
        {"net1": "name=eth1,bridge=vmbr0,hwaddr=BC:24:11:00:02:01,ip=dhcp,type=veth"},
        [],
        [],
    ),
    ("ct delete swap", 200, False, [], {}, ["swap"], []),
    ("ct delete net1", 200, False, [({"net1": "name=eth1,bridge=vmbr0,ip=dhcp"}, [])], {}, ["net1"], []),
    (
        "ct delete net10 (one-digit match)",
        200,
        False,
        [({"net10": "name=eth10,bridge=vmbr0,ip=dhcp"}, [])],
        {},
        ["net10"],
        ["net10"],
    ),
    ("ct onboot description tags", 200, False, [], {"onboot": "1", "description": "dns", "tags": "dns"}, [], []),
    (
        "ct pending kept by a later write",
        200,
        False,
        [({"features": "nesting=1,keyctl=1"}, [])],
        {"cores": "2"},
        [],
        ["features"],
    ),
    (
        "stopped ct",
        201,
        False,
        [],
        {"memory": "2048", "features": "nesting=1,keyctl=1", "nameserver": "10.0.0.53"},
        [],
        [],
    ),
]


@pytest.fixture
def sim():
    simulator = Simulator(token_name="ci", token_secret=TOKEN_SECRET)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install(mock, simulator, host=HOST)
        yield simulator


def write(pve, guest, values, deletes):
    params = dict(values)
    if deletes:
        params["delete"] = ",".join(deletes)
    pve.put(guest.path + "/config", **params)


def pending_keys(state):
    return sorted(state.pending)


@pytest.mark.parametrize(
    "vmid, realism, before, values, deletes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_prediction_matches_the_simulator(sim, vmid, realism, before, values, deletes, expected):
    sim.reset(realism=realism)
    pve = connect(dict(AUTH, api_timeout=5))
    guest = Guest(vmid, NODE[vmid], KIND[vmid])
    for step in before:  # earlier writes, or "stop"/"start" the guest in between
        if step in ("stop", "start"):
            sim.set_guest_status(vmid, "stopped" if step == "stop" else "running")
        else:
            write(pve, guest, *step)
    state = read_state(pve, guest)
    predicted = predict_pending(guest.kind, state, guest_running(pve, guest), values, deletes)
    try:
        write(pve, guest, values, deletes)
    except InvalidRequest as exc:  # a hot-plug that fails: "hotplug problem - ...", the value stays pending
        assert "hotplug problem" in exc.msg
    assert predicted == expected
    assert pending_keys(read_state(pve, guest)) == expected


def state(current, pending=None):
    pending = pending or {}
    config = {k: v for k, v in dict(current, **pending).items() if v is not None}
    return GuestState(config, current, pending, "d1")


def test_stopped_guest_has_nothing_pending_even_with_earlier_pending_keys():
    before = state({"cores": "2"}, {"memory": "4096"})
    assert predict_pending("qemu", before, False, {"cores": "4"}, []) == []


def test_delete_of_an_unset_key_is_no_change():
    assert predict_pending("qemu", state({"cores": "2"}), True, {}, ["cpu"]) == []
    assert predict_pending("lxc", state({"cores": "2"}), True, {}, ["features"]) == []


def test_cipassword_is_written_to_the_config_not_pending():
    assert predict_pending("qemu", state({"cores": "2"}), True, {"cipassword": "x"}, []) == []


def test_guest_running_uses_the_status_the_lookup_read(api):
    pve = connect(dict(AUTH, api_timeout=5))
    assert guest_running(pve, Guest(100, "pve1", "qemu", status="running")) is True
    assert guest_running(pve, Guest(100, "pve1", "qemu", status="stopped")) is False
    assert requests_made(api) == []


@pytest.mark.parametrize("status, running", [("running", True), ("stopped", False)])
def test_guest_running_reads_the_status_when_the_lookup_did_not(api, status, running):
    api.get(url("nodes/pve1/lxc/200/status/current"), json={"data": {"status": status, "vmid": 200}})
    pve = connect(dict(AUTH, api_timeout=5))
    assert guest_running(pve, Guest(200, "pve1", "lxc", status="unknown")) is running
    assert requests_made(api) == [("GET", "/nodes/pve1/lxc/200/status/current", {})]
