"""Warm runs (mcp_bridge/pool.py, interpreter.py, forkserver.py): runs started ahead of the calls they serve.

Real ansible-runner runs of the stub collection (conftest.py); through the SDK's in-memory client where the
behaviour is visible to clients (results, errors, audit, progress), at the pool where it is not (which run served a
call, the fork server, files and processes).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from _support import SECRET, Stub
from conftest import build_stub_collection
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from test_mcp_runner import BRIDGE_ONLY_SECRET, processes_using

from mcp_bridge.audit import AuditLog
from mcp_bridge.cli import configure
from mcp_bridge.config import load
from mcp_bridge.pool import PoolSettings, WarmPool, WarmRun
from mcp_bridge.runner import ModuleFailed, ModuleRunner, RunCancelled, RunTimeout
from mcp_bridge.server import Bridge, build_server
from mcp_bridge.tools import TOOLS_BY_NAME

REPO = Path(__file__).resolve().parents[2]
GUEST_INFO = "pve.config.guest_info"
VM_RESOURCES = "pve.config.vm_resources"


def ready_run(pool: WarmPool, module: str, timeout: float = 60.0) -> WarmRun:
    """The run of `module` that waits for a call (started by the pool's refill)."""
    pool.keep_warm(module)
    pool.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [run for run in pool.waiting(module) if run.poll_ready()]
        if runs:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"no warm run of {module} became ready")


def files_holding(root: Path, *needles: str) -> list[str]:
    """Every regular file below `root` holding one of `needles` (a waiting run's FIFO is not read: reading it
    would block, and would take the call's arguments away from the run)."""
    found = []
    for dirpath, _dirnames, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                data = path.read_bytes() if stat.S_ISREG(path.lstat().st_mode) else b""
            except OSError:
                continue
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


def fork_children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """A stub collection of this test's own (a test changes its files)."""
    return build_stub_collection(tmp_path / "collection")


@pytest.fixture
def make_pool(collection: Path, stub: Stub):
    pools: list[WarmPool] = []

    def make(env: dict[str, str] | None = None, modules=(GUEST_INFO, VM_RESOURCES), **settings) -> WarmPool:
        runner = ModuleRunner(collection, {**stub.env, **(env or {})}, secrets=[SECRET], tmp_root=stub.tmp_root)
        pool = WarmPool(runner, modules, PoolSettings(**settings))
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.shutdown()
    assert processes_using(stub.tmp_root) == []
    assert os.listdir(stub.tmp_root) == []  # every waiting run's data dir and the fork server's dir are gone


def warm_bridge(pool: WarmPool, tmp_path: Path, stub: Stub, **bridge) -> Bridge:
    config = load(None, environ={}, overrides={"bridge": bridge})
    audit = AuditLog(tmp_path / "audit.jsonl", secrets=[SECRET])
    return Bridge(config, runner=pool, audit=audit)


CALLS = [
    ("get_guest_config", {"vmid": 100}),
    ("update_vm_resources", {"vmid": 100, "memory": 4096, "cores": 2, "dry_run": True}),
    ("update_vm_resources", {"vmid": 100, "memory": 4096, "cores": 2}),
    ("update_vm_resources", {"vmid": 999, "memory": 512}),
    ("add_vm_disk", {"vmid": 100, "storage": "local-lvm", "size": "8G"}),
    ("add_container_network", {"vmid": 200, "name": "boom"}),
]


