"""runner.py: argument encoding, reading recorded events, and real ansible-runner runs of the stub module."""

from __future__ import annotations

import glob
import json
import os
import threading
import time
from pathlib import Path

import pytest
from _support import INJECTION, SECRET

from mcp_bridge import runner as runner_mod
from mcp_bridge.runner import (
    ModuleFailed,
    ModuleRunner,
    RunCancelled,
    RunError,
    RunTimeout,
    encode_module_args,
    read_result,
    redact,
)

# A runner_on_ok event as ansible-runner 2.4.3 hands it to event_handler (trimmed).
RECORDED_OK = {
    "uuid": "4f1b",
    "counter": 7,
    "event": "runner_on_ok",
    "stdout": "localhost | CHANGED => {...}",
    "event_data": {
        "host": "localhost",
        "task_action": "pve.config.vm_resources",
        "res": {
            "changed": True,
            "vmid": 100,
            "diff": {"before": {"memory": "2048"}, "after": {"memory": "4096"}},
            "invocation": {"module_args": {"vmid": 100, "api_token_secret": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}},
            "_ansible_no_log": False,
        },
    },
}


def test_encode_module_args_marks_every_string_unsafe():
    encoded = json.loads(encode_module_args({"vmid": 100, "bridge": "vmbr0", "tags": ["a", 1], "m": {"k": "v"}}))
    assert encoded == {
        "vmid": 100,
        "bridge": {"__ansible_unsafe": "vmbr0"},
        "tags": [{"__ansible_unsafe": "a"}, 1],
        "m": {"k": {"__ansible_unsafe": "v"}},
    }


@pytest.mark.parametrize("value", [INJECTION, "{% raw %}", "{#", {"nested": ["ok", "{{ x }}"]}])
def test_encode_module_args_refuses_template_markers(value):
    with pytest.raises(RunError, match="template marker"):
        encode_module_args({"vmid": 100, "name": value})


def test_read_result_from_recorded_events():
    assert read_result(RECORDED_OK) == {
        "changed": True,
        "vmid": 100,
        "diff": {"before": {"memory": "2048"}, "after": {"memory": "4096"}},
    }
    failed = {**RECORDED_OK, "event": "runner_on_failed"}
    failed["event_data"] = {"res": {"msg": "no VM 100", "changed": False}}
    assert read_result(failed) == {"msg": "no VM 100", "changed": False, "failed": True}
    assert read_result({"event": "playbook_on_start", "event_data": {}}) is None
    assert read_result({"event": "runner_on_ok", "event_data": {"res": "garbage"}}) is None


def test_redact_walks_nested_values():
    assert redact({"a": [f"x{SECRET}y", 3], SECRET: None}, [SECRET, ""]) == {"a": ["x********y", 3], "********": None}
    assert redact("plain", []) == "plain"


@pytest.fixture
def runner(stub_root, stub) -> ModuleRunner:
    return ModuleRunner(stub_root, stub.env, secrets=[SECRET], tmp_root=stub.tmp_root)


def test_run_returns_the_module_result_and_removes_its_data_dir(runner, stub):
    seen_dirs: list[str] = []
    events: list[str] = []

    def on_event(event: str) -> None:
        events.append(event)
        seen_dirs.extend(os.listdir(stub.tmp_root))

    result = runner.run("pve.config.vm_resources", {"vmid": 100, "memory": 4096}, on_event=on_event)
    assert result["changed"] is True and result["config"]["memory"] == 4096
    assert "invocation" not in result
    assert "runner_on_ok" in events
    assert seen_dirs and all(d.startswith("pve-config-mcp-") for d in seen_dirs)  # it existed during the run
    assert os.listdir(stub.tmp_root) == []  # and is gone afterwards
    assert stub.guest(100)["memory"] == 4096


