"""The one place that calls ansible-runner: one ad-hoc task per tool call.

Each run gets a fresh private data dir (0700, removed afterwards), `suppress_env_files=True`, an inventory
(localhost, local connection, this interpreter) and the module arguments as JSON in which every string is
marked unsafe, so ansible passes it to the module literally instead of templating it. The run's environment
holds only what the module needs (`run_environment`) and no secret: ansible-runner records that environment in
``artifacts/<ident>/command``, so the credentials reach the module through the launcher's prompt (launch.py),
which also keeps the run from outliving the bridge. Credentials are never module arguments. The result is the
module's own result dict, read from the `runner_on_ok` / `runner_on_failed` event.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets as secrets_mod
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ansible_runner.config.runner import RunnerConfig
from ansible_runner.runner import Runner

from .config import PLAN_KEY_ENV, TOKEN_ENV
from .fields import find_template_marker
from .launch import PROMPT
from .progress import PROGRESS_ENV, PROGRESS_FILE, FleetCount, ProgressReader, create_progress_file

RESULT_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable")
# Keys ansible adds to a module result that say nothing about the guest.
_INTERNAL_KEYS = ("invocation", "_ansible_no_log", "_ansible_verbose_always", "_ansible_delegated_vars", "deprecations")
REDACTED = "********"
# pexpect_timeout: how often ansible-runner's loop wakes up to ask cancel_callback (its default is 5 s).
_SETTINGS = {"pexpect_timeout": 0.1, "suppress_output_file": True}


class RunError(Exception):
    """A run that produced no usable module result; the message is safe to show to a client."""


class ModuleFailed(RunError):
    """The module ran and failed (bad input, Proxmox refused, ...): `msg` is the module's own message."""

    def __init__(self, msg: str, result: Mapping[str, Any]):
        super().__init__(msg)
        self.result = dict(result)


class RunTimeout(RunError):
    pass


class RunCancelled(RunError):
    pass


