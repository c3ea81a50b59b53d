"""Unit tests of the building blocks: property strings, sizes, config text, faults, schema."""

import hashlib
import threading

import pytest

from pve_sim import schema
from pve_sim.errors import FormatDie
from pve_sim.faults import FaultError, Faults
from pve_sim.handlers.common import parse_drive, parse_net, print_drive, print_net
from pve_sim.simulator import Simulator, decode_urlencoded
from pve_sim.state import Guest, encode_upid
from pve_sim.validation import format_size, parse_property_string, parse_size, split_list


def test_format_and_parse_size():
    assert [format_size(s) for s in (512 * 1024**2, 32 * 1024**3, 1024**4, 1536, 1000)] == [
        "512M",
        "32G",
        "1T",
        "1536",
        "1000",
    ]
    assert [parse_size(s) for s in ("4G", "0.5G", "1024K", "10", "1.5T", "4X")] == [
        4 * 1024**3,
        512 * 1024**2,
        1024**2,
        10,
        int(1.5 * 1024**4),
        None,
    ]


def test_split_list_like_pve_tools():
    assert split_list("scsi1, net0;unused0  ide2") == ["scsi1", "net0", "unused0", "ide2"]
    assert split_list("") == [] and split_list(None) == []


def test_net_parse_and_print_roundtrip_with_key_alias():
    net = parse_net("net0", "bridge=vmbr0,virtio=BC:24:11:00:01:00,tag=10,firewall=true", autogen=False)
    assert net == {"bridge": "vmbr0", "model": "virtio", "macaddr": "BC:24:11:00:01:00", "tag": "10", "firewall": "1"}
    assert print_net("net0", net) == "virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1,tag=10"


def test_drive_print_sorts_sub_keys_and_formats_size():
    drive = parse_drive("scsi1", "file=local-lvm:vm-100-disk-1,ssd=1,size=32768M,cache=none")
    assert drive["size"] == 32 * 1024**3
    assert print_drive("scsi1", drive) == "local-lvm:vm-100-disk-1,cache=none,size=32G,ssd=1"


def test_property_string_errors():
    fmt = schema.parameters("/nodes/{node}/qemu/{vmid}/config", "PUT")[0]["net0"]["format"]
    with pytest.raises(FormatDie) as exc:
        parse_property_string(fmt, "virtio,e1000", "net0")
    assert exc.value.message == "duplicate key in comma-separated list property: model\n"
    with pytest.raises(FormatDie) as exc:
        parse_property_string(fmt, "virtio,bridge=", "net0")
    assert exc.value.message == "missing key in comma-separated list property\n"
    with pytest.raises(FormatDie) as exc:
        parse_property_string(fmt, "virtio,queues=99", "net0")
    assert exc.value.perl_string() == "format error\nnet0.queues: value must have a maximum value of 64\n"


def test_indexed_keys_are_expanded_with_the_source_limits():
    qemu = schema.parameters("/nodes/{node}/qemu/{vmid}/config", "PUT")[0]
    lxc = schema.parameters("/nodes/{node}/lxc/{vmid}/config", "PUT")[0]
    assert (
        "scsi30" in qemu,
        "scsi31" in qemu,
        "sata5" in qemu,
        "sata6" in qemu,
        "ide3" in qemu,
        "ide4" in qemu,
        "virtio15" in qemu,
        "net31" in qemu,
        "net32" in qemu,
        "unused255" in qemu,
    ) == (True, False, True, False, True, False, True, True, False, True)
    assert ("mp255" in lxc, "mp256" in lxc, "net31" in lxc, "dev255" in lxc) == (True, False, True, True)
    assert schema.option_exists("qemu", "runningmachine") and not schema.option_exists("qemu", "colour")


def test_raw_config_layout_and_digest():
    g = Guest(
        vmid=150,
        kind="qemu",
        node="pve1",
        config={"name": "x", "cores": "2", "description": "a: 100%\nb"},
        pending={"memory": "1024"},
        pending_delete={"numa": False, "scsi1": True},
    )
    raw = "#a%3A 100%25\n#b\ncores: 2\nname: x\n\n[PENDING]\ndelete: numa,!scsi1\nmemory: 1024\n"
    assert g.raw_config() == raw
    assert g.digest == hashlib.sha1(raw.encode()).hexdigest()


def test_upid_format():
    assert encode_upid("pve1", 0x1234, 0xABCDEF, 0x65000000, "qmconfig", "100", "root@pam!t") == (
        "UPID:pve1:00001234:00ABCDEF:65000000:qmconfig:100:root@pam!t:"
    )


def test_decode_urlencoded_like_pve_http_server():
    assert decode_urlencoded("a=1&b=x%3Dy;c=&d&a=2") == {"a": ["1", "2"], "b": "x=y", "c": None, "d": None}


def test_fault_specs_are_checked():
    faults = Faults()
    with pytest.raises(FaultError):
        Faults.check_spec({})
    with pytest.raises(FaultError):
        faults.add_task_fault(exitstatus="two\nlines")
    faults.add_task_fault(type="qmresize", exitstatus="boom", times=2)
    assert faults.take_task_fault("qmconfig") is None
    assert faults.take_task_fault("resize")["exitstatus"] == "boom"
    assert faults.take_task_fault("resize")["exitstatus"] == "boom"
    assert faults.take_task_fault("resize") is None
    sim = Simulator()
    with pytest.raises(FaultError):
        sim.add_faults({"lock": {"vmid": 4242}})


def test_concurrent_allocations_get_distinct_disks():
    sim = Simulator(token_secret="t")
    headers = dict(sim.auth_header(), **{"Content-Type": "application/x-www-form-urlencoded"})
    results = []

    def post(i):
        r = sim.handle_http(
            "POST", "/api2/json/nodes/pve1/qemu/101/config", headers, f"scsi{i + 2}=local-lvm:1".encode()
        )
        results.append(r.status)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conf = sim.guest_config(101)["config"]
    disks = sorted(conf[f"scsi{i + 2}"].split(",")[0] for i in range(8))
    assert results == [200] * 8
    assert disks == sorted(f"local-lvm:vm-101-disk-{n}" for n in range(2, 10))
