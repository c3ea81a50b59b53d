"""Shared pieces of the benchmarks: the simulator process, ansible-playbook runs, the community.proxmox copy,
Markdown tables and the generated sections of docs/benchmarks.md.

Nothing here is a test: the benchmarks measure and print; they never assert.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _usage  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
CACHE = Path(os.environ.get("PVE_BENCH_CACHE") or BENCH / ".cache")
RESULTS = Path(os.environ.get("PVE_BENCH_RESULTS") or BENCH / "results")
DOCS = REPO / "docs" / "benchmarks.md"
PYTHON = sys.executable
VENV_BIN = str(Path(PYTHON).parent)
CALLBACKS = BENCH / "callback_plugins"

# ansible 12.x is the community package built for ansible-core 2.19 (the core this project pins); it ships
# community.proxmox 1.4.0. ansible 14.5.0 ships community.proxmox 2.0.0 (the current release), whose modules run
# on ansible-core 2.19 too (requires_ansible >= 2.17); the package itself wants Python 3.12, hence the wheel is
# fetched for 3.12 (only the collection's files are used, by the project's own ansible-core).
ANSIBLE_PACKAGE_VERSION = "12.3.0"
ANSIBLE_PACKAGE_VERSIONS = ("12.3.0", "14.5.0")
WHEEL_PYTHON = "3.12"


# -- community.proxmox, taken from the `ansible` wheel ------------------------------------------------------


def collections_dir(ansible_version: str = ANSIBLE_PACKAGE_VERSION) -> tuple[str, str]:
    """``ANSIBLE_COLLECTIONS_PATH`` holding community.proxmox (taken from the ``ansible`` wheel) and pve.config
    (this checkout); returns ``(path, community.proxmox version)``.

    Only the wheel is downloaded (``pip download --no-deps --python-version 3.12 --only-binary=:all:``), only ``ansible_collections/community/proxmox`` is
    extracted from it (under benchmarks/.cache, or ``$PVE_BENCH_CACHE``) and the wheel is then deleted; nothing
    is installed into the venv. pve.config is reached through the tests' symlink directory (outside the checkout,
    so no link inside the tree points back at it).
    """
    root = CACHE / "collections" / f"ansible-{ansible_version}"
    target = root / "ansible_collections" / "community" / "proxmox"
    if not (target / "MANIFEST.json").exists():
        with tempfile.TemporaryDirectory(prefix="bench-dl-") as dl:
            subprocess.run(
                [
                    *(PYTHON, "-m", "pip", "download", "--quiet", f"ansible=={ansible_version}", "--no-deps"),
                    *("--python-version", WHEEL_PYTHON, "--only-binary=:all:", "-d", dl),
                ],
                check=True,
            )
            wheel = next(Path(dl).glob("ansible-*.whl"))
            prefix = "ansible_collections/community/proxmox/"
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(dl, [n for n in zf.namelist() if n.startswith(prefix)])
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(Path(dl) / prefix), target)
    manifest = json.loads((target / "MANIFEST.json").read_text())
    return f"{root}{os.pathsep}{pve_config_collections_dir()}", manifest["collection_info"]["version"]


def pve_config_collections_dir() -> Path:
    """A directory with ``ansible_collections/pve/config`` -> this checkout (the tests' helper builds it in the
    temp directory)."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from collection_path import collection_root
    finally:
        sys.path.pop(0)
    return collection_root()


# -- the simulator ---------------------------------------------------------------------------------------------


