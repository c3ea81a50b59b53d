"""outcome: the one wording of what a failure did to the guest (issues 13.4, 9.3, 9.4)."""

from pathlib import Path

import pytest

from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import ApiError, InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import GuestState
from ansible_collections.pve.config.plugins.module_utils.outcome import FailedWrite, describe, tell


def state(current, pending=None):
    pending = pending or {}
    config = {k: v for k, v in current.items() if pending.get(k, "") is not None}
    config.update({k: v for k, v in pending.items() if v is not None})
    return GuestState(config, dict(current), dict(pending), "d")


BEFORE = state({"memory": "2048", "scsi0": "local-lvm:vm-100-disk-0,size=32G", "net0": "virtio=BC:24:11:00:01:00"})


@pytest.mark.parametrize(
    "after, words",
    [
        (BEFORE, ""),
        (state(dict(BEFORE.current, memory="4096")), "already applied: set memory"),
        (state({k: v for k, v in BEFORE.current.items() if k != "net0"}), "already applied: delete net0"),
        (state(BEFORE.current, {"net0": None}), "left pending: net0 (delete)"),
        (
            state(BEFORE.current, {"scsi1": "file=local-lvm:vm-100-disk-3,size=4G"}),
            "left pending: scsi1; new volume left behind: local-lvm:vm-100-disk-3 (scsi1)",
        ),
        (
            state(dict(BEFORE.current, unused0="local-lvm:vm-100-disk-4")),
            "already applied: set unused0; new volume left behind: local-lvm:vm-100-disk-4 (unused0)",
        ),
        (state(dict(BEFORE.current, scsi1="local-lvm:vm-100-disk-5,size=4G")), "already applied: set scsi1"),
        (state(dict(BEFORE.current, ide2="none,media=cdrom")), "already applied: set ide2"),
    ],
)
def test_describe_names_what_the_re_read_shows(after, words):
    assert describe(BEFORE, after) == words


def test_nothing_was_changed_only_without_a_write_or_with_proof():
    assert tell(ApiError("boom"), []).msg == "boom; nothing was changed"
    proved = tell(ApiError("boom"), [], BEFORE, FailedWrite(False, BEFORE, BEFORE))
    assert proved.msg == "boom; nothing was changed" and proved.details["changed"] is False
    accepted = tell(ApiError("boom"), [], BEFORE, FailedWrite(True, BEFORE, BEFORE))
    assert accepted.msg == "boom; the write was accepted; its outcome: no change to the config"


def test_an_unknown_outcome_of_a_write_that_was_not_accepted_is_not_nothing():
    exc = tell(ApiError("connection reset"), [], BEFORE, FailedWrite(False, BEFORE, reread_error="timed out"))
    assert exc.msg == (
        "connection reset; the write may have reached Proxmox; its outcome is unknown (the re-read failed too: timed out)"
    )
    assert exc.details["changed"] is False


def test_the_outcome_is_told_once():
    exc = InvalidRequest("tag must be 1 to 4094, got 0")
    tell(exc, [Change(set={"memory": "4096"})])
    assert exc.msg == "tag must be 1 to 4094, got 0; already applied: set memory"
    assert tell(exc, []).msg == exc.msg  # a second tell does not touch it
    assert exc.args == (exc.msg,)


def test_only_outcome_says_nothing_was_changed():
    """One owner of the wording (issue 13.4): the errors raised anywhere else state only what is wrong."""
    plugins = Path(__file__).resolve().parents[4] / "plugins"
    sayers = sorted(
        str(path.relative_to(plugins))
        for path in plugins.rglob("*.py")
        if "nothing was changed" in path.read_text(encoding="utf-8")
    )
    assert sayers == ["module_utils/outcome.py"]
