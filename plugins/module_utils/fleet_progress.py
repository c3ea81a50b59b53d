# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live progress of a fleet run for whoever started the module: JSON lines in a file it names.

PRIVATE to the pve.config collection.

Ansible shows a module's output only when it ends (and drops its stderr), so a caller that wants a live count
(the MCP bridge) creates an empty file in a directory only it can read and names it in ``PVE_CONFIG_PROGRESS_FILE``.
The module appends one line per event, flushed at once: ``{"done": 0, "total": N, "failed": F, "changed": 0}`` when
the guests are chosen (``failed``: ``guests`` entries no guest answers to, already done), then one line as each
guest ends. Counts only: no guest config, no message, nothing secret.

The file is opened for appending and never created (``O_NOFOLLOW``: not through a symlink): without the variable, or
when the file is missing or cannot be written, the module runs exactly as without a listener. A failed write ends
the reporting, never the run.
"""

from __future__ import annotations

import json
import os

PROGRESS_ENV = "PVE_CONFIG_PROGRESS_FILE"


def progress_channel(environ=None):
    """The ``Progress`` of the file named by ``PVE_CONFIG_PROGRESS_FILE``, or None (no variable, no such file)."""
    path = (os.environ if environ is None else environ).get(PROGRESS_ENV)
    if not path:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    return Progress(os.fdopen(fd, "w"))


class Progress(object):
    """Counts of a fleet run, each change written as one JSON line to ``stream``."""

    def __init__(self, stream):
        self.stream = stream
        self.total = self.done = self.failed = self.changed = 0

    def start(self, total, failed=0):
        """The guests are chosen: ``total`` of them, ``failed`` already (entries no guest answers to)."""
        self.total, self.done, self.failed = total, failed, failed
        self._write()

    def guest_done(self, result, *_counts):
        """One guest ended with ``result`` (a ``fleet.guest_result``); fits ``run_fleet``'s ``on_done``."""
        self.done += 1
        self.failed += bool(result.get("failed"))
        self.changed += bool(result.get("changed"))
        self._write()

    def _write(self):
        if self.stream is None:
            return
        line = dict(done=self.done, total=self.total, failed=self.failed, changed=self.changed)
        try:
            self.stream.write(json.dumps(line, sort_keys=True) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the reader went away: stop reporting, go on with the run
            self.close()

    def close(self):
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