def read_env_sh(path: Path) -> dict[str, str]:
    """``export KEY=VALUE`` lines of the simulator's env.sh (shell-quoted values)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if sep:
                env[key] = value
    return env


class Simulator:
    """``python -m pve_sim --port 0 --state-dir DIR`` as a child process of the benchmark (stopped by ``stop``);
    with ``vms`` > 0, benchmarks/_sim_server.py, the same server with that many extra VMs (VMIDs from 1000)."""

    def __init__(self, state_dir: Path, vms: int = 0) -> None:
        self.state_dir = Path(state_dir)
        self.vms = vms
        self.proc: subprocess.Popen | None = None
        self.verify: str | bool = False
        self.env: dict[str, str] = {}
        self.session = requests.Session()

    def start(self, timeout: float = 30.0) -> Simulator:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env_sh = self.state_dir / "env.sh"
        if env_sh.exists():
            env_sh.unlink()
        self._log = open(self.state_dir / "simulator.log", "ab")
        if self.vms:
            cmd = [PYTHON, str(BENCH / "_sim_server.py"), "--state-dir", str(self.state_dir), "--vms", str(self.vms)]
        else:
            cmd = [PYTHON, "-m", "pve_sim", "--port", "0", "--state-dir", str(self.state_dir)]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        deadline = time.monotonic() + timeout
        while not env_sh.exists() or "PROXMOX_HOST" not in env_sh.read_text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited with {self.proc.returncode}; see {self._log.name}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"simulator did not write {env_sh} within {timeout}s")
            time.sleep(0.05)
        time.sleep(0.05)  # the file is written in one go, but be safe about a partial read
        self.env = read_env_sh(env_sh)
        # explicit per request: a REQUESTS_CA_BUNDLE in the environment would override session.verify
        self.verify = self.env.get("PROXMOX_CA_PATH") or False
        while True:  # env.sh may be written just before the server accepts connections
            try:
                self.control("GET", "faults")
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)
        return self

    @property
    def base_url(self) -> str:
        host = self.env["PROXMOX_HOST"]
        port = self.env.get("PROXMOX_PORT")
        if port and ":" not in host:
            host = f"{host}:{port}"
        return f"https://{host}"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.session.request(
            method, self.base_url + "/_sim/" + path.lstrip("/"), timeout=60, verify=self.verify, **kwargs
        )
        r.raise_for_status()
        if not r.content:
            return None
        body = r.json()
        return body.get("data", body) if isinstance(body, dict) else body

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A Proxmox API call with the simulator's token (the same credentials the modules get)."""
        headers = {
            "Authorization": "PVEAPIToken={}!{}={}".format(
                self.env["PROXMOX_USER"], self.env["PROXMOX_TOKEN_ID"], self.env["PROXMOX_TOKEN_SECRET"]
            )
        }
        r = self.session.request(
            method,
            self.base_url + "/api2/json/" + path.lstrip("/"),
            headers=headers,
            timeout=60,
            verify=self.verify,
            **kwargs,
        )
        r.raise_for_status()
        return r.json().get("data")

    def requests_log(self) -> list[dict[str, Any]]:
        return self.control("GET", "requests")

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    def reset(self) -> None:
        self.control("POST", "reset")

    def config(self, vmid: int) -> dict[str, Any]:
        for g in self.api("GET", "cluster/resources", params={"type": "vm"}):
            if g["vmid"] == vmid:
                return self.api("GET", f"nodes/{g['node']}/{g['type']}/{vmid}/config")
        raise KeyError(vmid)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()
        self.proc = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def api_requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Proxmox API requests of a request log (control-API requests left out, if the log has any)."""
    return [e for e in log if not str(e.get("path", "")).startswith("/_sim")]


def count_methods(log: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in api_requests(log):
        out[e["method"]] = out.get(e["method"], 0) + 1
    return out


def error_answers(log: list[dict[str, Any]]) -> list[str]:
    """API requests the simulator answered with a status >= 400 (a simulator gap shows up here as a 501)."""
    return [
        f"{e.get('status')} {e['method']} {e['path']}" for e in api_requests(log) if int(e.get("status") or 0) >= 400
    ]


def writes(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in api_requests(log) if e["method"] != "GET"]


def describe_requests(log: list[dict[str, Any]]) -> str:
    """``3 (2 GET, 1 PUT)``."""
    counts = count_methods(log)
    total = sum(counts.values())
    order = ["GET", "POST", "PUT", "DELETE"]
    parts = [f"{counts[m]} {m}" for m in order if counts.get(m)]
    return f"{total} ({', '.join(parts)})" if parts else "0"


def request_paths(log: list[dict[str, Any]]) -> list[str]:
    return ["{} {}".format(e["method"], re.sub(r"UPID:[^/]+", "{upid}", e["path"])) for e in api_requests(log)]


# -- ansible-playbook --------------------------------------------------------------------------------------------


@dataclass
class PlaybookRun:
    rc: int
    seconds: float
    stdout: str
    stderr: str
    results: list[dict[str, Any]] = field(default_factory=list)
    usage: _usage.Usage | None = None  # CPU and memory of the ansible-playbook process tree

    def task(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r["task"] == name]

    @property
    def changed(self) -> int:
        return sum(1 for r in self.results if r["changed"])

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r["status"] in ("failed", "unreachable"))

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.results if r["status"] == "skipped")

    @property
    def diff_printed(self) -> bool:
        """The default callback printed a unified diff (``--- before`` / ``+++ after``)."""
        return bool(re.search(r"^--- before", self.stdout, re.M) and re.search(r"^\+\+\+ after", self.stdout, re.M))

    def first_failure(self) -> str:
        for r in self.results:
            if r["status"] in ("failed", "unreachable"):
                return str(r["res"].get("msg", ""))[:300]
        return ""


def write_inventory(directory: Path, hosts: dict[str, dict[str, Any]], group: str = "all") -> Path:
    """An INI-free YAML inventory; every host runs locally with the venv's interpreter."""
    import yaml

    inv = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": PYTHON},
            "children": {group: {"hosts": hosts}} if group != "all" else {},
        }
    }
    if group == "all":
        inv["all"]["hosts"] = hosts
    path = Path(directory) / "inventory.yml"
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    return path


