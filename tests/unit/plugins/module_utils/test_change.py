"""change.Change: emptiness, key order, same_as, the predicted config and the before/after diff."""

import pytest

from ansible_collections.pve.config.plugins.module_utils.change import Change

CONFIG = {
    "memory": "2048",
    "cores": 2,
    "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
    "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
    "unused0": "local-lvm:vm-100-disk-9",
}
SCSI = {"scsi0": "qemu_scsi"}


@pytest.mark.parametrize(
    "change, empty",
    [
        (Change(), True),
        (Change(result={"disk": "scsi1"}, remember={"slot": "net1"}, summary="nothing"), True),
        (Change(set={"cores": 4}), False),
        (Change(delete=["unused0"]), False),
        (Change(resize={"scsi0": "40G"}), False),
    ],
)
def test_empty(change, empty):
    assert change.empty is empty


@pytest.mark.parametrize(
    "change, keys",
    [
        (Change(set={"memory": "4096", "cores": 4}), ["memory", "cores"]),
        (Change(set={"scsi1": "x"}, delete=["unused0"]), ["scsi1", "unused0"]),
        # each key once: resize first, then set, then delete
        (
            Change(resize={"scsi0": "40G"}, set={"scsi0": "y", "cores": 1}, delete=["scsi0", "net1"]),
            ["scsi0", "cores", "net1"],
        ),
        (Change(set={"net0": "z"}, delete=["net0"]), ["net0"]),
    ],
)
def test_keys(change, keys):
    assert change.keys() == keys


@pytest.mark.parametrize(
    "a, b, same",
    [
        (Change(set={"cores": 4}), Change(set={"cores": 4}), True),
        (Change(set={"cores": 4}), Change(set={"cores": 4}, summary="other words", result={"x": 1}), True),
        (Change(delete=["a", "b"]), Change(delete=["b", "a"]), True),
        (Change(resize={"scsi0": "40G"}), Change(resize={"scsi0": "40G"}), True),
        (Change(set={"cores": 4}), Change(set={"cores": "4"}), False),
        (Change(set={"cores": 4}), Change(set={"cores": 4}, delete=["x"]), False),
        (Change(resize={"scsi0": "40G"}), Change(resize={"scsi0": "50G"}), False),
        (Change(set={"cores": 4}), None, False),
    ],
)
def test_same_as(a, b, same):
    assert a.same_as(b) is same


@pytest.mark.parametrize(
    "change, expected",
    [
        (Change(set={"memory": "4096"}), dict(CONFIG, memory="4096")),
        (Change(set={"balloon": "1024"}), dict(CONFIG, balloon="1024")),
        (Change(delete=["unused0"]), {k: v for k, v in CONFIG.items() if k != "unused0"}),
        (Change(delete=["net5"]), CONFIG),  # deleting what is not there changes nothing
        (
            Change(resize={"scsi0": "40G"}, disk_formats=SCSI),
            dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,iothread=1,size=40G"),
        ),
        (Change(resize={"scsi0": "40G"}), CONFIG),  # without the slot's format the string is left alone
        (Change(resize={"scsi7": "40G"}, disk_formats={"scsi7": "qemu_scsi"}), CONFIG),
        (
            Change(set={"scsi0": "local-lvm:vm-100-disk-0,size=32G"}, delete=["scsi0"]),
            dict(CONFIG, scsi0="local-lvm:vm-100-disk-0,size=32G"),
        ),
    ],
)
def test_predict(change, expected):
    before = dict(CONFIG)
    assert change.predict(before) == expected
    assert before == CONFIG, "predict does not modify the config it is given"


@pytest.mark.parametrize(
    "change, diff",
    [
        (Change(), {"before": {}, "after": {}}),
        (
            Change(set={"memory": "4096", "cores": 4}),
            {"before": {"memory": "2048", "cores": 2}, "after": {"memory": "4096", "cores": 4}},
        ),
        # a new key has no before, a deleted key no after
        (Change(set={"scsi1": "local-lvm:4"}), {"before": {}, "after": {"scsi1": "local-lvm:4"}}),
        (Change(delete=["unused0"]), {"before": {"unused0": "local-lvm:vm-100-disk-9"}, "after": {}}),
        (
            Change(resize={"scsi0": "40G"}, disk_formats=SCSI),
            {
                "before": {"scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G"},
                "after": {"scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=40G"},
            },
        ),
    ],
)
def test_diff(change, diff):
    assert change.diff(CONFIG) == diff
    assert set(change.diff(CONFIG)["before"]) | set(change.diff(CONFIG)["after"]) <= set(change.keys())
