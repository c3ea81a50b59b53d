"""property_string: parse/format round trips for each format, merge, same_value (tables of cases)."""

import pytest

from ansible_collections.pve.config.plugins.module_utils import property_string as ps
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest

MAC = "BC:24:11:00:00:01"

# (format, text as Proxmox may write it, parsed dict, canonical text that format() writes back)
PARSE_CASES = [
    # QEMU NICs: Proxmox writes "model=MAC"; the explicit form and any order parse to the same dict
    (
        "qemu_net",
        f"virtio={MAC},bridge=vmbr0,firewall=1",
        {"model": "virtio", "macaddr": MAC, "bridge": "vmbr0", "firewall": "1"},
        f"virtio={MAC},bridge=vmbr0,firewall=1",
    ),
    (
        "qemu_net",
        f"model=e1000,macaddr={MAC},bridge=vmbr1",
        {"model": "e1000", "macaddr": MAC, "bridge": "vmbr1"},
        f"e1000={MAC},bridge=vmbr1",
    ),
    (
        "qemu_net",
        f"bridge=vmbr0,vmxnet3={MAC},tag=20",
        {"bridge": "vmbr0", "model": "vmxnet3", "macaddr": MAC, "tag": "20"},
        f"vmxnet3={MAC},bridge=vmbr0,tag=20",
    ),
    ("qemu_net", "virtio,bridge=vmbr0", {"model": "virtio", "bridge": "vmbr0"}, "virtio,bridge=vmbr0"),
    (
        "qemu_net",
        "bridge=vmbr0,link_down=1,rate=12.5,mtu=9000,queues=4,trunks=10;20-30",
        {"bridge": "vmbr0", "link_down": "1", "rate": "12.5", "mtu": "9000", "queues": "4", "trunks": "10;20-30"},
        "bridge=vmbr0,link_down=1,rate=12.5,mtu=9000,queues=4,trunks=10;20-30",
    ),
    # disks: the volume is the default key "file"; "volume=" is an alias of it
    (
        "qemu_scsi",
        "local-lvm:vm-100-disk-0,iothread=1,size=32G",
        {"file": "local-lvm:vm-100-disk-0", "iothread": "1", "size": "32G"},
        "local-lvm:vm-100-disk-0,iothread=1,size=32G",
    ),
    (
        "qemu_scsi",
        "file=local-lvm:vm-100-disk-0,size=32G",
        {"file": "local-lvm:vm-100-disk-0", "size": "32G"},
        "local-lvm:vm-100-disk-0,size=32G",
    ),
    (
        "qemu_virtio",
        "volume=ceph:vm-100-disk-1,cache=writeback,discard=on",
        {"file": "ceph:vm-100-disk-1", "cache": "writeback", "discard": "on"},
        "ceph:vm-100-disk-1,cache=writeback,discard=on",
    ),
    (
        "qemu_sata",
        "size=8G,local:100/vm-100-disk-2.qcow2",
        {"size": "8G", "file": "local:100/vm-100-disk-2.qcow2"},
        "local:100/vm-100-disk-2.qcow2,size=8G",
    ),
    ("qemu_ide", "none,media=cdrom", {"file": "none", "media": "cdrom"}, "none,media=cdrom"),
    (
        "qemu_ide",
        "local:iso/debian-12.iso,media=cdrom,size=628M",
        {"file": "local:iso/debian-12.iso", "media": "cdrom", "size": "628M"},
        "local:iso/debian-12.iso,media=cdrom,size=628M",
    ),
    ("qemu_unused", "local-lvm:vm-100-disk-9", {"file": "local-lvm:vm-100-disk-9"}, "local-lvm:vm-100-disk-9"),
    ("qemu_unused", "volume=local-lvm:vm-100-disk-9", {"file": "local-lvm:vm-100-disk-9"}, "local-lvm:vm-100-disk-9"),
    (
        "qemu_efidisk",
        "local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M",
        {"file": "local-lvm:vm-100-disk-1", "efitype": "4m", "pre-enrolled-keys": "1", "size": "4M"},
        "local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M",
    ),
    (
        "qemu_tpmstate",
        "local-lvm:vm-100-disk-2,size=4M,version=v2.0",
        {"file": "local-lvm:vm-100-disk-2", "size": "4M", "version": "v2.0"},
        "local-lvm:vm-100-disk-2,size=4M,version=v2.0",
    ),
    # QEMU memory: "[current=]<int>"
    ("qemu_memory", "4096", {"current": "4096"}, "4096"),
    ("qemu_memory", "current=4096", {"current": "4096"}, "4096"),
    ("qemu_cpu", "host,flags=+aes;-pcid", {"cputype": "host", "flags": "+aes;-pcid"}, "host,flags=+aes;-pcid"),
    ("qemu_cpu", "cputype=x86-64-v2-AES", {"cputype": "x86-64-v2-AES"}, "x86-64-v2-AES"),
    # LXC: net has no default key; rootfs/mp have "volume"
    (
        "lxc_net",
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
        {"name": "eth0", "bridge": "vmbr0", "hwaddr": "BC:24:11:00:02:00", "ip": "dhcp", "type": "veth"},
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
    ),
    (
        "lxc_net",
        "name=eth1,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,tag=5,firewall=1",
        {
            "name": "eth1",
            "bridge": "vmbr0",
            "ip": "10.0.0.5/24",
            "gw": "10.0.0.1",
            "ip6": "auto",
            "tag": "5",
            "firewall": "1",
        },
        "name=eth1,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,tag=5,firewall=1",
    ),
    (
        "lxc_rootfs",
        "local-lvm:vm-200-disk-0,size=8G",
        {"volume": "local-lvm:vm-200-disk-0", "size": "8G"},
        "local-lvm:vm-200-disk-0,size=8G",
    ),
    (
        "lxc_rootfs",
        "volume=local-lvm:vm-200-disk-0,size=8G,quota=1",
        {"volume": "local-lvm:vm-200-disk-0", "size": "8G", "quota": "1"},
        "local-lvm:vm-200-disk-0,size=8G,quota=1",
    ),
    (
        "lxc_mp",
        "local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=16G",
        {"volume": "local-lvm:vm-200-disk-1", "mp": "/srv/data", "backup": "1", "size": "16G"},
        "local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=16G",
    ),
    ("lxc_unused", "local-lvm:vm-200-disk-2", {"volume": "local-lvm:vm-200-disk-2"}, "local-lvm:vm-200-disk-2"),
]