def test_every_run_names_an_empty_private_progress_file_in_its_data_dir(runner, stub):
    seen: list[tuple[str, int, int]] = []

    def on_event(event: str) -> None:
        for path in glob.glob(str(stub.tmp_root / "*" / "progress.jsonl")):
            seen.append((path, os.stat(path).st_mode & 0o777, os.path.getsize(path)))

    runner.run("pve.config.vm_resources", {"vmid": 100, "memory": 4096}, on_event=on_event, on_progress=print)
    assert "PVE_CONFIG_PROGRESS_FILE" in stub.calls()[-1]["env"]
    assert seen and {(mode, size) for _path, mode, size in seen} == {(0o600, 0)}  # the stub writes no count
    assert os.listdir(stub.tmp_root) == []


def test_check_mode_writes_nothing(runner, stub):
    result = runner.run("pve.config.vm_resources", {"vmid": 100, "memory": 4096}, check=True)
    assert result["changed"] is True and result["diff"]["after"]["memory"] == 4096
    assert stub.state() == {}


def test_fresh_data_dir_per_run_does_not_inherit_check_mode(runner, stub):
    runner.run("pve.config.vm_resources", {"vmid": 100, "memory": 1024}, check=True)
    runner.run("pve.config.vm_resources", {"vmid": 100, "memory": 1024})
    assert stub.guest(100)["memory"] == 1024


def test_module_failure_is_a_module_failed_with_its_message_and_no_secret(runner):
    with pytest.raises(ModuleFailed, match="guest 999 does not exist"):
        runner.run("pve.config.vm_resources", {"vmid": 999, "memory": 512})
    with pytest.raises(ModuleFailed) as err:
        runner.run("pve.config.vm_nic", {"vmid": 100, "name": "boom", "state": "present"})
    assert SECRET not in str(err.value) and SECRET not in json.dumps(err.value.result)


def test_unknown_module_is_a_clear_error(runner):
    with pytest.raises(RunError, match="no_such_module"):
        runner.run("pve.config.no_such_module", {"vmid": 100})


def test_timeout_stops_the_run(stub_root, stub):
    slow = ModuleRunner(stub_root, {**stub.env, "STUB_SLEEP": "30"}, tmp_root=stub.tmp_root)
    started = time.monotonic()
    with pytest.raises(RunTimeout, match="did not finish within 2 s and was stopped"):
        slow.run("pve.config.vm_resources", {"vmid": 100, "memory": 512}, timeout=2)
    assert time.monotonic() - started < 6
    assert processes_using(stub.tmp_root) == []
    assert stub.state() == {}


def test_cancel_stops_the_run(stub_root, stub):
    slow = ModuleRunner(stub_root, {**stub.env, "STUB_SLEEP": "30"}, tmp_root=stub.tmp_root)
    cancel = threading.Event()
    threading.Timer(1.5, cancel.set).start()
    with pytest.raises(RunCancelled):
        slow.run("pve.config.vm_resources", {"vmid": 100, "memory": 512}, cancel=cancel)
    assert processes_using(stub.tmp_root) == []


