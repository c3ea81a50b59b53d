"""Warm runs: ansible-runner runs of a module started before the call they will serve (issue 14).

A call still is exactly one ansible-runner run of its module; what changes is when that run starts. `WarmPool`
keeps, per module, up to `size` runs that have done everything that does not depend on the call: ansible's
start-up, the inventory, the connection, the module's AnsiballZ payload (warm_action/pve_config_mcp_call.py)
and, with the fork server (interpreter.py), a pre-loaded interpreter for the module itself. Each waits, in its
own private data dir (mkdtemp: new, 0700, random name), reading a FIFO the bridge created there (0600, random
name): only the bridge's user can open it, and only the bridge knows where it is. The call writes its validated
arguments there as JSON (data: never templated) and takes the module's result from the run's result event
(``runner_on_ok`` / ``runner_on_failed``), without waiting for ansible to exit. A run serves one call, then ends
and its data dir is removed; nothing of a call reaches another.

The credentials reach a warm run as they reach a cold one (the launcher's prompt, launch.py): never in a file. A
waiting run is stopped and replaced when it is older than `lifetime`, or when what it was started with changed
(the runner's environment and credentials, the collection's files, the policy: `fingerprint`); a call never takes
such a run.

How many runs wait follows the calls: `size` per module, and while a module is being called (within `BUSY` s)
as many as the most calls of it that were in progress at once, at least `size` + 1. Runs ahead of calls start in
the background, `starts` at a time; a call that finds no waiting run and no run starting for it gets one started
for it at once (a warm run started now costs less CPU than a cold run, and is no later: the same ansible start-up,
without the module interpreter's), and waits for it. The pool never holds more than `max_runs` waiting and
starting runs, nor more than the memory available above `min_available_mb` allows (about `RUN_MB` each); under
memory pressure the waiting runs are stopped and calls run cold. A call runs cold (ModuleRunner.run: the reference
path) when no run can be started for it. Each run is handed the module's payload built by an earlier run of the
same collection state (payload.py), so it does not build it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets as secrets_mod
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_runner.runner import Runner

from .interpreter import ForkServer
from .payload import PayloadCache
from .runner import (
    ModuleRunner,
    RunCancelled,
    RunError,
    RunTimeout,
    encode_module_args,
    kill_processes_using,
    read_result,
    stop_launchers_using,
)

ACTION = "pve_config_mcp_call"
ACTION_PLUGINS = str(Path(__file__).with_name("warm_action"))
TICK = 0.05
STOP_GRACE = 5.0  # seconds a stopped run's launcher has to clean up before ansible-runner kills it
CHECK_EVERY = 1.0
START_TIMEOUT = 120.0  # a run not waiting for its call after this long is stopped and replaced
BUSY = 30.0  # a module called within this many seconds keeps runs waiting for as many calls as came at once
DEMAND_GRACE = 2.0  # a call for which no run was started within this long runs cold
END_WAIT = STOP_GRACE + 30.0  # how long a stopped call waits for ansible-runner to end its run
RUN_MB = 80  # memory a waiting run takes (RSS; PSS about 60 MB): the pool starts no more than MemAvailable allows


@dataclass(frozen=True)
class PoolSettings:
    size: int = 1  # waiting runs per module
    lifetime: float = 600.0  # seconds a run may wait for a call (once ready) before it is replaced
    starts: int = 2  # runs starting at the same time
    max_runs: int = 8  # waiting + starting runs in all
    min_available_mb: int = 512  # MemAvailable below which no run is started and the waiting ones are stopped
    fork_server: bool = True


def available_mb() -> int | None:
    """MemAvailable of /proc/meminfo in MiB, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def collection_state(collections_path: Path) -> list[tuple[str, int, int]]:
    """(path, mtime, size) of every file of the pve.config collection the bridge runs: a changed module or
    module_utils file makes the waiting runs (which built their payload from the old files) out of date."""
    root = collections_path / "ansible_collections" / "pve" / "config" / "plugins"
    found = []
    for folder, _dirs, files in os.walk(root, followlinks=True):
        for name in files:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            found.append((os.path.join(folder, name), st.st_mtime_ns, st.st_size))
    return sorted(found)


