"""Is the simulator the bottleneck? Requests/s of concurrent clients against it, with and without injected latency.

A simulator with ``--guests`` extra VMs (benchmarks/_sim_server.py); for each latency (default 0 and 25 ms) and
each client count (default 1, 10, 25, 50), that many clients, each with its own keep-alive HTTPS session (spread
over ``--processes`` client processes so the clients' own CPU is not one GIL), send
``GET /nodes/{node}/qemu/{vmid}/config`` for random guests back to back for ``--seconds``. Measured: requests/s,
p50/p95 latency, the simulator's CPU seconds per second, and against the ideal ``clients / latency`` (each client
waits the latency once per request and nothing else): if the simulator applied the latency under a lock, or
handled one request at a time, the rate would stay near ``1 / latency`` (40/s at 25 ms) whatever the clients.

    nice -n 10 .venv/bin/python benchmarks/sim_throughput.py [--guests 1000] [--clients 1,10,25,50]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402
import _usage  # noqa: E402

FIRST_VMID = 1000


def client_process(
    base_url: str, verify: str, auth: str, guests: int, threads: int, start_at: float, stop_at: float
) -> tuple[list[float], float]:
    """``threads`` clients in this process: the latencies (s) of the requests finished between start and stop,
    and this process's CPU seconds in that window."""
    latencies: list[float] = []
    cpu: dict[str, float] = {}

    def clock() -> None:
        time.sleep(max(0.0, start_at - time.time()))
        cpu["start"] = time.process_time()
        time.sleep(max(0.0, stop_at - time.time()))
        cpu["stop"] = time.process_time()

    lock = threading.Lock()

    def client(seed: int) -> None:
        rnd = random.Random(seed)
        session = requests.Session()
        session.headers["Authorization"] = auth
        mine = []
        while True:
            i = rnd.randrange(guests)
            url = f"{base_url}/api2/json/nodes/pve{1 + i % 2}/qemu/{FIRST_VMID + i}/config"
            t0 = time.time()
            # verify per request: a REQUESTS_CA_BUNDLE in the environment would override session.verify
            session.get(url, timeout=60, verify=verify).raise_for_status()
            t1 = time.time()
            if t1 >= stop_at:
                break
            if t0 >= start_at:
                mine.append(t1 - t0)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client, args=(random.random(),)) for _thread in range(threads)]
    workers.append(threading.Thread(target=clock))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, cpu["stop"] - cpu["start"]


def measure(sim: c.Simulator, clients: int, latency: float, args: argparse.Namespace) -> dict[str, Any]:
    sim.control("POST", "faults", json={"latency": latency})
    auth = "PVEAPIToken={}!{}={}".format(
        sim.env["PROXMOX_USER"], sim.env["PROXMOX_TOKEN_ID"], sim.env["PROXMOX_TOKEN_SECRET"]
    )
    procs = min(clients, args.processes)
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    start_at = time.time() + args.warmup  # connections and TLS handshakes before the window
    stop_at = start_at + args.seconds
    cpu0 = None
    with ProcessPoolExecutor(procs) as pool:
        futures = [
            pool.submit(client_process, sim.base_url, sim.verify, auth, args.guests, share, start_at, stop_at)
            for share in shares
        ]
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = _usage.cpu_seconds(sim.pid)
        time.sleep(max(0.0, stop_at - time.time()))
        cpu1 = _usage.cpu_seconds(sim.pid)
        results = [f.result() for f in futures]
    latencies = [x for lat, _cpu in results for x in lat]
    client_cpu = sum(cpu for _lat, cpu in results)
    rate = len(latencies) / args.seconds
    ideal = clients / latency if latency else None
    return {
        "clients": clients,
        "latency": latency,
        "requests": len(latencies),
        "rate": rate,
        "ideal": ideal,
        "p50_ms": c.percentile(latencies, 50) * 1000,
        "p95_ms": c.percentile(latencies, 95) * 1000,
        "sim_cpu_per_s": (cpu1 - cpu0) / args.seconds,
        "client_cpu_per_s": client_cpu / args.seconds,
    }


def report(rows: list[dict[str, Any]], args: argparse.Namespace, info: dict[str, str], seconds: float) -> str:
    header = ["added latency", "clients", "requests/s", "ideal (clients / latency)", "of ideal", "p50 ms", "p95 ms"]
    header += ["simulator CPU s per s", "clients' CPU s per s"]
    table = []
    for r in rows:
        table.append(
            [
                f"{r['latency'] * 1000:.0f} ms",
                r["clients"],
                f"{r['rate']:.0f}",
                f"{r['ideal']:.0f}" if r["ideal"] else "—",
                f"{r['rate'] / r['ideal'] * 100:.0f} %" if r["ideal"] else "—",
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['sim_cpu_per_s']:.2f}",
                f"{r['client_cpu_per_s']:.2f}",
            ]
        )
    lines = [
        "## Simulator throughput under concurrent clients",
        "",
        f"Measured {c.today()} on {c.machine()}, shared with other work; "
        f"{', '.join(f'{k} {v}' for k, v in info.items())}. benchmarks/_sim_server.py with {args.guests} extra "
        f"VMs; each client a keep-alive HTTPS session sending `GET /nodes/{{node}}/qemu/{{vmid}}/config` for random "
        f"guests back to back, the clients spread over up to {args.processes} processes; {args.seconds:g} s "
        f"measured after {args.warmup:g} s of warm-up. Benchmark run time: {seconds:.0f} s.",
        "",
        f"Command: `{c.command_line()}`",
        "",
        c.md_table(header, table),
        "",
        "Reading it: a simulator that slept the latency under its state lock, or handled one request at a time, "
        "would stay near 1 / latency (40 requests/s at 25 ms) whatever the number of clients. Its CPU column is "
        "one process (one GIL): near 1.0 s per s it would be the limit; the clients' column is what the load "
        "generator itself burnt on the same 2 cores.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--guests", type=int, default=1000)
    ap.add_argument("--clients", default="1,10,25,50")
    ap.add_argument("--latencies", default="0,0.025", help="seconds added to every request")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--processes", type=int, default=5, help="client processes the clients are spread over")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    load_start = c.load_average()
    info = c.base_info()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-simtp-") as tmp,
        c.Simulator(Path(tmp) / "sim", vms=args.guests) as sim,
    ):
        for latency in (float(x) for x in args.latencies.split(",")):
            for clients in (int(x) for x in args.clients.split(",")):
                r = measure(sim, clients, latency, args)
                rows.append(r)
                print(
                    f"latency {latency * 1000:4.0f} ms clients {clients:3d}: {r['rate']:7.1f}/s "
                    f"(ideal {r['ideal'] or 0:.0f}) p50 {r['p50_ms']:.1f} ms p95 {r['p95_ms']:.1f} ms "
                    f"sim cpu {r['sim_cpu_per_s']:.2f}/s",
                    file=sys.stderr,
                    flush=True,
                )
    info["1-min load average (start → end)"] = f"{load_start} → {c.load_average()}"
    text = report(rows, args, info, time.perf_counter() - started)
    c.publish("sim_throughput", text, rows, docs=not args.no_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
