"""The MCP bridge under load: many concurrent MCP clients over streamable HTTP, on many guests.

A simulator with ``--guests`` extra VMs (benchmarks/_sim_server.py) and one bridge process
(``pve-config-mcp --transport http --port 0 --max-parallel P``, bearer token, audit log on) are started; then
``--clients`` SDK clients (``mcp.Client`` over ``streamable_http_client``, one MCP session each) connect, wait
for each other and each make one ``get_guest_config`` call and ``--calls`` ``add_vm_network`` calls. Every
write has its own (guest, netN, VLAN tag), so at the end the simulator's state shows whether every intended
change is present (a missing or different NIC is a lost update). Measured: calls per second, latency p50/p95/max
(client side, per call), errors, lost updates, the bridge's RSS (idle, after a warm-up call, peak, after the
load) and its child processes left over.

    .venv/bin/python benchmarks/load.py [--clients 50] [--guests 20] [--calls 2] [--max-parallel 4] [--no-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

if str(c.REPO) not in sys.path:  # the bridge package from this checkout, also without pip install -e
    sys.path.insert(0, str(c.REPO))

from mcp_bridge.testing import BridgeProcess  # noqa: E402

FIRST_VMID = 1000
TOKEN = "bench-load-token-0c4f"


def rss_kib(pid: int) -> int:
    try:
        m = re.search(r"^VmRSS:\s+(\d+)\s+kB", Path(f"/proc/{pid}/status").read_text(), re.M)
        return int(m.group(1)) if m else 0
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    """Direct and indirect child processes of ``pid`` (from /proc)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parent[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [k for k, v in parent.items() if v == p]
        found += kids
        frontier += kids
    return found


class Bridge:
    """The bridge as a child process on a free loopback port."""

    def __init__(self, sim_env: dict[str, str], max_parallel: int, workdir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_", "ANSIBLE_"))}
        env.update({k: v for k, v in sim_env.items() if k.startswith("PROXMOX_")})
        env["PVE_MCP_TOKEN"] = TOKEN
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(c.REPO), env.get("PYTHONPATH")]))
        env["PATH"] = c.VENV_BIN + os.pathsep + env.get("PATH", "")
        script = shutil.which("pve-config-mcp", path=c.VENV_BIN)
        self.command = [script] if script else [c.PYTHON, "-m", "mcp_bridge"]
        extra = ["--max-parallel", str(max_parallel), "--audit-log", str(workdir / "audit.jsonl")]
        self.args = ["--transport", "http", "--port", "0", *extra]  # as BridgeProcess runs it, for the report
        self.process = BridgeProcess(extra, env, workdir / "bridge.log", cwd=c.REPO, command=self.command)
        self.proc = self.process.proc
        self.url = self.process.url
        self.log_path = self.process.log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own user+system CPU s, CPU s of its waited-for children) of a process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan"), float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime) / tick, (cutime + cstime) / tick


