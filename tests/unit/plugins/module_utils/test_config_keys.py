"""config_keys: the keys of each guest kind from the schema tables, and every refusal of check_keys."""

import pytest

from ansible_collections.pve.config.plugins.module_utils import config_keys as ck
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest


@pytest.mark.parametrize(
    "kind, key, fmt",
    [
        ("qemu", "scsi3", "qemu_scsi"),
        ("qemu", "scsi30", "qemu_scsi"),
        ("qemu", "virtio15", "qemu_virtio"),
        ("qemu", "ide2", "qemu_ide"),
        ("qemu", "sata5", "qemu_sata"),
        ("qemu", "efidisk0", "qemu_efidisk"),
        ("qemu", "tpmstate0", "qemu_tpmstate"),
        ("qemu", "net0", "qemu_net"),
        ("qemu", "net31", "qemu_net"),
        ("qemu", "ipconfig0", "qemu_ipconfig"),
        ("qemu", "cpu", "qemu_cpu"),
        ("qemu", "memory", "qemu_memory"),
        ("qemu", "boot", "qemu_boot"),
        ("qemu", "agent", "qemu_agent"),
        ("qemu", "hostpci15", "qemu_hostpci"),
        ("qemu", "usb13", "qemu_usb"),
        ("qemu", "numa7", "qemu_numa"),
        ("qemu", "startup", "qemu_startup"),
        ("qemu", "rng0", "qemu_rng"),
        ("qemu", "unused255", "qemu_unused"),
        ("lxc", "mp2", "lxc_mp"),
        ("lxc", "rootfs", "lxc_rootfs"),
        ("lxc", "net0", "lxc_net"),
        ("lxc", "dev0", "lxc_dev"),
        ("lxc", "features", "lxc_features"),
        ("lxc", "startup", "lxc_startup"),
    ],
)
def test_key_format(kind, key, fmt):
    assert ck.key_format(kind, key) == fmt


@pytest.mark.parametrize(
    "kind, key",
    [
        ("qemu", "cores"),
        ("qemu", "numa"),  # the boolean, not numa[n]
        ("qemu", "tags"),
        ("qemu", "serial0"),
        ("qemu", "parallel2"),
        ("qemu", "sshkeys"),
        ("lxc", "memory"),
        ("lxc", "hostname"),
    ],
)
def test_scalar_keys_have_no_format(kind, key):
    assert ck.schema_name(kind, key) is not None
    assert ck.key_format(kind, key) is None


@pytest.mark.parametrize(
    "kind, key",
    [
        ("qemu", "scsi31"),  # qemu-server Drive.pm $MAX_SCSI_DISKS = 31: scsi0..scsi30
        ("qemu", "ide4"),
        ("qemu", "sata6"),
        ("qemu", "virtio16"),
        ("qemu", "net32"),
        ("qemu", "serial4"),
        ("qemu", "parallel3"),
        ("qemu", "hostpci16"),
        ("qemu", "usb14"),
        ("qemu", "numa8"),
        ("qemu", "virtiofs10"),
        ("qemu", "net01"),  # a leading zero is another key
        ("qemu", "mp0"),  # a container key
        ("qemu", "rootfs"),
        ("lxc", "scsi0"),
        ("lxc", "sshkeys"),
        ("lxc", "mp256"),
        ("lxc", "dev256"),
    ],
)
def test_keys_not_in_the_schema(kind, key):
    assert ck.schema_name(kind, key) is None
    assert ck.key_format(kind, key) is None


def test_is_volume_key():
    qemu_volumes = ["ide0", "ide3", "sata0", "sata5", "scsi0", "scsi30", "virtio0", "virtio15", "efidisk0", "tpmstate0"]
    assert all(ck.is_volume_key("qemu", key) for key in qemu_volumes)
    not_volumes = ["net0", "unused0", "ide4", "scsi31", "efidisk1", "cdrom", "ipconfig0", "hostpci0", "rootfs"]
    assert not any(ck.is_volume_key("qemu", key) for key in not_volumes)
    assert ck.is_volume_key("lxc", "rootfs") and ck.is_volume_key("lxc", "mp0") and ck.is_volume_key("lxc", "mp255")
    assert not any(ck.is_volume_key("lxc", key) for key in ("net0", "unused0", "mp256", "scsi0", "dev0"))


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="qemu or lxc"):
        ck.key_format("vm", "cores")