@pytest.mark.anyio
@pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "plain-interpreter"])
async def test_a_warm_call_answers_exactly_as_the_cold_call(make_pool, stub, tmp_path, fork_server):
    """Every kind of answer (read, dry run, write, module failure, secret in a message) is the same, and the guest
    ends the same, whether the call ran cold or in a warm run."""
    pool = make_pool(
        modules=(GUEST_INFO, VM_RESOURCES, "pve.config.vm_disk", "pve.config.container_nic"),
        fork_server=fork_server,
    )
    seed = {"scsi0": "local-lvm:vm-100-disk-0,size=8G", "memory": 2048}
    for tool, args in CALLS:
        answers, states = [], []
        for warm in (False, True):
            for path in stub.state_dir.glob("*.json"):
                path.unlink()
            stub.seed(100, seed)
            bridge = warm_bridge(pool, tmp_path, stub)
            if not warm:
                bridge.runner = pool.runner  # the cold path: the reference
            else:
                ready_run(pool, TOOLS_BY_NAME[tool].fqcn)
            async with Client(build_server(bridge), raise_exceptions=True) as client:
                answer = await client.call_tool(tool, args)
            answers.append((answer.is_error, [c.text for c in answer.content], answer.structured_content))
            states.append(stub.state())
        assert answers[0] == answers[1], tool
        assert states[0] == states[1], tool
    assert pool.stats["warm"] == len(CALLS)
    assert SECRET not in (tmp_path / "audit.jsonl").read_text()


def test_dry_run_and_write_in_warm_runs_of_one_module(make_pool, stub):
    """Check mode is decided per call (the run waits without it): a dry run writes nothing, the next call writes."""
    pool = make_pool(modules=(VM_RESOURCES,))
    ready_run(pool, VM_RESOURCES)
    dry = pool.run(VM_RESOURCES, {"vmid": 100, "memory": 1024}, check=True)
    assert dry["changed"] is True and stub.state() == {}
    ready_run(pool, VM_RESOURCES)
    assert pool.run(VM_RESOURCES, {"vmid": 100, "memory": 1024})["changed"] is True
    assert stub.guest(100)["memory"] == 1024
    assert pool.stats == {"warm": 2, "cold": 0, "replaced": 0}


def test_a_template_in_a_warm_call_reaches_the_module_literally(make_pool, stub, monkeypatch, tmp_path):
    """The arguments are data: even with the bridge's template-marker refusal switched off, a warm run hands the
    string to the module as it is and nothing is evaluated."""
    from mcp_bridge import runner as runner_mod

    target = tmp_path / "pwned"
    payload = f"{{{{ lookup('pipe', 'touch {target}') }}}} {{{{ 7*6 }}}}"
    pool = make_pool(modules=("pve.config.vm_nic",))
    ready_run(pool, "pve.config.vm_nic")
    monkeypatch.setattr(runner_mod, "find_template_marker", lambda value: None)
    pool.run("pve.config.vm_nic", {"vmid": 100, "name": payload, "state": "present"})
    assert pool.stats["warm"] == 1
    assert stub.calls()[-1]["args"]["name"] == payload
    assert not target.exists()


def test_a_run_serves_one_call_then_ends(make_pool, stub):
    pool = make_pool(modules=(GUEST_INFO,))
    used: list[WarmRun] = []
    for _round in range(3):
        run = ready_run(pool, GUEST_INFO)
        assert run not in used and all(run.data_dir != old.data_dir for old in used)
        assert pool.run(GUEST_INFO, {"vmid": 100})["vmid"] == 100
        assert run.ended.wait(30)  # the run ended after its one call ...
        assert not os.path.exists(run.data_dir)  # ... and its data dir is gone
        assert run not in pool.waiting(GUEST_INFO)
        used.append(run)
    assert [call["module"] for call in stub.calls()] == ["guest_info"] * 3


def test_a_stopped_waiting_run_never_runs_its_module(make_pool, stub):
    pool = make_pool(modules=(GUEST_INFO,), lifetime=2.0)
    run = ready_run(pool, GUEST_INFO)
    assert run.ended.wait(30)  # older than its lifetime: stopped ...
    assert not os.path.exists(run.data_dir)
    replacement = ready_run(pool, GUEST_INFO)  # ... and replaced
    assert replacement is not run
    assert stub.calls() == []  # neither ran the module


