"""Audit log: one JSON line per tool call (time, tool, arguments, changed, outcome, duration).

Arguments never hold credentials (tools take none), and every known secret value is redacted from the whole
record anyway before it is written. The file is created 0600 and appended to.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from .runner import redact

# The outcomes of the lines written in the current context while a call is watched (tool_calls.py: a call that
# failed after its tool started is audited there only when the bridge wrote no line for it).
_WRITTEN: ContextVar[list[str] | None] = ContextVar("audit_lines_written", default=None)


@contextmanager
def lines_written() -> Iterator[list[str]]:
    """Collects the outcome of every line recorded inside the block (also in tasks started from it)."""
    lines: list[str] = []
    token = _WRITTEN.set(lines)
    try:
        yield lines
    finally:
        _WRITTEN.reset(token)


class AuditLog:
    def __init__(self, target: str | os.PathLike[str] | None, *, secrets: Iterable[str] = ()) -> None:
        """`target`: a file path, "-" for stderr, or None / "" / "off" to disable."""
        self.secrets = tuple(s for s in secrets if s)
        self._lock = threading.Lock()
        self._stream: TextIO | None = None
        self.path: Path | None = None
        if target in (None, "", "off"):
            return
        if str(target) == "-":
            self._stream = sys.stderr
            return
        self.path = Path(target).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._stream = os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def record(
        self,
        *,
        tool: str,
        arguments: Mapping[str, Any],
        outcome: str,
        duration: float,
        changed: bool | None = None,
        error: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tool": tool,
            "arguments": dict(arguments),
            "changed": changed,
            "outcome": outcome,
            "duration_ms": round(duration * 1000, 1),
        }
        if error:
            entry["error"] = error
        entry.update(extra)
        entry = redact(entry, self.secrets)
        written = _WRITTEN.get()
        if written is not None:
            written.append(outcome)
        if self._stream is not None:
            line = json.dumps(entry, default=str, sort_keys=False)
            with self._lock:
                self._stream.write(line + "\n")
                self._stream.flush()
        return entry

    def close(self) -> None:
        if self._stream is not None and self._stream is not sys.stderr:
            self._stream.close()
        self._stream = None
