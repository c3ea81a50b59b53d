"""module_utils/disk.py as tables: slot parsing, first free slot, what a slot holds."""

import pytest

from ansible_collections.pve.config.plugins.module_utils import disk
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest


@pytest.mark.parametrize(
    "slot,expected",
    [
        ("scsi0", ("scsi", 0)),
        ("scsi30", ("scsi", 30)),
        ("SATA5", ("sata", 5)),
        (" ide3 ", ("ide", 3)),
        ("virtio15", ("virtio", 15)),
    ],
)
def test_parse_slot(slot, expected):
    assert disk.parse_slot(slot) == expected


@pytest.mark.parametrize(
    "slot,message",
    [
        ("scsi31", "out of range: the scsi bus has slots scsi0 to scsi30"),
        ("ide4", "out of range: the ide bus has slots ide0 to ide3"),
        ("sata6", "out of range: the sata bus has slots sata0 to sata5"),
        ("virtio16", "out of range: the virtio bus has slots virtio0 to virtio15"),
        ("nvme0", "is not a disk slot"),
        ("unused0", "is not a disk slot"),
        ("efidisk0", "is not a disk slot"),
        ("scsi", "is not a disk slot"),
        ("", "is not a disk slot"),
    ],
)
def test_parse_slot_errors(slot, message):
    with pytest.raises(InvalidRequest) as exc:
        disk.parse_slot(slot)
    assert message in exc.value.msg and "nothing was changed" not in exc.value.msg  # the outcome is outcome.tell's


@pytest.mark.parametrize(
    "bus,configs,expected",
    [
        ("scsi", [{}], "scsi0"),
        ("scsi", [{"scsi0": "x", "scsi2": "x"}], "scsi1"),
        ("scsi", [{"scsi0": "x"}, {"scsi1": "x"}], "scsi2"),  # a slot still in the current values counts
        ("ide", [{"ide0": "x", "ide1": "x", "ide2": "none,media=cdrom"}], "ide3"),
        ("virtio", [{"scsi0": "x", "sata0": "x"}], "virtio0"),
    ],
)
def test_first_free_slot(bus, configs, expected):
    assert disk.first_free_slot(bus, *configs) == expected


def test_no_free_slot():
    with pytest.raises(InvalidRequest) as exc:
        disk.first_free_slot("sata", {f"sata{i}": "x" for i in range(6)})
    assert "all 6 sata slots are in use" in exc.value.msg


def test_bus_options_follow_the_schema():
    assert "iothread" in disk.bus_options("scsi") and "iothread" in disk.bus_options("virtio")
    assert "iothread" not in disk.bus_options("sata") and "iothread" not in disk.bus_options("ide")
    assert "ssd" not in disk.bus_options("virtio") and "ssd" in disk.bus_options("sata")


@pytest.mark.parametrize(
    "slot,text,kind",
    [
        ("scsi0", "local-lvm:vm-100-disk-0,iothread=1,size=32G", "disk"),
        ("ide2", "none,media=cdrom", "cdrom"),
        ("ide2", "local:iso/debian-12.iso,media=cdrom,size=628M", "cdrom"),
        ("sata1", "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-1234,size=3726G", "passthrough"),
        ("scsi3", "volume=local-lvm:vm-100-disk-3,size=4G", "disk"),
    ],
)
def test_drive_kind(slot, text, kind):
    assert disk.drive_kind(disk.parse_drive(slot, text)) == kind


@pytest.mark.parametrize(
    "text,fmt",
    [
        ("local-lvm:vm-100-disk-0,size=4G", "raw"),
        ("local:100/vm-100-disk-0.qcow2,size=4G", "qcow2"),
        ("local:100/vm-100-disk-0.vmdk,size=4G", "vmdk"),
        ("local:100/vm-100-disk-0.raw,size=4G", "raw"),
        ("nfs:100/vm-100-disk-0.qcow2,format=raw,size=4G", "raw"),
        ("rbd.pool:vm-100-disk-0,size=4G", "raw"),
    ],
)
def test_volume_format(text, fmt):
    assert disk.volume_format(disk.parse_drive("scsi0", text)) == fmt