@pytest.mark.parametrize("fmt, text, parsed, canonical", PARSE_CASES)
def test_parse_and_format(fmt, text, parsed, canonical):
    values = ps.parse(text, fmt)
    assert values == parsed
    assert list(values) == list(parsed), "parse keeps the written order"
    assert ps.format(values, fmt) == canonical
    assert ps.parse(canonical, fmt) == parsed, "the canonical text parses back to the same dict"


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_text_parses_to_nothing(text):
    assert ps.parse(text, "qemu_net") == {}


@pytest.mark.parametrize(
    "fmt, text, words",
    [
        ("qemu_net", "bridge=vmbr0,bridge=vmbr1", "option 'bridge' given twice"),
        ("qemu_scsi", "volume=a:1,file=b:2", "option 'file' given twice"),
        ("qemu_scsi", "a:1,b:2", "option 'file' given twice"),
        ("lxc_net", "eth0", "'eth0' has no key and this property string has no default key"),
    ],
)
def test_parse_errors(fmt, text, words):
    with pytest.raises(InvalidRequest) as exc:
        ps.parse(text, fmt)
    assert words in exc.value.msg
    assert repr(text) in exc.value.msg


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError):
        ps.parse("x", "qemu_nope")


@pytest.mark.parametrize(
    "values, fmt, text",
    [
        ({"model": "virtio", "bridge": "vmbr0", "firewall": True}, "qemu_net", "virtio,bridge=vmbr0,firewall=1"),
        ({"bridge": "vmbr0", "link_down": False, "tag": None}, "qemu_net", "bridge=vmbr0,link_down=0"),
        ({"bridge": "vmbr0", "rate": 10.0, "mtu": 1500}, "qemu_net", "bridge=vmbr0,rate=10,mtu=1500"),
        ({"macaddr": MAC, "model": "e1000"}, "qemu_net", f"e1000={MAC}"),
        ({"macaddr": MAC}, "qemu_net", f"macaddr={MAC}"),
        ({"size": "10G", "file": "local-lvm:vm-1-disk-0"}, "qemu_scsi", "local-lvm:vm-1-disk-0,size=10G"),
        ({"current": 2048}, "qemu_memory", "2048"),
        ({}, "qemu_net", ""),
    ],
)
def test_format(values, fmt, text):
    assert ps.format(dict(values), fmt) == text


