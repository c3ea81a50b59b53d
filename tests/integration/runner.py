"""Run playbooks in real ``ansible-playbook`` processes through ansible-runner and read their results.

Every run gets a fresh ``private_data_dir`` (removed afterwards), so nothing of one run leaks into the next
(ansible-runner does not rewrite existing env files). The connection travels only in ``envvars`` as the
modules' ``PROXMOX_*`` environment fallbacks; the playbooks themselves carry no credentials.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ansible_runner
import yaml
from collection_path import REPO, collection_root

VENV_BIN = str(Path(sys.executable).parent)
RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
INVENTORY = {
    "all": {
        "hosts": {
            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
}


def ansible_env(connection: dict[str, str]) -> dict[str, str]:
    """Environment of an ``ansible-playbook`` run: the PROXMOX_* connection, the collection, the venv first.

    ansible-runner adds these to the caller's environment (conftest.py drops inherited PROXMOX_* variables).
    """
    env = dict(connection)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collection_root()),
        PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    return env


@dataclass
class TaskResult:
    task: str
    status: str  # ok | failed | skipped | unreachable
    res: dict[str, Any]
    start: float = 0.0  # epoch seconds: when the task started and ended on the host
    end: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "unreachable")

    @property
    def changed(self) -> bool:
        return bool(self.res.get("changed"))

    @property
    def msg(self) -> str:
        return str(self.res.get("msg", ""))

    def __getitem__(self, key: str) -> Any:
        return self.res[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.res.get(key, default)

    def requests(self, log: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries of a simulator request log that this task sent (tasks run one after the other)."""
        return [entry for entry in log if self.start <= entry["time"] <= self.end]

    def calls(self, log: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """(METHOD, path) of every request this task sent."""
        return [(entry["method"], entry["path"]) for entry in self.requests(log)]

    def writes(self, log: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [call for call in self.calls(log) if call[0] != "GET"]


@dataclass
class PlaybookRun:
    rc: int
    status: str
    stdout: str
    results: list[TaskResult] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, task: str) -> TaskResult:
        """The one result of the task named ``task`` (tasks in these tests run on one host, once)."""
        found = [r for r in self.results if r.task == task]
        ran = [r.task for r in self.results]
        assert len(found) == 1, (
            f"expected one result of task {task!r}, got {len(found)}; tasks run: {ran}\n{self.stdout[-3000:]}"
        )
        return found[0]

    def changed_count(self) -> int:
        return sum(self.stats.get("changed", {}).values())

    def failed_count(self) -> int:
        return sum(self.stats.get("failures", {}).values()) + sum(self.stats.get("dark", {}).values())

    def describe(self) -> str:
        return f"rc={self.rc} status={self.status}\n{self.stdout[-4000:]}"


def as_text(value: Any) -> Any:
    """Config values with numbers as text: Proxmox answers ``cores`` as 4 where the request sent "4"."""
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, bool) or value is None:
        return value
    return str(value)


def _epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0


def run_playbook(
    playbook: str | list | Path,
    connection: dict[str, str],
    *,
    check: bool = False,
    diff: bool = True,
    extravars: dict[str, Any] | None = None,
    timeout: int = 180,
    inventory: str | Path | None = None,
) -> PlaybookRun:
    """Run ``playbook`` (a path, YAML text or a list of plays) in ``ansible-playbook``; return its results.
    ``inventory``: an inventory file (relative to the repository) instead of localhost alone."""
    if isinstance(playbook, str) and "\n" in playbook:
        playbook = yaml.safe_load(playbook)
    elif isinstance(playbook, (str, Path)):
        playbook = str(Path(playbook) if Path(playbook).is_absolute() else REPO / playbook)
    results: list[TaskResult] = []
    stats: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> bool:
        kind = event.get("event")
        data = event.get("event_data", {})
        if kind in RESULT_EVENTS:
            results.append(
                TaskResult(
                    data.get("task", ""),
                    RESULT_EVENTS[kind],
                    data.get("res", {}),
                    _epoch(data.get("start")),
                    _epoch(data.get("end")),
                )
            )
        elif kind == "playbook_on_stats":
            stats.update(
                {k: data.get(k) or {} for k in ("ok", "changed", "failures", "dark", "skipped", "ignored", "rescued")}
            )
        return True

    cmdline = " ".join(flag for flag, on in (("--check", check), ("--diff", diff)) if on)
    private = tempfile.mkdtemp(prefix="pve-config-it-")
    try:
        run = ansible_runner.run(
            private_data_dir=private,
            playbook=playbook,
            inventory=str(REPO / inventory) if inventory else INVENTORY,
            envvars=ansible_env(connection),
            extravars=extravars or {},
            cmdline=cmdline or None,
            event_handler=on_event,
            suppress_env_files=True,
            quiet=True,
            timeout=timeout,
        )
        stdout = run.stdout.read()
        return PlaybookRun(run.rc, run.status, stdout, results, stats)
    finally:
        shutil.rmtree(private, ignore_errors=True)


NOTHING = "nothing was changed"


def expect_clean_failures(run: PlaybookRun, expected: dict[str, str]) -> None:
    """Each task in ``expected`` failed, its message names ``expected[task]`` and, as design.md (Errors)
    asks when nothing was written, says "nothing was changed"."""
    for task in expected:
        assert run[task].failed, (task, run[task].res)
    unclear = [
        f"{task}: {run[task].msg!r}"
        for task, word in expected.items()
        if word not in run[task].msg or NOTHING not in run[task].msg
    ]
    assert not unclear, f"error messages that do not name the value or lack {NOTHING!r}: {' | '.join(unclear)}"
