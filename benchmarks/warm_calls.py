"""Warm runs (issue 14) against today's cold path and a bare ansible-runner run, in one run, interleaved.

Three variants of the same read (``guest_info`` / ``get_guest_config`` of VM 101) against the HTTPS simulator:
  * bare:  ``ansible_runner.run()`` of the module in a fresh private data dir (bridge_overhead.bare_run);
  * cold:  a bridge started with ``--no-warm`` (every call starts its ansible-runner run: today's path);
  * warm:  a bridge with its defaults (runs waiting ahead of calls, fork-server interpreter).
Both bridges are ``pve-config-mcp --transport http`` processes driven by the MCP SDK's client.

1. Interactive: per round, in rotating order, a bare run, a cold call and a warm call, each bridge call after
   `--idle` seconds without calls to that bridge; after a warm call the next round waits `--refill` seconds so
   the warm bridge's refill does not run alongside the other variants. Median and p90 per variant, warm/bare.
2. Back to back: 50 calls as fast as 1 and as 4 clients send them (each client its own MCP session), cold and
   warm blocks alternating (cold, warm, warm, cold): median, p90, max, calls/s.
3. Memory: PSS of each bridge with every process below it (runs, fork server), at rest and the peak under load.

The machine is shared (2 cores, other jobs): the numbers are noisy; compare variants within one run only.

    .venv/bin/python benchmarks/warm_calls.py [--rounds 12] [--calls 50] [--json benchmarks/results/warm_calls.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bridge_overhead import VMID, bare_run  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from mcp_bridge.collection import collections_root  # noqa: E402
from mcp_bridge.testing import BridgeProcess  # noqa: E402
from pve_sim.testing import running_simulator  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_s": statistics.median(values),
        "p90_s": percentile(values, 90),
        "max_s": max(values),
    }


def tree(pid: int) -> list[int]:
    """`pid` and every process below it (by parent pid, from /proc)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        kids = [k for k, v in parent.items() if v == p]
        found += kids
        todo += kids
    return found


def pss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


class PeakMemory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, pss_mib(self.pid))
            self._done.wait(0.25)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def start_bridge(sim_env: dict[str, str], workdir: Path, name: str, extra: list[str]) -> BridgeProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_", "ANSIBLE_"))}
    env.update({k: v for k, v in sim_env.items() if k.startswith("PROXMOX_")})
    env["PYTHONPATH"] = str(REPO)
    env["TMPDIR"] = str(workdir)
    args = ["--audit-log", "off", *extra]
    return BridgeProcess(args, env, workdir / f"{name}.log", cwd=REPO)


async def call(client: Client) -> float:
    started = time.perf_counter()
    result = await client.call_tool("get_guest_config", {"vmid": VMID})
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(f"get_guest_config failed: {result.content[0].text}")
    return elapsed


async def back_to_back(url: str, clients: int, calls: int) -> dict[str, float]:
    """`calls` calls shared by `clients` sessions, each sending its next call as soon as it has an answer."""
    times: list[float] = []
    left = [calls]

    async def client_loop() -> None:
        async with Client(streamable_http_client(url)) as client:
            while left[0] > 0:
                left[0] -= 1
                times.append(await call(client))

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _client in range(clients):
            tg.start_soon(client_loop)
    wall = time.perf_counter() - started
    return {**stats(times), "calls_per_s": len(times) / wall, "wall_s": wall}