def test_format_refuses_unknown_keys():
    with pytest.raises(InvalidRequest, match="'colour' is not an option"):
        ps.format({"bridge": "vmbr0", "colour": "red"}, "qemu_net")


@pytest.mark.parametrize(
    "value, text",
    [
        (True, "1"),
        (False, "0"),
        (2.0, "2"),
        (2.5, "2.5"),
        (7, "7"),
        ("x", "x"),
        (float("inf"), "inf"),
        (1e20, "100000000000000000000"),
    ],
)
def test_to_text(value, text):
    assert ps.to_text(value) == text


NET = f"virtio={MAC},bridge=vmbr0,firewall=1"

# (current text, desired sub-keys, format, expected text, expected changed keys)
MERGE_CASES = [
    # nothing differs: the very same text comes back (not a re-formatted one)
    (NET, {"bridge": "vmbr0"}, "qemu_net", NET, []),
    (NET, {"firewall": True}, "qemu_net", NET, []),
    (NET, {"firewall": "on"}, "qemu_net", NET, []),
    (NET, {"firewall": "yes"}, "qemu_net", NET, []),
    (NET, {"macaddr": MAC.lower()}, "qemu_net", NET, []),
    (NET, {"bridge": None, "tag": None}, "qemu_net", NET, []),
    (
        f"model=virtio,macaddr={MAC},bridge=vmbr0",
        {"bridge": "vmbr0"},
        "qemu_net",
        f"model=virtio,macaddr={MAC},bridge=vmbr0",
        [],
    ),
    # a changed key stays in its place, untouched keys are kept, new keys are appended
    (NET, {"bridge": "vmbr1"}, "qemu_net", f"virtio={MAC},bridge=vmbr1,firewall=1", ["bridge"]),
    (
        NET,
        {"tag": 20, "bridge": "vmbr2"},
        "qemu_net",
        f"virtio={MAC},bridge=vmbr2,firewall=1,tag=20",
        ["tag", "bridge"],
    ),
    (NET, {"firewall": False}, "qemu_net", f"virtio={MAC},bridge=vmbr0,firewall=0", ["firewall"]),
    (NET, {"model": "e1000"}, "qemu_net", f"e1000={MAC},bridge=vmbr0,firewall=1", ["model"]),
    (
        NET,
        {"macaddr": "BC:24:11:00:00:99"},
        "qemu_net",
        "virtio=BC:24:11:00:00:99,bridge=vmbr0,firewall=1",
        ["macaddr"],
    ),
    # DELETE removes a sub-key; deleting one that is not there is no change
    (NET, {"firewall": ps.DELETE}, "qemu_net", f"virtio={MAC},bridge=vmbr0", ["firewall"]),
    (NET, {"tag": ps.DELETE}, "qemu_net", NET, []),
    # sizes compare by bytes
    ("local-lvm:vm-100-disk-0,size=1G", {"size": "1024M"}, "qemu_scsi", "local-lvm:vm-100-disk-0,size=1G", []),
    ("local-lvm:vm-100-disk-0,size=1G", {"size": "2G"}, "qemu_scsi", "local-lvm:vm-100-disk-0,size=2G", ["size"]),
    (
        "local-lvm:vm-100-disk-0,discard=on",
        {"cache": "none"},
        "qemu_scsi",
        "local-lvm:vm-100-disk-0,discard=on,cache=none",
        ["cache"],
    ),
    # numbers compare as numbers
    ("bridge=vmbr0,rate=10", {"rate": 10.0}, "qemu_net", "bridge=vmbr0,rate=10", []),
    ("bridge=vmbr0,mtu=1500", {"mtu": "1500"}, "qemu_net", "bridge=vmbr0,mtu=1500", []),
    # an empty or missing current string
    ("", {"bridge": "vmbr0"}, "qemu_net", "bridge=vmbr0", ["bridge"]),
    (None, {"bridge": "vmbr0", "model": "virtio"}, "qemu_net", "virtio,bridge=vmbr0", ["bridge", "model"]),
    # the default key of QEMU memory and cpu
    ("4096", {"current": 4096}, "qemu_memory", "4096", []),
    ("current=4096", {"current": 8192}, "qemu_memory", "8192", ["current"]),
    ("x86-64-v2-AES,flags=+aes", {"cputype": "host"}, "qemu_cpu", "host,flags=+aes", ["cputype"]),
    # LXC NIC MAC is hwaddr
    (
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00",
        {"hwaddr": "bc:24:11:00:02:00"},
        "lxc_net",
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00",
        [],
    ),
]


