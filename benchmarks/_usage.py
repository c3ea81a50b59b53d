"""CPU and memory of a process tree (an ``ansible-playbook`` run with its forks and module processes), from /proc
and ``wait4``: no psutil needed.

- CPU seconds: user + system time of the process and every descendant it waited for (``os.wait4``'s rusage;
  Ansible waits for its forks, the forks for their module processes), so every Ansible process is counted.
- Peak memory: the largest sum of the proportional set sizes (PSS: shared pages split between the processes that
  share them) of the whole tree seen by a sampler (every ``interval`` seconds), and the largest RSS of a single
  process (``ru_maxrss``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Usage:
    rc: int
    seconds: float
    cpu_s: float
    peak_tree_pss_mib: float
    max_process_rss_mib: float
    peak_processes: int


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state, 1 the parent pid)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _pss_bytes(pid: int) -> int:
    """Proportional set size (``Pss`` of /proc/PID/smaps_rollup): pages shared between Ansible's forks count once
    in the tree's sum, not once per process as RSS would; RSS when the kernel has no smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one live process so far (0 when it is gone)."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(
    cmd: list[str], *, env: dict[str, str], cwd: str | Path, stdout, stderr, timeout: float, interval=0.25
) -> Usage:
    """Run ``cmd`` to its end (killed after ``timeout`` s) while sampling its tree's memory."""
    started = time.perf_counter()
    # its own process group: on timeout or interruption the whole tree (forks, modules) is stopped
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout, stderr=stderr, start_new_session=True)
    peak = {"pss": 0, "n": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            pids = tree(proc.pid)
            peak["pss"] = max(peak["pss"], sum(_pss_bytes(p) for p in pids))
            peak["n"] = max(peak["n"], len(pids))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, _kill_group, (proc.pid,))
    timer.start()
    try:
        _pid, status, rusage = os.wait4(proc.pid, 0)
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        timer.cancel()
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Usage(
        rc=proc.returncode,
        seconds=seconds,
        cpu_s=rusage.ru_utime + rusage.ru_stime,
        peak_tree_pss_mib=peak["pss"] / 2**20,
        max_process_rss_mib=rusage.ru_maxrss / 1024,
        peak_processes=peak["n"],
    )
