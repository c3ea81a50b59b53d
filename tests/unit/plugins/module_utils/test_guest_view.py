"""guest_view: which config keys are disks/NICs of each guest kind, and their parsed (lenient) view."""

import pytest

from ansible_collections.pve.config.plugins.module_utils import guest_view
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest

GIB = 1024**3


@pytest.mark.parametrize(
    "kind, key, fmt",
    [
        ("qemu", "scsi0", "qemu_scsi"),
        ("qemu", "scsi30", "qemu_scsi"),
        ("qemu", "virtio15", "qemu_virtio"),
        ("qemu", "sata5", "qemu_sata"),
        ("qemu", "ide2", "qemu_ide"),
        ("qemu", "efidisk0", "qemu_efidisk"),
        ("qemu", "tpmstate0", "qemu_tpmstate"),
        ("qemu", "unused12", "qemu_unused"),
        ("qemu", "scsihw", None),
        ("qemu", "net0", None),
        ("qemu", "rootfs", None),
        ("qemu", "vmstate", None),
        ("lxc", "rootfs", "lxc_rootfs"),
        ("lxc", "mp0", "lxc_mp"),
        ("lxc", "mp255", "lxc_mp"),
        ("lxc", "unused0", "lxc_unused"),
        ("lxc", "scsi0", None),
        ("lxc", "mpx", None),
    ],
)
def test_disk_format(kind, key, fmt):
    assert guest_view.disk_format(kind, key) == fmt


@pytest.mark.parametrize(
    "kind, key, fmt",
    [("qemu", "net0", "qemu_net"), ("lxc", "net31", "lxc_net"), ("qemu", "netx", None), ("lxc", "hostname", None)],
)
def test_nic_format(kind, key, fmt):
    assert guest_view.nic_format(kind, key) == fmt


@pytest.mark.parametrize(
    "text, fmt, parsed",
    [
        ("local-lvm:vm-1-disk-0,size=8G", "qemu_scsi", {"file": "local-lvm:vm-1-disk-0", "size": "8G"}),
        # sub-keys of a newer Proxmox do not fail a read: kept as they are, in their place
        ("a:1,newkey=5,size=1G", "qemu_scsi", {"file": "a:1", "newkey": "5", "size": "1G"}),
        (
            "virtio=BC:24:11:00:00:01,newopt=1",
            "qemu_net",
            {"model": "virtio", "macaddr": "BC:24:11:00:00:01", "newopt": "1"},
        ),
    ],
)
def test_parsed_keeps_unknown_sub_keys(text, fmt, parsed):
    assert guest_view.parsed("scsi0", text, fmt) == parsed


@pytest.mark.parametrize(
    "text, fmt, words",
    [
        # strings Proxmox's own parser refuses (parse_property_string), so a real config never holds them
        ("a:1,cache=none,cache=writeback", "qemu_scsi", "cannot read scsi0: cannot parse "),
        ("volume=a:1,future", "qemu_scsi", "option 'file' given twice"),
        ("name=eth0,flag", "lxc_net", "'flag' has no key"),
    ],
)
def test_parsed_names_the_key_of_a_string_proxmox_would_not_write(text, fmt, words):
    with pytest.raises(InvalidRequest) as exc:
        guest_view.parsed("scsi0", text, fmt)
    assert words in exc.value.msg


@pytest.mark.parametrize(
    "size, size_bytes",
    [
        ("32G", 32 * GIB),
        ("4M", 4 * 1024**2),
        ("1T", 1024 * GIB),
        ("4096", 4096),
        ("", None),
        (None, None),
        ("huge", None),
    ],
)
def test_size_bytes(size, size_bytes):
    assert guest_view.size_bytes(size) == size_bytes


def test_disks_and_nics_of_a_vm_in_slot_order():
    config = {
        "scsi10": "local-lvm:vm-1-disk-3,size=1G",
        "scsi2": "local-lvm:vm-1-disk-2,size=2G",
        "net10": "e1000=BC:24:11:00:00:0A,bridge=vmbr0",
        "net2": "virtio=BC:24:11:00:00:02,bridge=vmbr0",
        "ide2": "none,media=cdrom",
        "lxc.apparmor.profile": "unconfined",  # odd keys do not disturb the sorting
        "boot": "order=scsi2;net2",
    }
    disks = guest_view.disks(config, "qemu")
    assert list(disks) == ["ide2", "scsi2", "scsi10"]
    assert disks["scsi10"]["size_bytes"] == GIB and "size_bytes" not in disks["ide2"]
    nics = guest_view.nics(config, "qemu")
    assert list(nics) == ["net2", "net10"]
    assert nics["net10"]["model"] == "e1000"


def test_disks_of_a_container():
    config = {"rootfs": "local-lvm:vm-2-disk-0,size=8G", "mp1": "/srv/host,mp=/srv", "hostname": "ct"}
    assert guest_view.disks(config, "lxc") == {
        "mp1": {"volume": "/srv/host", "mp": "/srv"},
        "rootfs": {"volume": "local-lvm:vm-2-disk-0", "size": "8G", "size_bytes": 8 * GIB},
    }
    assert guest_view.nics(config, "lxc") == {}
