# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting: for UPID tasks to end, and bounded backoff while a guest is locked.

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

import re
import time

from ansible_collections.pve.config.plugins.module_utils.client import error_for_message
from ansible_collections.pve.config.plugins.module_utils.errors import ApiError, TaskFailed, TaskTimeout

WARNINGS = re.compile(r"^WARNINGS: \d+$")
# pve-common src/PVE/UPID.pm decode
UPID = re.compile(
    r"^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?):[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}"
    r":[^:\s/]+:[^:\s/]*:[^:\s/]+:\Z"
)
LOG_TAIL = 10


def is_upid(value):
    return isinstance(value, str) and value.startswith("UPID:")


def task_succeeded(exitstatus):
    """``OK`` and ``WARNINGS: n`` are success; anything else (an error message) is failure."""
    return exitstatus == "OK" or bool(WARNINGS.match(exitstatus or ""))


def upid_node(upid):
    """The node that runs a task: the second field of ``UPID:node:pid:pstart:starttime:type:id:user:``.

    The UPID comes from the server and goes into the task status path, so it must have the form that
    pve-common src/PVE/UPID.pm ``decode`` accepts.
    """
    match = UPID.match(upid)
    if not match:
        raise ApiError("Proxmox answered a task id that is not a UPID: %r" % upid[:200])
    return match.group(1)


class Clock(object):
    """Time as the waits see it: a monotonic ``now()`` and ``sleep(seconds)``. Tests pass a fake one."""

    def now(self):
        return time.monotonic()

    def sleep(self, seconds):
        time.sleep(seconds)


class Backoff(object):
    """Sleeps 0.2s, 0.4s, ... up to ``cap`` seconds, until ``timeout`` seconds have passed in total."""

    def __init__(self, timeout, first=0.2, cap=2.0, clock=None):
        self.clock = clock or Clock()
        self.deadline = self.clock.now() + timeout
        self.delay = first
        self.cap = cap

    def wait(self):
        """Sleep once; return False (without sleeping) when the time is up."""
        left = self.deadline - self.clock.now()
        if left <= 0:
            return False
        self.clock.sleep(min(self.delay, left))
        self.delay = min(self.delay * 2, self.cap)
        return True


def wait_task(api, upid, timeout=300, what="task", clock=None):
    """Poll ``GET /nodes/{node}/tasks/{upid}/status`` until the task stops; return its status.

    Raises ``TaskFailed`` with the last lines of the task log when the exit status is an error, or when the
    task is still running after ``timeout`` seconds.
    """
    node = upid_node(upid)
    path = "nodes/%s/tasks/%s" % (node, upid)
    backoff = Backoff(timeout, first=0.1, cap=1.0, clock=clock)
    while True:
        status = api.get(path + "/status")
        if status.get("status") == "stopped":
            break
        if not backoff.wait():
            raise TaskTimeout("%s %s still running after %ss" % (what, upid, timeout), task=upid)
    exitstatus = status.get("exitstatus")
    if task_succeeded(exitstatus):
        return status
    known = error_for_message(exitstatus or "", task=upid)
    if known:  # stale digest or lock checked inside the task: the caller re-reads and retries
        raise known
    log = api.get(path + "/log", start=0, limit=500) or []
    tail = [line.get("t", "") for line in log][-LOG_TAIL:]
    raise TaskFailed(
        "%s %s failed: %s%s" % (what, upid, exitstatus, (" | log: " + " / ".join(tail)) if tail else ""),
        task=upid,
        task_log=tail,
    )