class RssSampler(threading.Thread):
    """RSS of the bridge every ``interval`` s, with the number of calls completed at that moment."""

    def __init__(self, pid: int, progress: Any, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.progress = pid, interval, progress
        self.samples: list[tuple[int, int]] = []  # (calls completed, RSS KiB)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.samples.append((self.progress(), rss_kib(self.pid)))

    def at_fraction(self, total: int, fraction: float) -> int:
        """RSS at the first sample after ``fraction`` of ``total`` calls completed."""
        for done, rss in self.samples:
            if done >= fraction * total:
                return rss
        return self.samples[-1][1] if self.samples else 0

    def stop(self) -> None:
        self._halt.set()
        self.join()


def plan(clients: int, calls: int, guests: int) -> list[list[dict[str, Any]]]:
    """Per client: one read, then ``calls`` writes; write number i (over all clients) goes to guest i % guests,
    slot net(1 + i // guests), VLAN tag 100 + i."""
    if clients * calls > guests * 31:
        raise SystemExit("more writes than free NIC slots (31 per guest): lower --clients/--calls or raise --guests")
    work = []
    for k in range(clients):
        items = []
        first = k * calls
        items.append({"tool": "get_guest_config", "args": {"vmid": FIRST_VMID + first % guests}, "write": False})
        for j in range(calls):
            i = first + j
            vmid, slot, tag = FIRST_VMID + i % guests, f"net{1 + i // guests}", 100 + i
            items.append(
                {
                    "tool": "add_vm_network",
                    "args": {"vmid": vmid, "interface_id": slot, "bridge": "vmbr0", "tag": tag},
                    "write": True,
                    "expect": (vmid, slot, tag),
                }
            )
        work.append(items)
    return work


async def client_task(
    url: str,
    items: list[dict[str, Any]],
    ready: asyncio.Event,
    go: asyncio.Event,
    out: list[dict[str, Any]],
    connected: list[int],
) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            connected.append(1)
            ready.set()
            await go.wait()
            for item in items:
                t0 = time.perf_counter()
                rec = {"tool": item["tool"], "write": item["write"], "expect": item.get("expect")}
                try:
                    res = await client.call_tool(item["tool"], item["args"])
                    rec["error"] = (
                        res.content[0].text[:300]
                        if res.is_error and res.content
                        else ("error" if res.is_error else None)
                    )
                    rec["changed"] = bool((res.structured_content or {}).get("changed"))
                except Exception as exc:  # noqa: BLE001 - counted, not raised: the benchmark reports errors
                    rec["error"] = f"{type(exc).__name__}: {exc}"[:300]
                rec["seconds"] = time.perf_counter() - t0
                out.append(rec)
    except Exception as exc:  # noqa: BLE001 - a client that cannot connect or breaks is an error of the run
        out.append({"tool": "connect", "write": False, "error": f"{type(exc).__name__}: {exc}"[:300], "seconds": 0})
        ready.set()


async def drive(url: str, work: list[list[dict[str, Any]]], out: list[dict[str, Any]]) -> tuple[float, float]:
    connected: list[int] = []
    go = asyncio.Event()
    readies = [asyncio.Event() for _items in work]
    t_connect = time.perf_counter()
    tasks = [
        asyncio.create_task(client_task(url, items, readies[k], go, out, connected)) for k, items in enumerate(work)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
    connect_s = time.perf_counter() - t_connect
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, connect_s


async def warm_up(url: str) -> float:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        t0 = time.perf_counter()
        res = await client.call_tool("get_guest_config", {"vmid": FIRST_VMID})
        if res.is_error:
            raise RuntimeError(f"warm-up call failed: {res.content[0].text if res.content else res}")
        return time.perf_counter() - t0


def lost_updates(state: dict[str, Any], results: list[dict[str, Any]]) -> tuple[list[str], int]:
    """Writes that succeeded but whose NIC is missing or different in the simulator's state; plus the count of
    NICs nobody asked for."""
    guests = state["guests"]
    lost = []
    expected: dict[int, set[str]] = {}
    for r in results:
        if not r.get("write") or r.get("error"):  # failed calls are counted as errors, not as lost updates
            continue
        vmid, slot, tag = r["expect"]
        expected.setdefault(vmid, set()).add(slot)
        nic = (guests.get(str(vmid)) or {}).get("config", {}).get(slot)
        props = dict(p.split("=", 1) for p in str(nic or "").split(",") if "=" in p)
        if nic is None or props.get("tag") != str(tag) or props.get("bridge") != "vmbr0":
            lost.append(f"{vmid} {slot} tag {tag}: found {nic!r}")
    unexpected = 0
    for vmid, slots in expected.items():
        conf = (guests.get(str(vmid)) or {}).get("config", {})
        unexpected += sum(1 for k in conf if re.fullmatch(r"net\d+", k) and k != "net0" and k not in slots)
    return lost, unexpected


def report(r: dict[str, Any], info: dict[str, str], seconds: float) -> str:
    lat = [x["seconds"] for x in r["results"] if x["tool"] != "connect"]
    wlat = [x["seconds"] for x in r["results"] if x.get("write")]
    rlat = [x["seconds"] for x in r["results"] if x["tool"] == "get_guest_config"]
    errors = [x for x in r["results"] if x.get("error")]
    header = ["metric", "value"]
    rss = r["rss_kib"]
    rows = [
        ["clients (MCP sessions over streamable HTTP, concurrent)", r["clients"]],
        ["guests", r["guests"]],
        ["bridge --max-parallel (module runs at once; writes also one at a time per guest)", r["max_parallel"]],
        [f"calls (1 get_guest_config + {r['calls']} add_vm_network per client)", len(lat)],
        ["wall time of the load (all clients connected first)", f"{r['load_s']:.1f} s"],
        ["calls per second", f"{len(lat) / r['load_s']:.2f}"],
        [
            "latency p50 / p95 / max, all calls",
            f"{c.percentile(lat, 50):.1f} / {c.percentile(lat, 95):.1f} / {max(lat):.1f} s",
        ],
        ["latency p50 / p95, add_vm_network", f"{c.percentile(wlat, 50):.1f} / {c.percentile(wlat, 95):.1f} s"],
        ["latency p50 / p95, get_guest_config", f"{c.percentile(rlat, 50):.1f} / {c.percentile(rlat, 95):.1f} s"],
        ["single call on an idle bridge (warm-up get_guest_config)", f"{r['warmup_s']:.2f} s"],
        ["errors", len(errors)],
        [
            "writes reporting changed=true",
            f"{sum(1 for x in r['results'] if x.get('write') and x.get('changed'))} of {len(wlat)}",
        ],
        ["lost updates (intended NIC missing/different in the simulator)", len(r["lost"])],
        ["unexpected NICs", r["unexpected"]],
        [
            "bridge RSS: idle / after warm-up / peak / after load",
            f"{rss['idle'] / 1024:.1f} / "
            f"{rss['warm'] / 1024:.1f} / {rss['peak'] / 1024:.1f} / {rss['after'] / 1024:.1f} MiB",
        ],
        [
            "bridge RSS after 25% / 50% / 75% / 100% of the calls",
            " / ".join(f"{k / 1024:.1f}" for k in [*rss["steps"], rss["after"]]) + " MiB",
        ],
        [
            "bridge RSS growth over the load (after load − after warm-up)",
            f"{(rss['after'] - rss['warm']) / 1024:+.1f} MiB",
        ],
        ["bridge child processes left after the load", r["children_after"]],
        [
            "CPU during the load: bridge process / its ansible runs (per call)",
            f"{r['cpu']['own']:.0f} s / {r['cpu']['children']:.0f} s ({r['cpu']['own'] / len(lat):.2f} s / "
            f"{r['cpu']['children'] / len(lat):.2f} s), on {os.cpu_count()} CPUs in {r['load_s']:.0f} s",
        ],
        ["API requests to the simulator (per call)", f"{r['api_requests']} ({r['api_requests'] / len(lat):.1f})"],
    ]
    vers = ", ".join(f"{k} {v}" for k, v in info.items())
    lines = [
        "## MCP bridge under load (streamable HTTP)",
        "",
        f"Measured {c.today()} on {c.machine()}; {vers}. One bridge process (`{' '.join(r['command'])}`, bearer "
        "token, audit log on) in front of the simulator with extra VMs (benchmarks/_sim_server.py); every call "
        "runs one pve.config module through ansible-runner. Clients are the SDK's `mcp.Client` over "
        "`streamable_http_client`, one session each, all connected before the first call; each write sets its own "
        "(guest, netN, VLAN tag) so the final simulator state shows every lost update. "
        f"Benchmark run time: {seconds:.0f} s (load phase {r['load_s']:.0f} s).",
        "",
        f"Command: `{c.command_line()}`",
        "",
        c.md_table(header, rows),
    ]
    if errors:
        lines += ["", "First errors:", ""] + [f"- `{e['tool']}`: {e['error']}" for e in errors[:5]]
    if r["lost"]:
        lines += ["", "First lost updates:", ""] + [f"- {x}" for x in r["lost"][:5]]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--guests", type=int, default=20)
    ap.add_argument("--calls", type=int, default=2, help="add_vm_network calls per client (after one read)")
    ap.add_argument("--max-parallel", type=int, default=4, help="the bridge's --max-parallel")
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    started = time.perf_counter()
    load_start = c.load_average()
    work = plan(args.clients, args.calls, args.guests)
    v = c.versions()
    info = {
        "pve.config": f"{v.get('pve.config', '?')} ({v.get('git', '?')})",
        "mcp": v.get("mcp", "?"),
        "ansible-runner": v.get("ansible-runner", "?"),
        "ansible-core": v.get("ansible-core", "?"),
        "Python": v["python"],
    }
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        workdir = Path(tmp)
        with c.Simulator(workdir / "sim", vms=args.guests) as sim:
            bridge = Bridge(sim.env, args.max_parallel, workdir)
            try:
                time.sleep(1.0)
                rss = {"idle": rss_kib(bridge.pid)}
                warmup_s = asyncio.run(warm_up(bridge.url))
                time.sleep(0.5)
                rss["warm"] = rss_kib(bridge.pid)
                sim.clear_requests()
                results: list[dict[str, Any]] = []
                sampler = RssSampler(bridge.pid, lambda: len(results))
                cpu_before = cpu_seconds(bridge.pid)
                sampler.start()
                print(
                    f"{args.clients} clients, {args.guests} guests, max-parallel {args.max_parallel}: "
                    f"{sum(len(w) for w in work)} calls ...",
                    file=sys.stderr,
                    flush=True,
                )
                load_s, connect_s = asyncio.run(drive(bridge.url, work, results))
                sampler.stop()
                cpu_after = cpu_seconds(bridge.pid)
                total = len(results)
                rss_steps = [sampler.at_fraction(total, f) for f in (0.25, 0.5, 0.75)]
                time.sleep(1.0)
                rss["after"] = rss_kib(bridge.pid)
                rss["peak"] = max([s for _done, s in sampler.samples] + [rss["after"], rss["warm"]])
                rss["steps"] = rss_steps
                left = children(bridge.pid)
                api_requests = len(c.api_requests(sim.requests_log()))
                state = sim.control("GET", "state")
            finally:
                bridge.stop()
            command = [Path(bridge.command[0]).name, *bridge.command[1:], *bridge.args[:-1], "<tmp>/audit.jsonl"]
    lost, unexpected = lost_updates(state, results)
    r = {
        "clients": args.clients,
        "guests": args.guests,
        "calls": args.calls,
        "max_parallel": args.max_parallel,
        "results": results,
        "load_s": load_s,
        "connect_s": connect_s,
        "warmup_s": warmup_s,
        "rss_kib": rss,
        "children_after": len(left),
        "lost": lost,
        "unexpected": unexpected,
        "api_requests": api_requests,
        "command": command,
        "cpu": {"own": cpu_after[0] - cpu_before[0], "children": cpu_after[1] - cpu_before[1]},
    }
    info["1-min load average (start → end)"] = f"{load_start} → {c.load_average()}"
    text = report(r, info, time.perf_counter() - started)
    print(text)
    c.save_result("load", text, r)
    if not args.no_docs:
        c.update_docs("load", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
