"""The live count of a fleet run: a file in the run's private data dir that the module appends to and only the
bridge reads.

Every run's data dir (0700, removed after the call) gets an empty ``progress.jsonl`` (0600), named to the module by
``PVE_CONFIG_PROGRESS_FILE`` in the run's environment. pve.config.fleet_config appends one JSON line of counts when
it has chosen its guests and one as each guest ends (plugins/module_utils/fleet_progress.py); other modules ignore
the variable. The bridge reads the new complete lines while the run lasts (`ProgressReader.poll`) and turns them
into MCP progress notifications. The lines hold counts only: no secret, nothing of a guest's config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

PROGRESS_ENV = "PVE_CONFIG_PROGRESS_FILE"  # plugins/module_utils/fleet_progress.py reads the same name
PROGRESS_FILE = "progress.jsonl"
MAX_READ = 1 << 16  # bytes read per poll: a line is about 60 bytes


@dataclass(frozen=True)
class FleetCount:
    done: int
    total: int
    failed: int
    changed: int

    @classmethod
    def from_line(cls, line: bytes) -> FleetCount | None:
        """The counts of one line, or None for anything that is not exactly four non-negative integers."""
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict) or set(data) != {"done", "total", "failed", "changed"}:
            return None
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in data.values()):
            return None
        return cls(**data)

    @property
    def message(self) -> str:
        text = f"{self.done} of {self.total} guests done"
        return text + (f", {self.failed} failed" if self.failed else "")


def create_progress_file(data_dir: str) -> str:
    """The empty progress file of a run (0600, never an existing one), and its path for ``PVE_CONFIG_PROGRESS_FILE``."""
    path = os.path.join(data_dir, PROGRESS_FILE)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    return path


class ProgressReader:
    """Reads the lines a run appended since the last poll and hands each valid one to `on_count`."""

    def __init__(self, path: str, on_count: Callable[[FleetCount], None]) -> None:
        self.path = path
        self.on_count = on_count
        self.offset = 0
        self.partial = b""

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read(MAX_READ)
        except OSError:  # the run's data dir is gone
            return
        self.offset += len(chunk)
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        for line in lines:
            count = FleetCount.from_line(line)
            if count is not None:
                self.on_count(count)