def ansible_env(collections: str | Path, connection: dict[str, str], record: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "ANSIBLE_"))}
    env.update(connection)
    env.update(
        PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED="bench_record",
        BENCH_RECORD=str(record),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_HOST_KEY_CHECKING="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(record.parent / "ansible-tmp"),
        ANSIBLE_CONFIG=str(record.parent / "ansible.cfg"),  # an empty one: no user or system config applies
    )
    return env


def run_playbook(
    playbook: Path,
    inventory: Path,
    collections: str | Path,
    connection: dict[str, str],
    *,
    check: bool = False,
    diff: bool = False,
    forks: int | None = None,
    extravars: dict[str, Any] | None = None,
    timeout: float = 900,
) -> PlaybookRun:
    """One real ``ansible-playbook`` process; wall time measured around the process."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        record = Path(tmp) / "record.jsonl"
        cmd = [str(Path(VENV_BIN) / "ansible-playbook"), "-i", str(inventory), str(playbook)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if forks:
            cmd += ["--forks", str(forks)]
        if extravars:
            cmd += ["-e", json.dumps(extravars)]
        (Path(tmp) / "ansible.cfg").write_text("[defaults]\n")
        env = ansible_env(collections, connection, record)
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            usage = _usage.run(cmd, env=env, cwd=tmp, stdout=stdout, stderr=stderr, timeout=timeout)
        results = []
        if record.exists():
            results = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        text = {f: f.read_text(errors="replace") for f in (out, err)}
        return PlaybookRun(usage.rc, usage.seconds, text[out], text[err], results, usage)


# -- numbers and tables ------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(pct / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("ansible-core", "proxmoxer", "requests", "ansible-runner", "mcp", "pve-config"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    try:
        out["pve.config"] = re.search(r"^version:\s*(\S+)", (REPO / "galaxy.yml").read_text(), re.M).group(1)
    except (OSError, AttributeError):
        pass
    try:
        out["git"] = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def base_info() -> dict[str, str]:
    """pve.config (version and commit), ansible-core and Python, for a report's first line."""
    v = versions()
    return {
        "pve.config": f"{v.get('pve.config', '?')} ({v.get('git', '?')})",
        "ansible-core": v.get("ansible-core", "?"),
        "Python": v["python"],
    }


def machine() -> str:
    cpus = os.cpu_count() or 0
    try:
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{round(mem_kib / 1024 / 1024)} GiB"
    except (OSError, AttributeError):
        mem = "?"
    return f"{platform.machine()}, {cpus} CPUs, {mem} RAM"


def load_average() -> str:
    """The 1-minute load average (other work on the machine shows up in wall times)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def today() -> str:
    return _dt.date.today().isoformat()


def command_line() -> str:
    rel = os.path.relpath(sys.argv[0], REPO)
    return " ".join([".venv/bin/python", rel, *[shlex.quote(a) for a in sys.argv[1:]]])


def update_docs(name: str, text: str, path: Path = DOCS, script: str | None = None) -> None:
    """Replace the generated section ``name`` of docs/benchmarks.md (between BEGIN/END markers); append it when
    missing. Text outside the markers is left alone."""
    begin = f"<!-- BEGIN {name} (generated by benchmarks/{script or name}.py) -->"
    end = f"<!-- END {name} -->"
    block = "{}\n{}\n{}".format(begin, text.strip("\n"), end)
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(doc):
        doc = pattern.sub(lambda _m: block, doc)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(doc)


def save_result(name: str, text: str, data: Any = None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / (f"{name}.md")).write_text(text)
    if data is not None:
        (RESULTS / (f"{name}.json")).write_text(json.dumps(data, indent=2, default=str))
    return RESULTS / (f"{name}.md")


def save_partial(name: str, data: Any) -> Path:
    """Raw numbers measured so far (``<name>.partial.json``), rewritten after every step of a long run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.partial.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def publish(name: str, text: str, data: Any, docs: bool = True) -> None:
    """The end of a benchmark: print its Markdown, keep the raw numbers and (unless ``docs`` is false) replace its
    section of docs/benchmarks.md."""
    print(text)
    save_result(name, text, data)
    if docs:
        update_docs(name, text)