@pytest.mark.parametrize("change", ["collection", "credentials", "policy"])
def test_a_configuration_change_replaces_the_waiting_runs(make_pool, stub, collection, change):
    pool = make_pool(modules=(GUEST_INFO,))
    old = ready_run(pool, GUEST_INFO)
    if change == "collection":  # the module's code changes: the payload the waiting run built is out of date
        module = collection / "ansible_collections/pve/config/plugins/modules/guest_info.py"
        module.write_text(module.read_text().replace('name="stub"', 'name="stub v2"'))
    elif change == "credentials":
        pool.runner.configure({**stub.env, "PROXMOX_TOKEN_SECRET": "rotated-secret-6e21"}, [SECRET])
    else:
        pool.policy = "vmids=[100]"
    result = pool.run(GUEST_INFO, {"vmid": 100})
    assert old.ended.wait(30) and stub.calls()[0]["module"] == "guest_info" and len(stub.calls()) == 1
    assert pool.stats["replaced"] >= 1 or pool.stats["cold"] == 1  # the old run served nothing
    if change == "collection":
        assert result["name"] == "stub v2"
    new = ready_run(pool, GUEST_INFO)
    assert new.fingerprint == pool.fingerprint() != old.fingerprint
    assert pool.run(GUEST_INFO, {"vmid": 100})["vmid"] == 100
    assert pool.stats["warm"] >= 1


