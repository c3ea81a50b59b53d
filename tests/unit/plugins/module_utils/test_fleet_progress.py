"""module_utils/fleet_progress.py: the live count a fleet run appends to the file its caller names, and the run
without a listener (no variable, a missing file, a symlink, a reader gone)."""

import json
import os

import pytest
from fake_cluster import FakeCluster, vm
from harness import requests_made

from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.fleet import apply_fleet
from ansible_collections.pve.config.plugins.module_utils.fleet_progress import (
    PROGRESS_ENV,
    Progress,
    progress_channel,
)


def plan_memory(ctx):
    """Memory to 4096 MiB unless it is already (the plan these runs count)."""
    if ctx.config.get("memory") == "4096":
        return Change()
    return Change(set={"memory": "4096"}, summary="set memory")


def params(**kwargs):
    return dict(dict(guests=None, select=None, config=None, absent=None, lock_timeout=0, task_timeout=10), **kwargs)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_no_variable_no_channel():
    assert progress_channel({}) is None
    assert progress_channel({PROGRESS_ENV: ""}) is None


def test_a_missing_file_is_not_created_and_a_symlink_is_not_followed(tmp_path):
    missing = tmp_path / "progress"
    assert progress_channel({PROGRESS_ENV: str(missing)}) is None
    assert not missing.exists()
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "link").symlink_to(target)
    assert progress_channel({PROGRESS_ENV: str(tmp_path / "link")}) is None
    assert target.read_text() == ""


def test_each_guest_adds_one_line_with_increasing_counts(api, pve, tmp_path):
    FakeCluster(api, [vm(100), vm(101, "pve2"), vm(102, memory="4096"), vm(200, kind="lxc")])
    path = tmp_path / "progress"
    path.write_text("")
    progress = progress_channel({PROGRESS_ENV: str(path)})
    summary, results = apply_fleet(
        pve, params(select={"types": ["qemu", "lxc"]}, config={"memory": 4096}, parallel=2), plan_memory,
        progress=progress,
    )  # fmt: skip
    progress.close()
    written = lines(path)
    assert written[0] == dict(done=0, total=4, failed=0, changed=0)
    assert [line["done"] for line in written] == [0, 1, 2, 3, 4]
    assert {line["total"] for line in written} == {4}
    changed = [line["changed"] for line in written]
    assert changed == sorted(changed) and changed[-1] == 3 == len(summary.changed)
    assert written[-1]["failed"] == 0
    assert all(set(line) == {"done", "total", "failed", "changed"} for line in written), "counts only"


def test_entries_no_guest_answers_to_are_counted_failed_from_the_start(api, pve, tmp_path):
    FakeCluster(api, [vm(100)])
    path = tmp_path / "progress"
    path.write_text("")
    progress = progress_channel({PROGRESS_ENV: str(path)})
    entries = [dict(vmid=999, config={"memory": 1}), dict(vmid=100, config={"memory": 4096})]
    apply_fleet(pve, params(guests=entries), plan_memory, progress=progress)
    assert lines(path) == [
        dict(done=1, total=2, failed=1, changed=0),
        dict(done=2, total=2, failed=1, changed=1),
    ]


def test_a_reader_gone_ends_the_reporting_not_the_run(api, pve, tmp_path):
    cluster = FakeCluster(api, [vm(100), vm(101)])
    read, write = os.pipe()
    os.close(read)  # writing now raises BrokenPipeError (SIGPIPE is ignored by Python)
    progress = Progress(os.fdopen(write, "w"))
    summary, results = apply_fleet(pve, params(select={"types": ["qemu"]}, config={"memory": 4096}), plan_memory,
                                   progress=progress)  # fmt: skip
    assert [r["changed"] for r in results] == [True, True] and not summary.failed
    assert progress.stream is None and progress.done == 2
    assert cluster.guests[101]["config"]["memory"] == "4096"


def test_bad_input_refused_before_the_guests_are_chosen_writes_no_line(api, pve, tmp_path):
    FakeCluster(api, [vm(100)])
    path = tmp_path / "progress"
    path.write_text("")
    progress = progress_channel({PROGRESS_ENV: str(path)})
    with pytest.raises(InvalidRequest, match="select needs config or absent"):
        apply_fleet(pve, params(select={"tags": ["web"]}), plan_memory, progress=progress)
    assert path.read_text() == "" and requests_made(api) == []