def test_valid_request_passes():
    ck.check_keys(
        "qemu",
        {
            "cores": 4,
            "sockets": "2",  # text of an integer (a template renders to text)
            "cpulimit": "1.5",
            "onboot": "yes",
            "tags": ["prod", "web"],
            "nameserver": "1.1.1.1 2606:4700::1111 dns.example.com",  # address-list: IPs or DNS names
            "searchdomain": ["example.com"],
            "sshkeys": "ssh-ed25519 AAAAC3Nza u@h\nssh-rsa AAAAB3 x@y\n",
            "description": "line one\nline two, with = and ,",
            "memory": "4G",
            "balloon": 0,
            "boot": ["scsi0", "net0"],
            "net0": {"bridge": "vmbr0", "tag": 20, "firewall": True, "rate": None},
            "scsi1": {"storage": "local-lvm", "size": "10G", "iothread": True},
            "ide2": "none,media=cdrom",
            "ipconfig0": "ip=10.0.0.2/24,gw=10.0.0.1",
            "ipconfig1": {"ip": "dhcp", "ip6": "2001:db8::2/64", "gw6": "2001:db8::1"},
            "ipconfig2": {"ip6": "auto"},
            "cpu": {"cputype": "host", "flags": ["+aes", "-pcid"]},
            "cipassword": "s3cret",
            "name": "web-01.example",
            "hotplug": ["disk", "network", "cpu"],
            "affinity": "0-3,8",
            "smbios1": {"base64": True, "manufacturer": "UHJveG1veA=="},
            "vmgenid": "1",
            "agent": True,  # its default key `enabled` is a boolean
            "numa0": {"cpus": ["0-3"], "hostnodes": [0], "memory": 2048},
        },
        ["virtio1", "unused0", "hostpci0"],
    )
    ck.check_keys(
        "lxc",
        {
            "memory": 1024,
            "swap": "0",
            "hostname": "ct-01.example.com",
            "searchdomain": "a.example b.example",
            "mp0": {"storage": "local-lvm", "size": "8G", "mp": "/srv/data", "backup": 1},
        },
        ["mp1", "unused3"],
    )