def test_a_killed_fork_server_is_started_again(make_pool, stub):
    pool = make_pool(modules=(VM_RESOURCES,), env={"STUB_SLEEP": "1.5"})
    ready_run(pool, VM_RESOURCES)
    first = pool.forkserver.pid
    assert first is not None

    seen: list[list[int]] = []

    def call_watching_the_server(memory: int) -> None:
        """The call, while a thread records the fork server's children (the module runs in one of them)."""
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                children = fork_children(pool.forkserver.pid or 0)
                if children:
                    seen.append(children)
                done.wait(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            assert pool.run(VM_RESOURCES, {"vmid": 100, "memory": memory})["changed"] is True
        finally:
            done.set()
            watcher.join()

    call_watching_the_server(1024)
    assert seen, "the module did not run in the fork server"

    waiting = ready_run(pool, VM_RESOURCES)
    os.kill(first, signal.SIGKILL)
    time.sleep(0.3)
    # A call now is answered: by a run that waited with the dead server's socket (its shim falls back to the
    # plain interpreter), or by one started after the server was started again.
    assert pool.run(VM_RESOURCES, {"vmid": 100, "memory": 2048})["changed"] is True
    deadline = time.monotonic() + 30
    while pool.forkserver.pid in (None, first) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pool.forkserver.pid not in (None, first) and pool.forkserver.starts == 2  # started again
    assert waiting.ended.wait(30)  # used or replaced: no run waits with the dead server's socket
    run = ready_run(pool, VM_RESOURCES)
    assert run.fork_socket == pool.forkserver.socket
    assert all(r.fork_socket == pool.forkserver.socket for r in pool.waiting(VM_RESOURCES))
    seen.clear()
    call_watching_the_server(4096)
    assert seen, "the module did not run in the new fork server"
    assert stub.guest(100)["memory"] == 4096


@pytest.mark.parametrize("how", ["cancel", "timeout"])
def test_a_cancelled_or_timed_out_warm_call_stops_its_process_tree(make_pool, stub, how):
    pool = make_pool(modules=(VM_RESOURCES,), env={"STUB_SLEEP": "10"})
    run = ready_run(pool, VM_RESOURCES)
    server = pool.forkserver.pid
    cancel = threading.Event()

    def cancel_once_the_module_runs() -> None:
        deadline = time.monotonic() + 30
        while not stub.calls() and time.monotonic() < deadline:
            time.sleep(0.05)
        cancel.set()

    if how == "cancel":
        threading.Thread(target=cancel_once_the_module_runs, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(RunCancelled if how == "cancel" else RunTimeout):
        pool.run(VM_RESOURCES, {"vmid": 100, "memory": 512}, cancel=cancel, timeout=3 if how == "timeout" else 60)
    assert time.monotonic() - started < 10  # stopped before the module's sleep ended
    if how == "cancel":
        assert stub.calls(), "the module had started"
    assert run.ended.is_set() and not os.path.exists(run.data_dir)
    deadline = time.monotonic() + 3
    while fork_children(server) and time.monotonic() < deadline:  # the module's process, forked by the server
        time.sleep(0.1)
    assert fork_children(server) == []
    assert [p for p in processes_using(stub.tmp_root) if run.data_dir in p] == []
    time.sleep(10)  # past the module's sleep: it would have written by now
    assert stub.state() == {}


def test_no_secret_in_any_file_of_the_pool(make_pool, stub, monkeypatch):
    """Waiting runs, the fork server's directory, a call in progress and after it: no file holds a secret, and
    the module still gets its credentials."""
    monkeypatch.setenv("PVE_MCP_TOKEN", BRIDGE_ONLY_SECRET)
    pool = make_pool(modules=(GUEST_INFO, "pve.config.vm_nic"), env={"STUB_SLEEP": "2"})
    ready_run(pool, GUEST_INFO)
    ready_run(pool, "pve.config.vm_nic")
    snapshots: list[list[str]] = []
    done = threading.Event()

    def scan() -> None:
        while not done.is_set():
            snapshots.append(files_holding(stub.tmp_root, SECRET, BRIDGE_ONLY_SECRET))
            snapshots[-1] += files_holding(Path(pool.forkserver.socket or "/nonexistent").parent, SECRET)
            time.sleep(0.2)

    scanner = threading.Thread(target=scan)
    scanner.start()
    try:
        with pytest.raises(ModuleFailed) as err:
            pool.run("pve.config.vm_nic", {"vmid": 100, "name": "boom", "state": "present"})
    finally:
        done.set()
        scanner.join()
    assert snapshots and snapshots == [[]] * len(snapshots), snapshots[-1:]
    assert str(err.value) == "boom with secret ********"  # the module had the secret, the answer does not
    env = stub.calls()[-1]["env"]
    assert "PROXMOX_TOKEN_SECRET" in env and "PVE_MCP_TOKEN" not in env
    assert pool.stats["warm"] == 1
    fork_dir = Path(pool.forkserver.socket).parent  # in tmp_root, or /tmp where tmp_root is too long a path
    assert fork_dir.name.startswith("pve-config-mcp-fork-") and (fork_dir.stat().st_mode & 0o777) == 0o700
    assert files_holding(stub.tmp_root, SECRET, BRIDGE_ONLY_SECRET) == []
    assert files_holding(fork_dir, SECRET, BRIDGE_ONLY_SECRET) == []


def test_under_memory_pressure_no_run_waits_and_calls_run_cold(make_pool, stub):
    pool = make_pool(modules=(GUEST_INFO,), min_available_mb=1 << 40)
    pool.start()
    time.sleep(1.0)
    assert pool.waiting(GUEST_INFO) == [] and os.listdir(stub.tmp_root) == []
    assert pool.run(GUEST_INFO, {"vmid": 100})["vmid"] == 100
    assert pool.stats == {"warm": 0, "cold": 1, "replaced": 0}


def test_no_warm_configures_a_cold_bridge_and_warm_is_the_default(stub_root):
    env = {"PROXMOX_HOST": "pve.invalid", "PROXMOX_USER": "u@pve", "PROXMOX_PASSWORD": "x"}
    for argv, warm in (([], True), (["--no-warm"], False), (["--warm-size", "0"], False)):
        _ns, config = configure(["--collections-path", str(stub_root), "--audit-log", "off", *argv])
        config = config.model_copy(update={"proxmox": load(None, environ=env).proxmox})
        bridge = Bridge(config)
        assert isinstance(bridge.runner, WarmPool) is warm
        assert bridge.runner.collections_path == stub_root


@pytest.mark.anyio
async def test_a_no_warm_bridge_runs_every_call_cold(tmp_path, stub):
    """`--no-warm` through a real stdio bridge: nothing waits ahead of calls, and the calls work."""
    settings = tmp_path / "stub-settings.json"
    settings.write_text(f'{{"STUB_STATE": "{stub.state_dir}", "STUB_RECORD": "{stub.record_path}"}}')
    root = build_stub_collection(tmp_path / "process-collection", settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_"))}
    env.update(
        PYTHONPATH=str(REPO),
        TMPDIR=str(stub.tmp_root),
        PROXMOX_HOST="127.0.0.1:9",
        PROXMOX_USER="stub@pve",
        PROXMOX_TOKEN_ID="stub",
        PROXMOX_TOKEN_SECRET=SECRET,
    )
    args = ["-m", "mcp_bridge", "--no-warm", "--collections-path", str(root), "--audit-log", str(tmp_path / "a.jsonl")]
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(REPO))
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await anyio.sleep(3)  # a warm bridge would have started a run by now
            assert os.listdir(stub.tmp_root) == []
            for memory in (1024, 2048):
                result = await client.call_tool("update_vm_resources", {"vmid": 100, "memory": memory})
                assert not result.is_error and result.structured_content["config"]["memory"] == memory
                assert os.listdir(stub.tmp_root) == []  # nothing started ahead of the next call
    assert [c["module"] for c in stub.calls()] == ["vm_resources", "vm_resources"]


@pytest.mark.anyio
async def test_warm_calls_keep_per_guest_serialisation_progress_and_audit(make_pool, stub, tmp_path):
    pool = make_pool(modules=(VM_RESOURCES,), env={"STUB_SLEEP": "1.5"}, size=3, starts=3)
    for _attempt in range(30):  # three runs waiting
        if sum(run.poll_ready() for run in pool.waiting(VM_RESOURCES)) == 3:
            break
        ready_run(pool, VM_RESOURCES)
        await anyio.sleep(1)
    server = build_server(warm_bridge(pool, tmp_path, stub, max_parallel=4))
    durations: dict[str, float] = {}
    progress: list[str] = []

    async def call(client, key, vmid, memory):
        started = time.monotonic()

        async def on_progress(value, total, message):
            progress.append(message or "")

        result = await client.call_tool(
            "update_vm_resources", {"vmid": vmid, "memory": memory}, progress_callback=on_progress
        )
        assert not result.is_error
        durations[key] = time.monotonic() - started

    async with Client(server, raise_exceptions=True) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, client, "a", 100, 1024)
            tg.start_soon(call, client, "b", 100, 2048)
            tg.start_soon(call, client, "c", 101, 4096)
    assert stub.guest(100)["writes"] == 2  # both writes on guest 100 landed: one after the other
    assert abs(durations["a"] - durations["b"]) > 1.4
    assert durations["c"] < min(durations["a"], durations["b"]) + 0.5
    assert any("module running" in message for message in progress)
    audit = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(audit) == 3 and all('"outcome": "ok"' in line for line in audit)
    assert pool.stats["warm"] == 3


def channel_fds(run: WarmRun) -> list[str]:
    """The bridge's open file descriptors on `run`'s channel (the FIFO's write end)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == run.channel:
                found.append(fd)
        except OSError:
            continue
    return found


def test_a_run_polled_from_two_threads_at_once_serves_its_call(make_pool, stub, monkeypatch):
    """The hang of the killed-fork-server test under load: two threads (there, the test's and the refill's) asked a
    starting run at once whether it waited, both opened the FIFO's write end, one end leaked, and the action (which
    read until every writer had closed) never ran the module: the call waited for its whole timeout (300 s). A slow
    open of the channel (a loaded machine) makes the two opens overlap every time."""
    pool = make_pool(modules=(GUEST_INFO,))
    run = WarmRun(pool.runner, GUEST_INFO, pool.fingerprint(), None, "")  # not the pool's: no refill polls it
    real_open = os.open

    def slow_open(path, flags, *args, **kwargs):
        if path == run.channel:
            time.sleep(0.3)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", slow_open)

    def poll_until_ready() -> None:
        deadline = time.monotonic() + 60
        while not run.poll_ready() and time.monotonic() < deadline:
            pass

    pollers = [threading.Thread(target=poll_until_ready) for _poller in range(2)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()
    monkeypatch.setattr(os, "open", real_open)
    assert run.ready and len(channel_fds(run)) == 1  # one write end, held for the call
    started = time.monotonic()
    result = run.call({"vmid": 100}, check=False, timeout=30, cancel=None, on_event=None)
    assert result["vmid"] == 100 and time.monotonic() - started < 20
    assert channel_fds(run) == []
    assert run.ended.wait(30)


def ansiballz_cache_of(run: WarmRun) -> list[str]:
    """The files of ansible's payload cache in a waiting run's temp dir (a ``.lock`` is left where ansible built)."""
    return sorted(p.name for p in Path(run.data_dir, "tmp").glob("ansible-local-*/ansiballz_cache/*"))


def test_a_module_payload_is_built_once_per_collection_state(make_pool, stub, collection):
    """The first run of a module builds its payload; the next ones get it from the bridge and build nothing, until
    the collection's files change: then the payload is built again, from the new files."""
    pool = make_pool(modules=(GUEST_INFO,))
    first = ready_run(pool, GUEST_INFO)
    built = ansiballz_cache_of(first)
    assert any(name.endswith(".lock") for name in built)  # ansible built it here
    assert pool.run(GUEST_INFO, {"vmid": 100})["name"] == "stub"
    second = ready_run(pool, GUEST_INFO)
    assert second is not first
    assert ansiballz_cache_of(second) == [name for name in built if not name.endswith(".lock")]  # given, not built
    assert pool.run(GUEST_INFO, {"vmid": 100})["name"] == "stub"

    module = collection / "ansible_collections/pve/config/plugins/modules/guest_info.py"
    module.write_text(module.read_text().replace('name="stub"', 'name="stub v2"'))
    assert pool.run(GUEST_INFO, {"vmid": 100})["name"] == "stub v2"
    third = ready_run(pool, GUEST_INFO)
    assert third.fingerprint == pool.fingerprint() != first.fingerprint
    assert pool.run(GUEST_INFO, {"vmid": 100})["name"] == "stub v2"
    assert [c["module"] for c in stub.calls()] == ["guest_info"] * 4