@pytest.mark.parametrize("current, desired, fmt, text, changed", MERGE_CASES)
def test_merge(current, desired, fmt, text, changed):
    assert ps.merge(current, desired, fmt) == (text, changed)


# (key, a, b, format, same?)
SAME_CASES = [
    ("firewall", "1", True, "qemu_net", True),
    ("firewall", "on", "1", "qemu_net", True),
    ("firewall", "yes", "1", "qemu_net", True),
    ("firewall", "true", "on", "qemu_net", True),
    ("firewall", "ON", "Yes", "qemu_net", True),
    ("firewall", "0", False, "qemu_net", True),
    ("firewall", "off", "no", "qemu_net", True),
    ("firewall", "1", "0", "qemu_net", False),
    ("firewall", "maybe", "1", "qemu_net", False),
    ("macaddr", MAC, MAC.lower(), "qemu_net", True),
    ("macaddr", MAC, "BC:24:11:00:00:02", "qemu_net", False),
    ("hwaddr", "bc:24:11:00:02:00", "BC:24:11:00:02:00", "lxc_net", True),
    ("bridge", "vmbr0", "VMBR0", "qemu_net", False),
    ("size", "1G", "1024M", "qemu_scsi", True),
    ("size", "1T", "1024G", "qemu_scsi", True),
    ("size", "32G", "34359738368", "qemu_scsi", True),
    ("size", "1G", "1000M", "qemu_scsi", False),
    ("size", "weird", "weird", "qemu_scsi", True),
    ("tag", "20", 20, "qemu_net", True),
    ("tag", "020", 20, "qemu_net", True),
    ("rate", "1", 1.0, "qemu_net", True),
    ("rate", "1.5", "1.50", "qemu_net", True),
    ("rate", "1.5", 2, "qemu_net", False),
    ("bridge", None, None, "qemu_net", True),
    ("bridge", None, "vmbr0", "qemu_net", False),
]


@pytest.mark.parametrize("key, a, b, fmt, same", SAME_CASES)
def test_same_value(key, a, b, fmt, same):
    assert ps.same_value(key, a, b, fmt) is same
    assert ps.same_value(key, b, a, fmt) is same


def test_delete_marker_is_a_singleton_with_a_readable_repr():
    assert repr(ps.DELETE) == "DELETE"


@pytest.mark.parametrize(
    "values, fmt",
    [
        ({"bridge": "vmbr0,firewall=0"}, "qemu_net"),
        ({"file": "local-lvm:vm-1-disk-0,size=1T"}, "qemu_scsi"),
        ({"name": "eth0", "ip": "10.0.0.1/24,gw=10.0.0.254"}, "lxc_net"),
    ],
)
def test_format_refuses_a_comma_that_would_smuggle_in_options(values, fmt):
    with pytest.raises(InvalidRequest, match="must not contain a comma"):
        ps.format(values, fmt)