class WarmRun:
    """One ansible-runner run of `module`, started now, waiting for its call on a private FIFO."""

    def __init__(
        self,
        runner: ModuleRunner,
        module: str,
        fingerprint: bytes,
        fork_socket: str | None,
        shim: str,
        payloads: PayloadCache | None = None,
    ):
        self.runner = runner
        self.module = module
        self.fingerprint = fingerprint
        self.fork_socket = fork_socket
        self.born = time.monotonic()
        self.ready_since: float | None = None
        self.ready = False
        self.ended = threading.Event()
        self._result_seen = threading.Event()
        self._stopped: float | None = None  # when the pool stopped this waiting run
        self._fd: int | None = None
        self._fd_lock = threading.Lock()  # the write end is taken by the call or closed by the ending run, once
        self._call: dict[str, Any] | None = None
        self._state: dict[str, Any] = {"result": None, "stdout": deque(maxlen=20)}
        self.data_dir = tempfile.mkdtemp(prefix="pve-config-mcp-warm-", dir=runner.tmp_root)
        self.channel = os.path.join(self.data_dir, secrets_mod.token_hex(16))
        os.mkfifo(self.channel, 0o600)
        self._payloads = payloads
        action_args = {"module": module, "channel": self.channel}
        if payloads is not None:
            action_args["payload"] = payloads.seed(module, fingerprint, self.data_dir)
        python = None
        if fork_socket is not None:
            python = os.path.join(self.data_dir, "python3")
            fd = os.open(python, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
            with os.fdopen(fd, "w") as fh:
                fh.write(shim)
        config = runner.config(
            self.data_dir,
            ACTION,
            json.dumps(action_args),
            check=False,
            timeout=None,
            python=python,
            envvars={"ANSIBLE_ACTION_PLUGINS": ACTION_PLUGINS, "ANSIBLE_PIPELINING": "True"},
        )
        self._runner = Runner(config, event_handler=self._on_event, cancel_callback=self._cancelled)
        self._thread = threading.Thread(target=self._run, name=f"warm {module}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._runner.run()
        except Exception:  # noqa: BLE001 - ansible-runner itself broke: the run ends without a result
            pass
        finally:
            with self._fd_lock:
                fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
            if self._stopped is not None or self._call is None or self._call.get("stop"):
                kill_processes_using(self.data_dir)
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.ended.set()

    def _on_event(self, event: dict[str, Any]) -> bool:
        result = read_result(event)
        call = self._call if not self._result_seen.is_set() else None  # nothing after the call's answer
        if result is not None and call is not None:
            self._state["result"] = result
            self._result_seen.set()
        elif event.get("stdout") and call is not None:
            self._state["stdout"].append(event["stdout"])
        if call is not None and call["on_event"] is not None and event.get("event"):
            call["on_event"](event["event"])
        return False  # no event files on disk

    def _cancelled(self) -> bool:
        if self._stopped is not None:  # the launcher was asked to end the run; ansible-runner kills it if it lingers
            return time.monotonic() - self._stopped > STOP_GRACE
        call = self._call
        if call is None:
            return False
        if call["cancel"] is not None and call["cancel"].is_set():
            call["stop"] = "cancelled"
        elif time.monotonic() > call["deadline"]:
            call["stop"] = "timeout"
        return bool(call.get("stop"))

    @property
    def failed(self) -> bool:
        """The run ended before it waited for a call, and not because the pool stopped it."""
        return self.ended.is_set() and not self.ready and self._stopped is None

    def poll_ready(self) -> bool:
        """True once the run waits on its channel (the FIFO has a reader); the bridge then holds the write end.

        Any thread may ask: the check and the open are one step under the lock, so the write end is opened once
        (a second one, never closed, would leave the run's action waiting for the end of its channel)."""
        with self._fd_lock:
            if self.ready or self.ended.is_set():
                return self.ready
            try:
                fd = os.open(self.channel, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                return False
            os.set_blocking(fd, True)
            self._fd = fd
            self.ready_since = time.monotonic()
            self.ready = True
        if self._payloads is not None:  # the action wrote the payload it built before it opened its channel
            self._payloads.harvest(self.module, self.fingerprint, self.data_dir)
        return True

    def stop(self) -> None:
        """Stop a waiting run (too old, out of date, memory pressure, bridge stopping); it never runs the module.

        Its launcher gets SIGTERM and removes the run's tree and data dir itself: that also holds when the bridge
        exits right after (uvicorn re-raises SIGTERM once it has shut down). Signal-safe (no lock)."""
        if self._stopped is None:
            self._stopped = time.monotonic()
            stop_launchers_using(self.data_dir)

    def call(
        self,
        args: Mapping[str, Any],
        *,
        check: bool,
        timeout: float,
        cancel: threading.Event | None,
        on_event: Callable[[str], None] | None,
    ) -> dict[str, Any]:
        """Hand `args` to the waiting run; the module's result (as ModuleRunner.run returns it) or a RunError."""
        payload = json.dumps({"args": dict(args), "check": bool(check)}).encode() + b"\n"  # one line
        self._call = {"cancel": cancel, "deadline": time.monotonic() + timeout, "on_event": on_event}
        if on_event is not None:
            on_event("runner_on_start")
        with self._fd_lock:
            fd, self._fd = self._fd, None
        try:
            if fd is None:
                raise OSError("the run is not waiting")
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            self.stop()
            raise RunError(f"{self.module} could not be run: its warm run ended before the call") from None
        finally:
            if fd is not None:
                os.close(fd)
        while not self._result_seen.wait(TICK):
            if self.ended.is_set() or self._call.get("stop"):
                break
        stop = self._call.get("stop")
        if stop or not self._result_seen.is_set():
            self.ended.wait(END_WAIT)  # ansible-runner kills a stopped run; what it leaves is killed here
            if stop or not self.ended.is_set():
                kill_processes_using(self.data_dir)
        return self.runner.outcome(
            self.module,
            self._state["result"],
            self._state["stdout"],
            timeout,
            stop == "timeout",
            stop == "cancelled",
            self._runner.rc,
        )


class WarmPool:
    """Waiting runs per module, refilled in the background; `run` has ModuleRunner.run's signature."""

    def __init__(
        self,
        runner: ModuleRunner,
        modules: Iterable[str],
        settings: PoolSettings | None = None,
        *,
        policy: str = "",
    ) -> None:
        self.runner = runner
        self.modules = list(dict.fromkeys(modules))
        self.settings = settings or PoolSettings()
        self.policy = policy
        self.forkserver = ForkServer(runner.python, runner.tmp_root) if self.settings.fork_server else None
        self.payloads = PayloadCache()
        self.stats = {"warm": 0, "cold": 0, "replaced": 0}
        self._runs: dict[str, list[WarmRun]] = {m: [] for m in self.modules}
        # Modules kept warm: the first (the read tool's) from the start, every other one after its first call.
        self._wanted: list[str] = self.modules[:1]
        self._waiters: dict[str, int] = dict.fromkeys(self.modules, 0)  # calls waiting for a run
        self._calls: dict[str, int] = dict.fromkeys(self.modules, 0)  # calls in progress (waiting or running)
        self._peaks: dict[str, deque[tuple[float, int]]] = {m: deque() for m in self.modules}
        self._cond = threading.Condition()
        self._started: list[WarmRun] = []  # every run not known to have ended, waiting or taken
        self._closed = False
        self._shut = threading.Event()  # set by shutdown: the refill thread may end
        self._refills_done = threading.Event()  # set by the refill thread once closed: it starts no more runs
        self._pressure = False
        self._room = self.settings.max_runs  # runs the memory has room for until the next check
        self._progress = time.monotonic()  # when the refill last went round or started a run
        self._failed = float("-inf")  # when a run last ended before it was ready (ansible could not start it)
        self._checked: tuple[float, bytes] = (float("-inf"), b"")
        self._thread: threading.Thread | None = None

    # ModuleRunner's attributes the bridge reads.
    @property
    def collections_path(self) -> Path:
        return self.runner.collections_path

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.runner.secrets

    def fingerprint(self) -> bytes:
        digest = hashlib.sha256(self.runner.fingerprint())
        digest.update(repr((collection_state(self.runner.collections_path), self.policy)).encode())
        return digest.digest()

    def start(self) -> None:
        """Start the refills (Bridge.start, when the bridge serves); until then every call runs cold."""
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._refill, name="warm pool", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop every waiting run and the refills (the bridge is stopping). Only sets flags: signal-safe."""
        self._closed = True
        for runs in list(self._runs.values()):
            for run in list(runs):
                run.stop()

    def shutdown(self, timeout: float = 30.0) -> None:
        """`close`, then wait until the waiting runs have ended, stop the fork server and end the refill thread."""
        self.close()
        if self._thread is not None:
            self._refills_done.wait(timeout)  # a run the refill was starting is in `_started` (and stopped)
        with self._cond:
            started = list(self._started)
        for run in started:
            run.ended.wait(timeout)
        if self.forkserver is not None:
            self.forkserver.stop()
        self._shut.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def keep_warm(self, module: str) -> None:
        """Keep runs of `module` waiting from now on (done by its first call)."""
        with self._cond:
            if module in self._runs and module not in self._wanted:
                self._wanted.append(module)
                self._cond.notify_all()

    def waiting(self, module: str) -> list[WarmRun]:
        with self._cond:
            return list(self._runs.get(module, ()))

    def run(
        self,
        module: str,
        args: Mapping[str, Any],
        *,
        check: bool = False,
        timeout: float = 300.0,
        cancel: threading.Event | None = None,
        on_event: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> dict[str, Any]:
        """Run `module` once with `args` in a waiting run, or cold when none is (or will soon be) ready.

        A call that follows the module's progress file (`on_progress`: a fleet run, which lasts far longer than
        ansible's start-up) always runs cold, where ModuleRunner.run reads that file."""
        encode_module_args(args)  # the same refusal of template markers as the cold path, before anything runs
        counted = self._count_call(module, 1)
        try:
            run = None if on_progress is not None else self._take(module, cancel, time.monotonic() + timeout)
            if run is None:
                self.stats["cold"] += 1
                return self.runner.run(
                    module,
                    args,
                    check=check,
                    timeout=timeout,
                    cancel=cancel,
                    on_event=on_event,
                    on_progress=on_progress,
                )
            self.stats["warm"] += 1
            return run.call(args, check=check, timeout=timeout, cancel=cancel, on_event=on_event)
        finally:
            if counted:
                self._count_call(module, -1)

    def _count_call(self, module: str, step: int) -> bool:
        """Count a call of `module` in progress (`step` 1) or done (-1); remember how many were in progress at once."""
        if module not in self._calls:
            return False
        now = time.monotonic()
        with self._cond:
            self._calls[module] += step
            peaks = self._peaks[module]
            if step > 0:
                peaks.append((now, self._calls[module]))
            while peaks and now - peaks[0][0] > BUSY:
                peaks.popleft()
        return True

    def _target(self, module: str, now: float) -> int:
        """Runs of `module` to keep waiting or starting: `size`; while it is being called, as many as the most calls
        of it in progress at once within `BUSY` s, and at least one more than `size` (calls in a row)."""
        recent = [count for when, count in self._peaks[module] if now - when <= BUSY]
        if not recent:
            return self.settings.size
        return max(self.settings.size + 1, *recent)

    def _full(self) -> bool:
        """No run can be started now: the pool holds `max_runs`, or the memory has no room for one more."""
        return self._room <= 0 or sum(len(runs) for runs in self._runs.values()) >= self.settings.max_runs

    def _take(self, module: str, cancel: threading.Event | None, deadline: float) -> WarmRun | None:
        if module not in self._runs or self._closed or self._thread is None:  # no refills (yet): cold
            return None
        self.keep_warm(module)
        fingerprint = self.fingerprint()
        asked = time.monotonic()
        with self._cond:
            self._waiters[module] += 1
            self._cond.notify_all()  # the refill starts a run for this call if none is starting for it
            try:
                while True:
                    runs = self._runs[module]
                    current = [r for r in runs if r.fingerprint == fingerprint and not r.ended.is_set()]
                    for run in current:
                        if run.poll_ready():
                            runs.remove(run)
                            self._cond.notify_all()  # the refill starts its replacement
                            return run
                    if self._closed or self._pressure:
                        return None
                    # Each waiting call needs a run starting for it: the refill starts one at once (it is ready no
                    # later than a cold run started now, and costs less). A call runs cold when none can be
                    # started for it (the pool is full, the refill is held up) or runs fail to start.
                    unserved = len(current) < self._waiters[module]
                    stalled = time.monotonic() - max(asked, self._progress) > DEMAND_GRACE
                    failing = self._failed >= asked or any(r.failed for r in runs)
                    if failing or (unserved and (self._full() or stalled)):
                        return None
                    if cancel is not None and cancel.is_set():
                        raise RunCancelled(f"{module} was cancelled; the guest may or may not have been changed")
                    if time.monotonic() > deadline:
                        raise RunTimeout(f"{module} did not start in time; nothing was run")
                    self._cond.wait(TICK)
            finally:
                self._waiters[module] -= 1

    def _refill(self) -> None:
        while not self._closed:
            try:
                self._tend()
            except Exception:  # noqa: BLE001 - a failed start must not end the refills; the call runs cold
                time.sleep(1)
            with self._cond:
                self._cond.wait(TICK)
        with self._cond:
            for runs in self._runs.values():
                for run in runs:
                    run.stop()
        self._refills_done.set()
        # This thread started the fork server, whose parent-death signal (PR_SET_PDEATHSIG) follows the thread that
        # forked it, not the bridge's process: it stays until shutdown, so the calls still running after `close`
        # (the bridge stopping, its calls being cancelled and audited) keep their module interpreter.
        self._shut.wait()

    def _tend(self) -> None:
        """Drop ended runs, stop out-of-date or expired ones, start new ones where the pool is short."""
        now = time.monotonic()
        if now - self._checked[0] >= CHECK_EVERY:  # the collection's files and the memory: once a second
            available = available_mb()
            self._pressure = available is not None and available < self.settings.min_available_mb
            if available is None:
                self._room = self.settings.max_runs
            else:
                self._room = max(0, (available - self.settings.min_available_mb) // RUN_MB)
            fingerprint = self.fingerprint()
            if fingerprint != self._checked[1]:
                self.payloads.keep_only(fingerprint)
            self._checked = (now, fingerprint)
            if self.forkserver is not None and self.forkserver.socket is not None and self.forkserver.pid is None:
                self.forkserver.ensure()  # it died: start it again (runs waiting with its old socket are replaced)
        fingerprint = self._checked[1]
        socket = self.forkserver.socket if self.forkserver is not None else None
        to_start: list[str] = []
        with self._cond:
            for runs in self._runs.values():
                for run in list(runs):
                    waited = now - run.ready_since if run.ready_since is not None else 0.0
                    stuck = not run.ready and now - run.born > START_TIMEOUT
                    orphaned = run.fork_socket is not None and run.fork_socket != socket
                    stale = run.fingerprint != fingerprint or waited > self.settings.lifetime or stuck or orphaned
                    if run.ended.is_set() or stale or self._pressure:
                        if run.failed:
                            self._failed = now
                        if stale and not run.ended.is_set():
                            self.stats["replaced"] += 1
                        run.stop()
                        runs.remove(run)
                    elif run.poll_ready():
                        self._cond.notify_all()
            if self._pressure:
                return
            total = sum(len(runs) for runs in self._runs.values())
            starting = sum(1 for runs in self._runs.values() for r in runs if not r.ready)
            # Calls first (a run for each waiting call that has none starting), then the runs ahead of calls,
            # `starts` at a time; all within `max_runs` and the memory's room.
            for module in sorted(self._wanted, key=lambda m: -self._waiters[m]):
                runs = self._runs[module]
                unserved = self._waiters[module] - sum(1 for r in runs if not r.ready)
                short = max(self._target(module, now), self._waiters[module]) - len(runs)
                while short > 0 and total < self.settings.max_runs and self._room > 0:
                    if unserved <= 0 and starting >= self.settings.starts:
                        break
                    to_start.append(module)
                    short -= 1
                    unserved -= 1
                    total += 1
                    starting += 1
                    self._room -= 1
        for module in to_start:
            socket_path = self.forkserver.ensure() if self.forkserver is not None else None
            shim = self.forkserver.shim(socket_path) if socket_path and self.forkserver is not None else ""
            run = WarmRun(self.runner, module, fingerprint, socket_path, shim, self.payloads)
            with self._cond:
                if self._closed:
                    run.stop()
                self._runs[module].append(run)
                self._started = [r for r in self._started if not r.ended.is_set()] + [run]
                self._progress = time.monotonic()
        self._progress = time.monotonic()


def pool_runner(
    runner: ModuleRunner, settings: Any, modules: Iterable[str], policy: str = ""
) -> ModuleRunner | WarmPool:
    """The bridge's runner: `runner` itself with `settings.warm` off (cold runs), else a WarmPool around it.
    `settings`: config.BridgeSettings; `modules`: the modules of the tools offered, the read tool's first."""
    if not settings.warm or settings.warm_size < 1:
        return runner
    pool = PoolSettings(
        size=settings.warm_size,
        lifetime=settings.warm_lifetime,
        max_runs=settings.warm_max_runs,
        min_available_mb=settings.warm_min_available_mb,
        fork_server=settings.fork_server,
    )
    return WarmPool(runner, modules, pool, policy=policy)
