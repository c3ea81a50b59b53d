"""The bridge's tasks (the MCP tasks extension, tasks.py): who created each, its state, and when it is forgotten.

A task lives in the bridge process only: another session of the same principal (a client that reconnected) finds
it, a restarted bridge does not. Only the principal that created a task can see it (access.current_principal's
name); to anyone else it does not exist, exactly as an unknown or expired task id. A task is kept `ttl` seconds
after its call ended (so a client that polls has the whole `ttl` to fetch the result); it is never forgotten
while it still works. Its id is 32 random bytes (the spec: unguessable, it may act as a bearer handle).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


class TaskNotFound(LookupError):
    """No task of this id for this principal: unknown, expired, or another principal's."""


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class TaskRecord:
    """One task: what the tasks/get answer is made of. `result`: the tools/call result (completed), `error`: the
    JSON-RPC error (failed); `meta`: the `_meta` of the answer (a cancelled task's re-read of its guests)."""

    task_id: str
    owner: str
    tool: str
    created: float
    updated: float
    ttl: float
    status: TaskStatus = "working"
    status_message: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    finished: float | None = None

    def expires(self, now: float) -> float:
        """When the record is forgotten: `ttl` after its call ended (while it works: as if it ended `now`)."""
        return (now if self.finished is None else self.finished) + self.ttl

    def ttl_ms(self, now: float) -> int:
        """The retention from creation, as the spec counts it: `ttl` at the start, growing while the call runs."""
        return round((self.expires(now) - self.created) * 1000)

    def wire(self, now: float) -> dict[str, Any]:
        """The Task shape (camelCase) with its status's payload: `result` once completed, `error` once failed."""
        task: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": iso(self.created),
            "lastUpdatedAt": iso(self.updated),
            "ttlMs": self.ttl_ms(now),
        }
        if self.status_message is not None:
            task["statusMessage"] = self.status_message
        if self.status == "completed" and self.result is not None:
            task["result"] = self.result
        if self.status == "failed" and self.error is not None:
            task["error"] = self.error
        if self.meta:
            task["_meta"] = self.meta
        return task


class TaskStore:
    """The tasks of one bridge process, keyed by id; every read is for a principal and drops expired tasks."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self.clock = clock
        self._tasks: dict[str, TaskRecord] = {}
        self._lock = threading.Lock()

    def create(self, owner: str, tool: str) -> TaskRecord:
        now = self.clock()
        record = TaskRecord(secrets.token_urlsafe(32), owner, tool, now, now, self.ttl)
        with self._lock:
            self._purge(now)
            self._tasks[record.task_id] = record
        return record

    def start(self, record: TaskRecord) -> None:
        """The task begins now (its handle is sent): its createdAt, and so its ttl, count from here, not from the
        checks the call passed before."""
        record.created = record.updated = self.clock()

    def get(self, task_id: str, owner: str) -> TaskRecord:
        with self._lock:
            self._purge(self.clock())
            record = self._tasks.get(task_id)
        if record is None or not secrets.compare_digest(record.owner.encode(), owner.encode()):
            raise TaskNotFound(task_id)
        return record

    def discard(self, record: TaskRecord) -> None:
        with self._lock:
            self._tasks.pop(record.task_id, None)

    def update(self, record: TaskRecord, **changes: Any) -> None:
        """Change a task's state (status, message, result...) and its lastUpdatedAt; a finished task stays so."""
        if record.status in TERMINAL:
            return
        now = self.clock()
        for name, value in changes.items():
            setattr(record, name, value)
        record.updated = now
        if record.status in TERMINAL:
            record.finished = now

    def _purge(self, now: float) -> None:
        for task_id in [i for i, r in self._tasks.items() if r.finished is not None and r.expires(now) <= now]:
            del self._tasks[task_id]

    def __len__(self) -> int:
        return len(self._tasks)