def test_merge_refuses_a_comma_too():
    with pytest.raises(InvalidRequest, match="bridge 'vmbr1,tag=5' must not contain a comma"):
        ps.merge(NET, {"bridge": "vmbr1,tag=5"}, "qemu_net")


@pytest.mark.parametrize(
    "values, fmt, text",
    [
        # a bare default-key value that would read as key=value, or vanish when empty, is written with its key
        ({"file": "/dev/disk/by-id/a=b"}, "qemu_scsi", "file=/dev/disk/by-id/a=b"),
        ({"file": "", "size": "1G"}, "qemu_scsi", "file=,size=1G"),
        # a NIC model newer than the table is written as Proxmox writes every model: model=MAC
        ({"model": "future-nic", "macaddr": MAC}, "qemu_net", f"future-nic={MAC}"),
    ],
)
def test_format_keeps_the_default_key_parseable(values, fmt, text):
    """Values taken from the current config (kept) are written as they are, '=' included."""
    assert ps.format(dict(values), fmt, kept=values) == text
    assert ps.parse(text, fmt) == values


@pytest.mark.parametrize(
    "values, words",
    [
        ({"bridge": "vmbr0=1"}, "bridge 'vmbr0=1' must not contain '='"),
        ({"gw6": "fe80::1%ip=1.2.3.4"}, "gw6 'fe80::1%ip=1.2.3.4' must not contain '='"),
        ({"name": "eth0\n"}, "must not contain control characters"),
        ({"name": "eth\x000"}, "must not contain control characters"),
        ({"name": "eth\x7f"}, "must not contain control characters"),
        ({"name": "eth\x850"}, "must not contain control characters"),
        ({"bridge": "vmbr0", "colour": "red"}, "'colour' is not an option"),
    ],
)
def test_format_refuses_new_values_that_could_smuggle_or_break_lines(values, words):
    fmt = "lxc_net" if "name" in values or "gw6" in values else "qemu_net"
    with pytest.raises(InvalidRequest) as exc:
        ps.format(values, fmt)
    assert words in exc.value.msg


def test_format_refuses_changed_values_even_when_the_key_was_kept():
    with pytest.raises(InvalidRequest, match="must not contain '='"):
        ps.format({"bridge": "vmbr1=x"}, "qemu_net", kept={"bridge": "vmbr0"})
    with pytest.raises(InvalidRequest, match="'host-tunnel' is not an option"):
        ps.format({"host-tunnel": "0"}, "qemu_net", kept={"host-tunnel": "1"})


# --- forward compatibility: sub-keys of a newer Proxmox ---------------------------------------------------

NEWER = [
    # (format, text a newer Proxmox writes, parsed)
    ("qemu_cpu", "host,guest-phys-bits=40", {"cputype": "host", "guest-phys-bits": "40"}),
    (
        "qemu_cpu",
        "x86-64-v2-AES,level=30,future-flag=on",
        {"cputype": "x86-64-v2-AES", "level": "30", "future-flag": "on"},
    ),
    (
        "qemu_net",
        f"virtio={MAC},bridge=vmbr0,host-tunnel=1,firewall=1",
        {"model": "virtio", "macaddr": MAC, "bridge": "vmbr0", "host-tunnel": "1", "firewall": "1"},
    ),
    ("qemu_net", f"igb={MAC},bridge=vmbr0", {"model": "igb", "macaddr": MAC, "bridge": "vmbr0"}),
    (
        "qemu_scsi",
        "local-lvm:vm-100-disk-0,size=32G,future-knob=a=b",
        {"file": "local-lvm:vm-100-disk-0", "size": "32G", "future-knob": "a=b"},
    ),
    (
        "lxc_net",
        "name=eth0,bridge=vmbr0,new-key=,type=veth",
        {"name": "eth0", "bridge": "vmbr0", "new-key": "", "type": "veth"},
    ),
]