def test_calls_at_once_each_get_a_warm_run(make_pool, stub):
    """Three calls at once with one run waiting: the two without one get a run started for them at once and wait
    for it instead of running cold, and the pool then keeps three waiting while the module is being called."""
    pool = make_pool(modules=(GUEST_INFO,))
    ready_run(pool, GUEST_INFO)
    results: list[int] = []
    calls = [
        threading.Thread(target=lambda: results.append(pool.run(GUEST_INFO, {"vmid": 100})["vmid"])) for _c in "abc"
    ]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    assert results == [100, 100, 100]
    assert pool.stats == {"warm": 3, "cold": 0, "replaced": 0}
    deadline = time.monotonic() + 60
    while len(pool.waiting(GUEST_INFO)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pool.waiting(GUEST_INFO)) == 3


def test_closing_the_pool_lets_a_call_in_progress_keep_its_module(make_pool, stub):
    """`close` (the bridge is stopping) stops the waiting runs only. The fork server's parent-death signal follows
    the thread that started it (PR_SET_PDEATHSIG is per thread): the refill's, which ended at `close` and so took
    the fork server and the module of the call in progress with it (the call failed instead of being cancelled and
    audited as interrupted). The refill thread now ends at `shutdown`."""
    pool = make_pool(modules=(VM_RESOURCES,), env={"STUB_SLEEP": "2"})
    ready_run(pool, VM_RESOURCES)
    server = pool.forkserver.pid

    def close_once_the_module_runs() -> None:
        deadline = time.monotonic() + 30
        while not stub.calls() and time.monotonic() < deadline:
            time.sleep(0.05)
        pool.close()

    closer = threading.Thread(target=close_once_the_module_runs)
    closer.start()
    result = pool.run(VM_RESOURCES, {"vmid": 100, "memory": 512})
    closer.join()
    assert result["changed"] is True and stub.guest(100)["memory"] == 512
    assert pool.forkserver.pid == server  # the same server, until shutdown
