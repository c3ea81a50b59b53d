"""mcp_bridge/progress.py: the run's progress file (created empty, 0600, never an existing one) and the reader that
hands each complete, well-formed line of counts to the bridge."""

from __future__ import annotations

import os
import stat

import pytest

from mcp_bridge.progress import PROGRESS_FILE, FleetCount, ProgressReader, create_progress_file


def test_the_file_is_new_empty_and_private(tmp_path):
    path = create_progress_file(str(tmp_path))
    assert path == str(tmp_path / PROGRESS_FILE)
    assert os.path.getsize(path) == 0 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(FileExistsError):
        create_progress_file(str(tmp_path))


def test_a_planted_symlink_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / PROGRESS_FILE).symlink_to(target)
    with pytest.raises(FileExistsError):
        create_progress_file(str(tmp_path))
    assert not target.exists()


def test_the_reader_hands_on_each_complete_line_once(tmp_path):
    path = create_progress_file(str(tmp_path))
    seen: list[FleetCount] = []
    reader = ProgressReader(path, seen.append)
    reader.poll()
    assert seen == []
    with open(path, "a") as fh:
        fh.write('{"changed": 0, "done": 0, "failed": 0, "total": 3}\n{"changed": 1, "done": 1, "fai')
    reader.poll()
    assert seen == [FleetCount(done=0, total=3, failed=0, changed=0)]
    with open(path, "a") as fh:
        fh.write('led": 0, "total": 3}\n')
    reader.poll()
    reader.poll()
    assert seen[1:] == [FleetCount(done=1, total=3, failed=0, changed=1)]
    assert seen[1].message == "1 of 3 guests done"
    assert FleetCount(done=2, total=3, failed=1, changed=1).message == "2 of 3 guests done, 1 failed"


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[1, 2]",
        '{"done": 1, "total": 2, "failed": 0}',
        '{"done": 1, "total": 2, "failed": 0, "changed": 0, "msg": "x"}',
        '{"done": -1, "total": 2, "failed": 0, "changed": 0}',
        '{"done": true, "total": 2, "failed": 0, "changed": 0}',
        '{"done": "1", "total": 2, "failed": 0, "changed": 0}',
    ],
)
def test_anything_but_four_counts_is_ignored(tmp_path, line):
    path = create_progress_file(str(tmp_path))
    seen: list[FleetCount] = []
    with open(path, "a") as fh:
        fh.write(line + "\n")
    ProgressReader(path, seen.append).poll()
    assert seen == []


def test_a_removed_data_dir_is_no_error(tmp_path):
    seen: list[FleetCount] = []
    ProgressReader(str(tmp_path / "gone" / PROGRESS_FILE), seen.append).poll()
    assert seen == []
