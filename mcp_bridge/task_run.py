"""What Bridge.call tells a task it runs in (tasks.py), through a context variable; outside a task, nothing.

A call made as a task runs the same path as a plain call (authorisation, confirmation, per-guest lock, audit);
these hooks only let the task follow it:

- `checked()`: the call passed every check and confirmation and is about to wait for its guest's lock and run;
  the client gets its task handle now (a refused call is answered as a plain tools/call result instead).
- `track(cancel)` / `untrack`: the stop events of the call's module runs (the run's process tree is stopped
  when one is set, runner.py); tasks/cancel sets them. A run that starts after the cancel is not started.
- `progress(...)`: progress goes into the task's status message (the spec sends no progress notifications for
  tasks; the request that carried the progress token is answered already).
- `reread(vmid, state)`: what a stopped run left on its guest, re-read by the bridge (Bridge.reread).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import anyio


@dataclass
class TaskRun:
    """The state of one task's call as the bridge reports it. `on_change`: called when the message changes."""

    task_id: str = ""
    on_change: Callable[[str], None] = lambda message: None
    decided: anyio.Event = field(default_factory=anyio.Event)  # checked, or the call ended before that
    is_checked: bool = False
    cancelled: bool = False
    runs: set[threading.Event] = field(default_factory=set)
    rereads: dict[int, dict[str, Any]] = field(default_factory=dict)

    def cancel(self) -> None:
        self.cancelled = True
        for event in list(self.runs):
            event.set()


CURRENT: ContextVar[TaskRun | None] = ContextVar("pve_config_task_run", default=None)


def checked() -> None:
    run = CURRENT.get()
    if run is not None:
        run.is_checked = True
        run.decided.set()


def audit_fields() -> dict[str, str]:
    """What the call's audit line adds: the task id, once the call became a task."""
    run = CURRENT.get()
    return {"task": run.task_id} if run is not None and run.is_checked else {}


def cancelled() -> bool:
    """Whether the task this call runs in was cancelled (then no new run starts)."""
    run = CURRENT.get()
    return run is not None and run.cancelled


def track(cancel: threading.Event) -> None:
    run = CURRENT.get()
    if run is not None:
        run.runs.add(cancel)
        if run.cancelled:
            cancel.set()


def untrack(cancel: threading.Event) -> None:
    run = CURRENT.get()
    if run is not None:
        run.runs.discard(cancel)


async def progress(
    send: Callable[[float, float | None, str], Awaitable[None]], value: float, total: float | None, message: str
) -> None:
    """A progress report: the task's status message in a task, else `send` (a progress notification)."""
    run = CURRENT.get()
    if run is None:
        await send(value, total, message)
        return
    shown = f"{message} ({value:.0f}/{total:.0f})" if total else message
    run.on_change(shown)


def reread(vmid: int, state: dict[str, Any]) -> None:
    run = CURRENT.get()
    if run is not None:
        run.rereads[vmid] = state