@pytest.mark.parametrize(
    "kind, config, absent, message",
    [
        # read-only or meaningless keys, with the reason
        ("qemu", {"digest": "abc"}, [], "config: digest cannot be managed: the digest of the config is read"),
        ("qemu", {"lock": "backup"}, [], "config: lock cannot be managed: Proxmox sets a lock while a task"),
        ("lxc", {}, ["lock"], "absent: lock cannot be managed"),
        ("qemu", {}, ["vmstate"], "absent: vmstate cannot be managed: read-only"),
        ("qemu", {"parent": "snap1"}, [], "parent cannot be managed: read-only"),
        ("qemu", {"snaptime": 1}, [], "snaptime cannot be managed: read-only"),
        ("qemu", {"runningmachine": "pc"}, [], "runningmachine cannot be managed: read-only"),
        ("qemu", {"runningcpu": "host"}, [], "runningcpu cannot be managed: read-only"),
        ("qemu", {"meta": "x"}, [], "meta cannot be managed: read-only"),
        (
            "qemu",
            {"delete": "net1"},
            [],
            "delete cannot be managed: a parameter of the request, not a config key: list",
        ),
        ("qemu", {"revert": "cores"}, [], "revert cannot be managed: a parameter of the request"),
        ("qemu", {"skiplock": 1}, [], "skiplock cannot be managed"),
        ("qemu", {"force": 1}, [], "force cannot be managed"),
        ("qemu", {"vmid": 100}, [], "vmid cannot be managed: selects the guest"),
        ("qemu", {"node": "pve1"}, [], "node cannot be managed: selects the guest"),
        ("qemu", {"cdrom": "none"}, [], "cdrom cannot be managed: an alias of ide2"),
        ("lxc", {"lxc": "x"}, [], "raw lxc.* lines"),
        ("qemu", {"template": 1}, [], "template cannot be managed: a guest becomes a template through POST"),
        ("lxc", {}, ["template"], "absent: template cannot be managed"),
        ("lxc", {"password": "x"}, [], "password cannot be managed: not a config key: a container's root password"),
        ("lxc", {"unprivileged": 0}, [], "unprivileged cannot be managed: cannot be changed after the container"),
        ("qemu", {"unused0": "local-lvm:vm-100-disk-1"}, [], "config: unused0 cannot be set: unused slots are made"),
        ("lxc", {}, ["rootfs"], "absent: rootfs cannot be removed from a container"),
        ("lxc", {}, ["memory"], "absent: memory cannot be removed"),
        # unknown keys, with the closest valid one
        ("qemu", {"memroy": 1024}, [], "config: memroy is not a config key of a VM; did you mean memory?"),
        ("qemu", {"scsi31": "x"}, [], "scsi31 is not a config key of a VM; did you mean scsi3"),
        ("lxc", {"sshkeys": "x"}, [], "sshkeys is not a config key of a container"),
        ("lxc", {}, ["hostnam"], "absent: hostnam is not a config key of a container; did you mean hostname?"),
        ("qemu", {"zzzzzz": 1}, [], "zzzzzz is not a config key of a VM$"),
        ("qemu", {1: 1}, [], "config keys are strings"),
        # both set and absent
        ("qemu", {"cores": 2, "tags": "a"}, ["tags", "cores"], "cores, tags given both in config and in absent"),
        # wrong types and ranges
        ("qemu", {"cores": 0}, [], "cores must be at least 1, got 0"),
        ("qemu", {"cores": True}, [], "cores must be an integer, got the boolean true"),
        ("qemu", {"cores": "four"}, [], "cores must be an integer"),
        ("qemu", {"cpulimit": 200}, [], "cpulimit must be 0 to 128, got 200"),
        ("qemu", {"cpulimit": "lots"}, [], "cpulimit must be a number, got 'lots'"),
        ("qemu", {"onboot": "maybe"}, [], "onboot must be a boolean"),
        ("qemu", {"onboot": 2}, [], "onboot must be a boolean"),
        ("qemu", {"ostype": "l27"}, [], "ostype must be one of other, .*, got 'l27'"),
        ("lxc", {"tty": 7}, [], "tty must be 0 to 6, got 7"),
        ("qemu", {"description": "x" * 8193}, [], "description must be at most 8192 characters long, got 8193"),
        ("qemu", {"serial0": "tcp:1"}, [], "serial0 must look like the pattern"),
        ("qemu", {"memory": "1.5M"}, [], "memory .* is not a whole number of MiB"),
        ("qemu", {"memory": 8}, [], "memory must be at least 16, got 8"),
        ("lxc", {"swap": -1}, [], "swap must be"),
        ("qemu", {"name": {"a"}}, [], "name must be a string"),
        ("qemu", {"cores": None}, [], "config: cores has no value: list the key in absent"),
        # dicts and lists where they do not belong
        ("qemu", {"cores": {"value": 2}}, [], "config: cores takes a single value, not a dict of sub-keys"),
        ("qemu", {"ostype": ["l26"]}, [], "config: ostype takes a single value, not a list"),
        ("qemu", {"net0": ["virtio"]}, [], "config: net0 takes a single value, not a list"),
        ("qemu", {"net0": True}, [], "net0 must be a property string or a dict of sub-keys"),
        ("qemu", {"vga": False}, [], "vga must be a property string or a dict of sub-keys"),
        # unknown sub-keys, sub-key values
        ("qemu", {"net0": {"bridg": "vmbr0"}}, [], "config: net0 has no sub-key 'bridg'; did you mean bridge?"),
        ("qemu", {"net0": {"storage": "x"}}, [], "net0 has no sub-key 'storage'"),  # only volumes take storage
        ("qemu", {"net0": {"tag": 5000}}, [], "net0 tag must be 1 to 4094, got 5000"),
        ("qemu", {"net0": {"tag": "x"}}, [], "net0 tag must be an integer"),
        ("qemu", {"net0": {"firewall": "perhaps"}}, [], "net0 firewall must be a boolean"),
        ("qemu", {"net0": {"model": "virtio2"}}, [], "net0 model must be one of"),
        ("qemu", {"net0": {"bridge": {"a": 1}}}, [], "net0 bridge must be a single value, not a dict"),
        ("qemu", {"net0": {"bridge": ["a"]}}, [], "net0 bridge must be a single value, not a list"),
        ("qemu", {"net0": "virtio,tag=0"}, [], "net0 tag must be 1 to 4094, got 0"),
        ("qemu", {"net0": "virtio,tag=1,tag=2"}, [], "option 'tag' given twice"),
        ("qemu", {"scsi1": {"size": "10G", "iothread": "x"}}, [], "scsi1 iothread must be a boolean"),
        ("lxc", {"mp0": {"mp": "/srv", "backup": "sometimes"}}, [], "mp0 backup must be a boolean"),
        # smuggled separators and control characters
        (
            "qemu",
            {"net0": {"bridge": "vmbr0,firewall=1"}},
            [],
            "net0 bridge 'vmbr0,firewall=1' must not contain a comma",
        ),
        ("qemu", {"net0": {"bridge": "a=b"}}, [], "must not contain '='"),
        ("qemu", {"net0": {"bridge": "vmbr0\n"}}, [], "must not contain control characters"),
        ("qemu", {"boot": ["scsi0;net0"]}, [], "boot order item 'scsi0;net0' must not contain ';'"),
        ("qemu", {"boot": ["scsi0,net0"]}, [], "must not contain a comma"),
        ("qemu", {"net0": {"trunks": [10, "x"]}}, [], "net0 trunks must look like 10;20;30 or 100-110, got .10;x."),
        ("lxc", {"rootfs": {"mountoptions": ["noatime", "sync"]}}, [], "rootfs mountoptions must look like"),
        ("qemu", {"name": "web\nlock: backup"}, [], "config: name .* must not contain control characters"),
        ("qemu", {"net0": "virtio,bridge=vmbr0\nlock: backup"}, [], "net0 .* must not contain control characters"),
        ("qemu", {"description": "a\x00b"}, [], "description .* must not contain control characters"),
        ("qemu", {"ciuser": "root\r"}, [], "must not contain control characters"),
        # list keys: each item
        ("qemu", {"tags": ["a b"]}, [], "tags item 'a b' must not contain spaces"),
        ("qemu", {"tags": ["-x"]}, [], "tag '-x' must start with a letter, digit or _"),
        ("qemu", {"tags": "ok bad!"}, [], "tag 'bad!' must start"),
        ("qemu", {"tags": [""]}, [], "tags items must be non-empty strings"),
        ("qemu", {"tags": [1]}, [], "tags items must be non-empty strings"),
        ("qemu", {"nameserver": ["1.1.1.1/24"]}, [], "nameserver '1.1.1.1/24' is not an IP address or a DNS name"),
        ("lxc", {"nameserver": ["1.1.1.x"]}, [], "nameserver '1.1.1.x' is not an IP address$"),
        ("qemu", {"nameserver": ["dns_1"]}, [], "nameserver 'dns_1' is not an IP address or a DNS name"),
        ("lxc", {"nameserver": ["fe80::1%"]}, [], "nameserver 'fe80::1%' names no interface"),
        ("lxc", {"nameserver": ["10.0.0.1%eth0"]}, [], "nameserver '10.0.0.1%eth0' is not an IP address"),
        ("lxc", {"nameserver": "1.1.1.1 dns.example"}, [], "nameserver 'dns.example' is not an IP address"),
        ("qemu", {"searchdomain": ["a;b"]}, [], "searchdomain item 'a;b' must not contain"),
        ("qemu", {"sshkeys": ["ssh-rsa AAA\x07"]}, [], "sshkeys .* must not contain control characters"),
        # IP settings (pve-common pve_verify_ipv4_config / pve_verify_ipv6_config, gw/gw6 addresses)
        (
            "qemu",
            {"ipconfig0": {"ip": "10.0.0.2"}},
            [],
            "ipconfig0 ip must be dhcp or manual or an IPv4 address/prefix",
        ),
        ("qemu", {"ipconfig0": {"ip": "2001:db8::2/64"}}, [], "ipconfig0 ip must be dhcp or manual or an IPv4"),
        ("qemu", {"ipconfig1": "ip6=dhcp6"}, [], "ipconfig1 ip6 must be auto or dhcp or manual or an IPv6"),
        ("qemu", {"ipconfig0": "ip=dhcp,gw=10.0.0.300"}, [], "ipconfig0 gw must be an IPv4 address, got '10.0.0.300'"),
        ("lxc", {"net0": {"gw6": "10.0.0.1"}}, [], "net0 gw6 must be an IPv6 address"),
        # a new volume's storage and size
        ("qemu", {"scsi1": {"storage": "l", "size": "10G"}}, [], "scsi1 storage must be a storage ID"),
        ("qemu", {"scsi1": {"storage": "local lvm", "size": "10G"}}, [], "scsi1 storage must be a storage ID"),
        ("qemu", {"scsi1": {"storage": 5, "size": "10G"}}, [], "scsi1 storage must be a storage ID"),
        ("lxc", {"mp0": {"storage": "local-lvm", "size": "-8G"}}, [], "mp0 size must be a size such as 32G"),
        ("lxc", {"rootfs": {"size": "0"}}, [], "rootfs size must be positive"),
        # DNS names (pve-common pve_verify_dns_name)
        ("qemu", {"name": "web_01"}, [], "config: name 'web_01' is not a DNS name"),
        ("qemu", {"name": "web-"}, [], "config: name 'web-' is not a DNS name"),
        ("lxc", {"hostname": "a..b"}, [], "config: hostname 'a..b' is not a DNS name"),
        ("lxc", {"searchdomain": ["ok.example", "bad_domain"]}, [], "searchdomain 'bad_domain' is not a DNS name"),
        ("qemu", {"hotplug": "disk,floppy"}, [], "hotplug feature 'floppy' must be one of network, disk"),
        ("qemu", {"hotplug": ["usb", "tablet"]}, [], "hotplug feature 'tablet'"),
        ("qemu", {"affinity": "3-1"}, [], "affinity item '3-1' must be a CPU number or a rising range"),
        ("qemu", {"affinity": "0-3,x"}, [], "affinity item 'x'"),
        ("qemu", {"vmgenid": "not-a-uuid"}, [], "vmgenid must look like"),
        ("qemu", {"smbios1": {"uuid": "a=b"}}, [], "smbios1 uuid 'a=b' must not contain '='"),  # only Base64 fields
    ],
)
def test_refused(kind, config, absent, message):
    with pytest.raises(InvalidRequest, match=message):
        ck.check_keys(kind, config, absent)