@pytest.mark.parametrize("fmt, text, parsed", NEWER)
def test_unknown_sub_keys_are_parsed_in_their_place(fmt, text, parsed):
    values = ps.parse(text, fmt)
    assert values == parsed
    assert list(values) == list(parsed)


@pytest.mark.parametrize("fmt, text, parsed", NEWER)
def test_merge_of_a_known_key_keeps_the_unknown_ones_verbatim(fmt, text, parsed):
    known = next(k for k in ("firewall", "cputype", "cache", "bridge") if ps.is_known(k, fmt))
    new_text, changed = ps.merge(text, {known: {"firewall": False, "cache": "none"}.get(known, "other")}, fmt)
    assert changed == [known]
    after = ps.parse(new_text, fmt)
    others = [k for k in parsed if k != known]
    assert {k: after[k] for k in others} == {k: parsed[k] for k in others}
    assert [k for k in after if k != known] == others  # order kept
    # and the same desired value again is no change
    assert ps.merge(new_text, {known: after[known]}, fmt) == (new_text, [])


def test_unknown_sub_keys_compare_as_strings():
    assert ps.same_value("host-tunnel", "1", "1", "qemu_net")
    assert not ps.same_value("host-tunnel", "1", "on", "qemu_net")
    assert not ps.same_value("future", " 1", "1", "qemu_net")


def test_merge_can_delete_an_unknown_sub_key_but_not_set_one():
    text = f"virtio={MAC},bridge=vmbr0,host-tunnel=1"
    assert ps.merge(text, {"host-tunnel": ps.DELETE}, "qemu_net") == (f"virtio={MAC},bridge=vmbr0", ["host-tunnel"])
    assert ps.merge(text, {"host-tunnel": "1"}, "qemu_net") == (text, [])
    with pytest.raises(InvalidRequest, match="'host-tunnel' is not an option"):
        ps.merge(text, {"host-tunnel": "0"}, "qemu_net")


def test_model_change_of_a_nic_with_a_newer_model_keeps_its_mac():
    text, changed = ps.merge(f"igb={MAC},bridge=vmbr0,host-tunnel=1", {"model": "virtio"}, "qemu_net")
    assert (text, changed) == (f"virtio={MAC},bridge=vmbr0,host-tunnel=1", ["model"])


@pytest.mark.parametrize(
    "text, items",
    [
        ("a b", ["a", "b"]),
        ("a,b;c  d", ["a", "b", "c", "d"]),
        ("  a ;", ["a"]),
        ("", []),
        (None, []),
        ("a b\0c", ["a b", "c"]),  # pve-common split_list: NUL-separated text keeps its spaces
    ],
)
def test_split_list_as_pve_common(text, items):
    assert ps.split_list(text) == items


def test_list_sub_keys_are_written_with_semicolons_and_compared_in_order():
    assert ps.to_text(["scsi0", "net0"]) == "scsi0;net0"
    assert ps.same_value("order", "scsi0;net0", ["scsi0", "net0"], "qemu_boot")
    assert not ps.same_value("order", "scsi0;net0", ["net0", "scsi0"], "qemu_boot")
    assert ps.same_value("flags", "+aes;+pcid", ["+aes", "+pcid"], "qemu_cpu")
    assert ps.merge("host", {"flags": ["+aes", "-pcid"]}, "qemu_cpu") == ("host,flags=+aes;-pcid", ["flags"])
    assert ps.merge("host,flags=+aes;-pcid", {"flags": ["+aes", "-pcid"]}, "qemu_cpu") == ("host,flags=+aes;-pcid", [])


def test_equals_only_in_base64_sub_keys():
    assert ps.format({"manufacturer": "UHJveG1veA==", "base64": "1"}, "qemu_smbios1") == (
        "manufacturer=UHJveG1veA==,base64=1"
    )
    assert ps.parse("manufacturer=UHJveG1veA==,base64=1", "qemu_smbios1")["manufacturer"] == "UHJveG1veA=="
    with pytest.raises(InvalidRequest, match="uuid 'a=b' must not contain '='"):
        ps.format({"uuid": "a=b"}, "qemu_smbios1")