def encode_module_args(args: Mapping[str, Any]) -> str:
    """JSON for `ansible -a`, every string wrapped as `{"__ansible_unsafe": ...}` (never templated).

    Also refuses any Jinja marker outright: the tool schemas already do, this keeps the promise for every
    caller of the runner.
    """

    def wrap(value: Any, where: str) -> Any:
        if isinstance(value, str):
            marker = find_template_marker(value)
            if marker is not None:
                raise RunError(f"argument {where} contains the template marker {marker!r}; nothing was run")
            return {"__ansible_unsafe": value}
        if isinstance(value, Mapping):
            return {str(k): wrap(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [wrap(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    if not args:  # ansible-core cli/adhoc.py: "{}" loads as an empty dict, which falls through to parse_kv as raw
        return ""
    return json.dumps({str(k): wrap(v, str(k)) for k, v in args.items()})


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """`value` with every occurrence of a secret replaced, recursively."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            for secret in secrets:
                v = v.replace(secret, REDACTED)
            return v
        if isinstance(v, Mapping):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return walk(value)


def read_result(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The module result carried by a runner event (with `failed` set for a failed task), or None."""
    name = event.get("event")
    if name not in RESULT_EVENTS:
        return None
    res = (event.get("event_data") or {}).get("res")
    if not isinstance(res, Mapping):
        return None
    result = {k: v for k, v in res.items() if k not in _INTERNAL_KEYS}
    if name != "runner_on_ok":
        result["failed"] = True
    return result


def kill_processes_using(marker: str) -> None:
    """SIGKILL every process (and its process group) whose command line mentions `marker`.

    ansible-runner kills only the process group of `ansible`; ansible's workers call setsid(), so the module
    process (and whatever it started) would outlive a timeout and could still write to Proxmox. Every process of
    a run has the private data dir on its command line (inventory path, AnsiballZ temp path).
    """
    needle = marker.encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle not in (entry / "cmdline").read_bytes():
                continue
            pid = int(entry.name)
        except (OSError, ValueError):
            continue
        try:
            group = os.getpgid(pid)
            if group != os.getpgrp():  # never our own group
                os.killpg(group, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def stop_launchers_using(marker: str) -> None:
    """SIGTERM the launcher (launch.py) of the run whose command line mentions `marker`: it kills the run's whole
    tree and removes its data dir itself, so this holds even when the bridge exits right after."""
    needle, launcher = marker.encode(), LAUNCHER.encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if needle in cmdline and launcher in cmdline:
                os.kill(int(entry.name), signal.SIGTERM)
        except (OSError, ValueError):
            continue


# Secrets the modules read from their environment (PROXMOX_* fallbacks). They are handed to the run through the
# launcher's prompt (see launch.py), never through the environment ansible-runner records on disk.
SECRET_ENV = ("PROXMOX_TOKEN_SECRET", "PROXMOX_PASSWORD")
# What a run inherits from the bridge's own environment; everything else it gets is set explicitly (the
# runner's PATH/ANSIBLE_* below, the non-secret PROXMOX_* settings, ansible-runner's own variables).
INHERITED_ENV = (
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)
LAUNCHER = str(Path(__file__).with_name("launch.py"))


def run_environment(prepared: Mapping[str, str], given: Mapping[str, str], secrets: Iterable[str]) -> dict[str, str]:
    """The environment a run starts with: what ansible-runner prepared minus what it only copied from the bridge.

    ansible-runner seeds a run's environment with a copy of the bridge's own (config/_base.py
    ``BaseConfig.prepare_env``) and records it in ``artifacts/<ident>/command``. Kept: the variables given
    (`given`), the ones ansible-runner set or changed itself, and `INHERITED_ENV` / ``LC_*``. Never kept: a
    `SECRET_ENV` variable, the bridge's own ``PVE_MCP_TOKEN`` and ``PVE_MCP_PLAN_KEY``, or any value holding a known secret.
    """
    secrets = [s for s in secrets if s]
    env = {}
    for key, value in prepared.items():
        wanted = key in given or key in INHERITED_ENV or key.startswith("LC_") or os.environ.get(key) != value
        if wanted and key not in (*SECRET_ENV, TOKEN_ENV, PLAN_KEY_ENV) and not any(s in value for s in secrets):
            env[key] = value
    return env


class ModuleRunner:
    """Runs pve.config modules through ansible-runner with a fixed, prepared environment."""

    def __init__(
        self,
        collections_path: Path,
        envvars: Mapping[str, str],
        *,
        secrets: Iterable[str] = (),
        python: str = sys.executable,
        tmp_root: str | os.PathLike[str] | None = None,
    ) -> None:
        """`tmp_root`: where the per-call data dirs are made (default: the system temp dir, i.e. $TMPDIR).

        `envvars` may hold the `SECRET_ENV` credentials: those reach the module through the launcher only.
        """
        self.collections_path = Path(collections_path)
        self.tmp_root = None if tmp_root is None else str(tmp_root)
        self.python = python
        self.configure(envvars, secrets)

    def configure(self, envvars: Mapping[str, str], secrets: Iterable[str] = ()) -> None:
        """Set the runs' environment and credentials (new runs use them; a warm pool replaces its waiting runs)."""
        self._credentials = {k: str(v) for k, v in envvars.items() if k in SECRET_ENV}
        self.secrets = tuple({*(s for s in secrets if s), *self._credentials.values()})
        bin_dir = os.path.dirname(self.python)
        self._envvars = {
            **{k: str(v) for k, v in envvars.items() if k not in SECRET_ENV},
            # ansible-runner starts `ansible` from PATH: this interpreter's bin dir comes first.
            "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)]),
            "ANSIBLE_COLLECTIONS_PATH": str(self.collections_path),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_KEEP_REMOTE_FILES": "False",
            "ANSIBLE_DEBUG": "False",
            "ANSIBLE_VERBOSITY": "0",
        }
        self._ansible = shutil.which("ansible", path=self._envvars["PATH"]) or "ansible"

    def fingerprint(self) -> bytes:
        """A digest of everything a run is started with (environment, credentials, interpreter, collection
        path): a waiting run started under another fingerprint is out of date. Kept in memory only."""
        digest = hashlib.sha256()
        for item in (self.python, self._ansible, sorted(self._envvars.items()), sorted(self._credentials.items())):
            digest.update(repr(item).encode())
        return digest.digest()

    def config(
        self,
        data_dir: str,
        module: str,
        module_args: str,
        check: bool,
        timeout: float | None,
        *,
        python: str | None = None,
        envvars: Mapping[str, str] | None = None,
    ) -> RunnerConfig:
        """The run's ansible-runner config: env restricted, command wrapped by the launcher, credentials prompted.

        `python`: the module's interpreter (default: the bridge's); `envvars`: added to the run's environment;
        `timeout` None: no ansible-runner timeout (a warm run waits for its call; the pool stops it)."""
        tmp = os.path.join(data_dir, "tmp")
        os.mkdir(tmp, 0o700)
        # Runner settings (no secrets) must come from env/settings: a `settings=` argument is dropped by
        # ansible-runner 2.4 when that file is missing.
        os.mkdir(os.path.join(data_dir, "env"), 0o700)
        with open(os.path.join(data_dir, "env", "settings"), "w") as fh:
            json.dump(_SETTINGS, fh)
        os.mkdir(os.path.join(data_dir, "inventory"), 0o700)
        inventory = os.path.join(data_dir, "inventory", "hosts.json")
        host = {"ansible_connection": "local", "ansible_python_interpreter": python or self.python}
        with open(inventory, "w") as fh:
            json.dump({"all": {"hosts": {"localhost": host}}}, fh)
        nonce = secrets_mod.token_hex(8)
        # Every temporary file of the run (ansible's, AnsiballZ's) lands in the data dir, removed afterwards.
        given = {
            **self._envvars,
            **(envvars or {}),
            "ANSIBLE_LOCAL_TEMP": tmp,
            "ANSIBLE_REMOTE_TEMP": tmp,
            "TMPDIR": tmp,
        }
        # The live count of a fleet run (progress.py), in the data dir only the bridge can read.
        given[PROGRESS_ENV] = create_progress_file(data_dir)
        config = RunnerConfig(
            private_data_dir=data_dir,
            ident="run",
            host_pattern="localhost",
            module=module,
            module_args=module_args,
            inventory=inventory,
            envvars=given,
            cmdline="--diff --check" if check else "--diff",
            quiet=True,
            suppress_env_files=True,
            timeout=None if timeout is None else math.ceil(timeout) + 5,  # backstop; run()'s deadline fires first
            # Answered from memory by ansible-runner's pexpect loop, written nowhere (launch.py).
            passwords={re.escape(PROMPT.format(nonce=nonce)): json.dumps(self._credentials)},
        )
        config.prepare()
        config.env = run_environment(config.env, given, self.secrets)
        ansible = [self._ansible, *config.command[1:]] if config.command[:1] == ["ansible"] else config.command
        config.command = [self.python, "-I", "-S", LAUNCHER, str(os.getpid()), data_dir, nonce, *ansible]
        return config

    def run(
        self,
        module: str,
        args: Mapping[str, Any],
        *,
        check: bool = False,
        timeout: float = 300.0,
        cancel: threading.Event | None = None,
        on_event: Callable[[str], None] | None = None,
        on_progress: Callable[[FleetCount], None] | None = None,
    ) -> dict[str, Any]:
        """Run `module` once with `args`; return its result dict or raise a `RunError`.

        `on_progress`: called (in this thread) with each count the module writes to its progress file (progress.py).
        """
        module_args = encode_module_args(args)
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {"result": None, "stdout": deque(maxlen=20), "timed_out": False}

        def event_handler(event: dict[str, Any]) -> bool:
            result = read_result(event)
            if result is not None:
                state["result"] = result
            elif event.get("stdout"):
                state["stdout"].append(event["stdout"])
            if on_event is not None and event.get("event"):
                on_event(event["event"])
            return False  # keep no event files on disk

        def cancel_callback() -> bool:
            if reader is not None:
                reader.poll()
            if cancel is not None and cancel.is_set():
                return True
            if time.monotonic() > deadline:
                state["timed_out"] = True
                return True
            return False

        data_dir = tempfile.mkdtemp(prefix="pve-config-mcp-", dir=self.tmp_root)
        reader = None if on_progress is None else ProgressReader(os.path.join(data_dir, PROGRESS_FILE), on_progress)
        try:
            runner = Runner(
                self.config(data_dir, module, module_args, check, timeout),
                event_handler=event_handler,
                cancel_callback=cancel_callback,
            )
            runner.run()
            if reader is not None:
                reader.poll()  # the lines written after the last wake-up
        except Exception as exc:  # ansible-runner itself broke (not the module): no traceback to the client
            raise RunError(f"{module} could not be run: ansible-runner failed ({type(exc).__name__})") from exc
        finally:
            if state["timed_out"] or (cancel is not None and cancel.is_set()):
                kill_processes_using(data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)

        timed_out = state["timed_out"] or runner.status == "timeout"
        cancelled = runner.status == "canceled"
        return self.outcome(module, state["result"], state["stdout"], timeout, timed_out, cancelled, runner.rc)

    def outcome(
        self,
        module: str,
        result: dict[str, Any] | None,
        stdout: Iterable[str],
        timeout: float,
        timed_out: bool,
        cancelled: bool,
        rc: int | None,
    ) -> dict[str, Any]:
        """A run's module result (redacted), or the `RunError` that says why there is none."""
        if timed_out:
            raise RunTimeout(
                f"{module} did not finish within {timeout:g} s and was stopped; the guest may or may not have "
                "been changed, check it with get_guest_config"
            )
        if cancelled:
            raise RunCancelled(f"{module} was cancelled; the guest may or may not have been changed")
        if result is None:
            tail = redact(" ".join(" ".join(stdout).split())[-600:], self.secrets)
            raise RunError(f"{module} produced no result (ansible rc={rc}): {tail or 'no output'}")
        result = redact(result, self.secrets)
        if result.get("failed") or result.get("unreachable"):
            raise ModuleFailed(str(result.get("msg") or f"{module} failed"), result)
        return result