def test_absent_may_name_unused_slots_and_volumes():
    ck.check_keys("qemu", {}, ["unused0", "scsi1", "ide2", "efidisk0"])
    ck.check_keys("lxc", {}, ["mp0", "unused1", "dev0"])


def test_config_must_be_a_dict():
    with pytest.raises(InvalidRequest, match="config must be a dict"):
        ck.check_keys("qemu", ["cores"], [])


def test_closest_key_spells_out_numbered_keys():
    assert ck.closest_key("qemu", "scsi40") == "scsi4"
    assert ck.closest_key("lxc", "rootf") == "rootfs"
    assert ck.closest_key("qemu", "diges") != "digest"  # a refused key is never suggested
    assert (
        "unused0" in ck.known_keys("qemu") and "net31" in ck.known_keys("qemu") and "net32" not in ck.known_keys("qemu")
    )


@pytest.mark.parametrize(
    "schema_type, value, expected",
    [
        ("integer", "4", 4),
        ("integer", " 12 ", 12),
        ("integer", 4, 4),
        ("number", "2.5", 2.5),
        ("number", 2, 2),
        ("boolean", True, True),
        ("boolean", "on", True),
        ("boolean", "YES", True),
        ("boolean", 1, True),
        ("boolean", "0", False),
        ("boolean", "off", False),
        ("boolean", False, False),
        ("string", 5, "5"),
        ("string", "x", "x"),
    ],
)
def test_typed_value(schema_type, value, expected):
    assert ck.typed_value("k", schema_type, value) == expected


@pytest.mark.parametrize(
    "kind, key, value, mib",
    [
        ("qemu", "memory", "4G", 4096),
        ("qemu", "memory", 2048, 2048),
        ("qemu", "memory", "current=1024", 1024),
        ("qemu", "balloon", 0, 0),
        ("lxc", "swap", "512M", 512),
        ("lxc", "memory", "1G", 1024),
    ],
)
def test_mib_value(kind, key, value, mib):
    assert ck.mib_value(kind, key, value) == mib