async def measure(ns: argparse.Namespace, sim, workdir: Path) -> dict[str, Any]:
    proxmox = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}
    bin_dir = str(Path(sys.executable).parent)
    bare_env = {
        **proxmox,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)]),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_root()),
    }
    (workdir / "cold").mkdir()
    (workdir / "warm").mkdir()
    cold = start_bridge(proxmox, workdir / "cold", "cold", ["--no-warm"])
    warm = start_bridge(proxmox, workdir / "warm", "warm", [])
    report: dict[str, Any] = {"rounds": ns.rounds, "idle_s": ns.idle, "refill_s": ns.refill, "calls": ns.calls}
    try:
        async with (
            Client(streamable_http_client(cold.url)) as cold_client,
            Client(streamable_http_client(warm.url)) as warm_client,
        ):
            await anyio.sleep(ns.refill)  # the warm bridge's first run
            report["memory_at_rest_mib"] = {"cold": pss_mib(cold.pid), "warm": pss_mib(warm.pid)}
            times: dict[str, list[float]] = {"bare": [], "cold": [], "warm": []}
            last = {"cold": 0.0, "warm": 0.0}

            async def variant(name: str) -> None:
                if name == "bare":
                    started = time.perf_counter()
                    await anyio.to_thread.run_sync(bare_run, "pve.config.guest_info", {"vmid": VMID}, bare_env)
                    times["bare"].append(time.perf_counter() - started)
                    return
                await anyio.sleep(max(0.0, last[name] + ns.idle - time.monotonic()))
                times[name].append(await call(cold_client if name == "cold" else warm_client))
                last[name] = time.monotonic()
                if name == "warm":
                    await anyio.sleep(ns.refill)

            orders = (("bare", "cold", "warm"), ("warm", "bare", "cold"), ("cold", "warm", "bare"))
            for i in range(ns.warmup + ns.rounds):
                if i == ns.warmup:
                    times = {"bare": [], "cold": [], "warm": []}
                for name in orders[i % 3]:
                    await variant(name)
            report["interactive"] = {name: stats(values) for name, values in times.items()}
            report["interactive"]["warm_over_bare"] = (
                report["interactive"]["warm"]["median_s"] / report["interactive"]["bare"]["median_s"]
            )
            report["interactive"]["cold_over_bare"] = (
                report["interactive"]["cold"]["median_s"] / report["interactive"]["bare"]["median_s"]
            )
        report["back_to_back"] = {}
        for clients in ns.clients:
            for name in ("cold", "warm", "warm", "cold"):
                bridge = cold if name == "cold" else warm
                key = f"{name}, {clients} client{'s' if clients > 1 else ''}"
                if key in report["back_to_back"]:
                    continue
                await anyio.sleep(ns.refill)
                peak = PeakMemory(bridge.pid)
                peak.start()
                row = await back_to_back(bridge.url, clients, ns.calls)
                row["peak_memory_mib"] = peak.stop()
                report["back_to_back"][key] = row
                print(f"  {key}: {row}", file=sys.stderr, flush=True)
    finally:
        cold.stop()
        warm.stop()
    return report


def print_report(r: dict[str, Any]) -> None:
    print(f"interactive: {r['rounds']} rounds, a call after {r['idle_s']:g} s idle (get_guest_config, VM {VMID})")
    print(f"{'variant':34} {'median':>8} {'p90':>8} {'max':>8}")
    labels = {
        "bare": "bare ansible-runner run (cold)",
        "cold": "bridge --no-warm (today)",
        "warm": "bridge, warm run",
    }
    for name, label in labels.items():
        row = r["interactive"][name]
        print(f"{label:34} {row['median_s']:7.3f}s {row['p90_s']:7.3f}s {row['max_s']:7.3f}s")
    print(f"warm / bare (median): {r['interactive']['warm_over_bare']:.3f}  (target <= 0.25, and <= 0.4 s absolute)")
    print(f"cold / bare (median): {r['interactive']['cold_over_bare']:.3f}")
    print(f"\nback to back: {r['calls']} calls")
    print(f"{'variant':22} {'median':>8} {'p90':>8} {'max':>8} {'calls/s':>8} {'peak PSS':>9}")
    for key, row in r["back_to_back"].items():
        print(
            f"{key:22} {row['median_s']:7.3f}s {row['p90_s']:7.3f}s {row['max_s']:7.3f}s "
            f"{row['calls_per_s']:8.2f} {row['peak_memory_mib']:7.0f}MB"
        )
    rest = r["memory_at_rest_mib"]
    print(f"\nmemory at rest (PSS, bridge + its processes): cold {rest['cold']:.0f} MB, warm {rest['warm']:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds without calls before an interactive call")
    parser.add_argument("--refill", type=float, default=6.0, help="seconds left to the warm bridge's refill")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--clients", type=lambda v: [int(x) for x in v.split(",")], default=[1, 4])
    parser.add_argument("--json", type=Path)
    ns = parser.parse_args()
    with running_simulator() as sim, tempfile.TemporaryDirectory(prefix="bench-warm-") as workdir:
        report = anyio.run(measure, ns, sim, Path(workdir))
    report["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    print_report(report)
    if ns.json:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