def processes_using(tmp_root: Path) -> list[str]:
    """Command lines of processes still running from this test's data dirs (AnsiballZ files live there), so
    a leftover module process is found; the kill must take the whole tree, ansible's workers call setsid()."""
    time.sleep(0.3)
    needle = str(tmp_root).encode()
    found = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            raw = Path(cmdline).read_bytes()
        except OSError:
            continue
        if needle in raw:
            found.append(raw.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_unsafe_marking_alone_keeps_a_template_literal(runner, stub, monkeypatch, tmp_path):
    """Second layer: even with the guard switched off, ansible passes the string literally and never runs it."""
    target = tmp_path / "pwned"
    payload = f"{{{{ lookup('pipe', 'touch {target}') }}}} {{{{ 7*6 }}}}"
    monkeypatch.setattr(runner_mod, "find_template_marker", lambda value: None)
    runner.run("pve.config.vm_nic", {"vmid": 100, "name": payload, "state": "present"})
    assert stub.calls()[-1]["args"]["name"] == payload
    assert not target.exists()


BRIDGE_ONLY_SECRET = "pve-mcp-http-token-0c1d"


def files_holding(root: Path, *needles: str) -> list[str]:
    """Every file below `root` whose bytes contain one of `needles` (symlinks not followed)."""
    found = []
    for dirpath, _dirnames, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                data = path.read_bytes() if not path.is_symlink() else b""
            except OSError:
                continue
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


def test_no_secret_is_written_into_the_run_dir_and_the_module_still_gets_its_credentials(stub_root, stub, monkeypatch):
    """ansible-runner records a run's environment in artifacts/run/command: it must hold no secret, and no
    bridge-only secret (PVE_MCP_TOKEN, inherited from the bridge's environment) may reach the run at all."""
    monkeypatch.setenv("PVE_MCP_TOKEN", BRIDGE_ONLY_SECRET)
    monkeypatch.setenv("PROXMOX_TOKEN_SECRET", SECRET)
    slow = ModuleRunner(stub_root, {**stub.env, "STUB_SLEEP": "3"}, secrets=[SECRET], tmp_root=stub.tmp_root)
    snapshots: list[list[str]] = []
    done = threading.Event()

    def scan_while_running() -> None:
        while not done.is_set():
            if any(stub.tmp_root.iterdir()):
                snapshots.append(files_holding(stub.tmp_root, SECRET, BRIDGE_ONLY_SECRET))
            time.sleep(0.2)

    scanner = threading.Thread(target=scan_while_running)
    scanner.start()
    try:
        with pytest.raises(ModuleFailed) as err:
            slow.run("pve.config.vm_nic", {"vmid": 100, "name": "boom", "state": "present"})
    finally:
        done.set()
        scanner.join()
    assert snapshots and snapshots == [[]] * len(snapshots), snapshots[-1:]  # scanned during the run: nothing
    # The module did receive the token secret (its message quoted it, redacted) ...
    assert str(err.value) == "boom with secret ********"
    env = stub.calls()[-1]["env"]
    assert "PROXMOX_TOKEN_SECRET" in env and "PROXMOX_HOST" in env
    # ... but nothing the module does not need from the bridge's environment.
    assert "PVE_MCP_TOKEN" not in env


def test_the_runs_environment_is_the_given_one(stub_root, stub, monkeypatch):
    from mcp_bridge.runner import run_environment

    monkeypatch.setenv("UNRELATED_SETTING", "x")
    monkeypatch.setenv("LANG", "C.UTF-8")
    prepared = {"UNRELATED_SETTING": "x", "LANG": "C.UTF-8", "PVE_MCP_TOKEN": "t", "A": "1", "RUNNER_X": "y"}
    given = {"A": "1", "PROXMOX_PASSWORD": "pw", "HOLDS": f"prefix-{SECRET}"}
    prepared |= given
    assert run_environment(prepared, given, [SECRET]) == {"LANG": "C.UTF-8", "A": "1", "RUNNER_X": "y"}


KILLED_BRIDGE = """
import sys
from mcp_bridge.runner import ModuleRunner
root, tmp_root, env = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
print("started", flush=True)
ModuleRunner(root, env, tmp_root=tmp_root).run("pve.config.vm_resources", {"vmid": 100, "memory": 512})
"""


def test_a_run_does_not_outlive_a_killed_bridge(stub_root, stub):
    """SIGKILL of the process that started a run: the launcher (parent-death signal, subreaper) kills the run's
    whole tree, ansible's setsid() workers included, and removes the data dir; the module never writes."""
    import subprocess
    import sys

    env = {**stub.env, "STUB_SLEEP": "6"}
    repo = Path(__file__).resolve().parents[2]
    bridge = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_BRIDGE,
            str(stub_root),
            str(stub.tmp_root),
            *(f"{k}={v}" for k, v in env.items()),
        ],
        cwd=repo,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not stub.calls() and time.monotonic() < deadline:  # the module is running (and sleeping)
        time.sleep(0.1)
    assert stub.calls(), "the module never started"
    assert processes_using(stub.tmp_root)
    bridge.kill()
    bridge.wait()
    deadline = time.monotonic() + 5
    while (processes_using(stub.tmp_root) or os.listdir(stub.tmp_root)) and time.monotonic() < deadline:
        pass
    assert processes_using(stub.tmp_root) == []
    assert os.listdir(stub.tmp_root) == []
    time.sleep(6)  # past the module's sleep: it would have written by now
    assert stub.state() == {}
