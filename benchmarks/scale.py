"""pve.config at scale: one playbook over N VMs with forks, changing memory on every guest, then the same again.

For each guest count (default 25, 50, 100, 200) a fresh simulator gets N extra VMs (benchmarks/_sim_server.py);
the inventory has one host per VM (``vmid`` as a host variable, local connection, node not given, so each run
also looks the guest up in ``/cluster/resources``); ``pve.config.vm_resources`` sets ``memory`` on every guest
(2048 → 4096 MiB), then the same playbook runs again (nothing to change). Measured per run: wall time of the
``ansible-playbook`` process, time per guest, API requests per guest (simulator request log), changed/failed
hosts.

    .venv/bin/python benchmarks/scale.py [--guests 25,50,100,200] [--forks 10] [--no-docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

FIRST_VMID = 1000
PLAYBOOK = [
    {
        "name": "Memory on every guest",
        "hosts": "guests",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Set memory",
                "pve.config.vm_resources": {"vmid": "{{ vmid }}", "memory": "{{ memory }}"},
            }
        ],
    }
]


def run_size(n: int, forks: int, collections: str, workdir: Path) -> dict[str, Any]:
    d = workdir / f"n{n}"
    d.mkdir()
    hosts = {f"vm{FIRST_VMID + i}": {"vmid": FIRST_VMID + i} for i in range(n)}
    inventory = c.write_inventory(d, hosts, group="guests")
    playbook = d / "memory.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    out: dict[str, Any] = {"guests": n, "forks": forks}
    with c.Simulator(d / "sim", vms=n) as sim:
        for phase in ("change", "no-op"):
            sim.clear_requests()
            run = c.run_playbook(playbook, inventory, collections, sim.env, forks=forks, extravars={"memory": 4096})
            log = sim.requests_log()
            counts = c.count_methods(log)
            total = sum(counts.values())
            task_times = [r["seconds"] for r in run.results if "seconds" in r]
            out[phase] = {
                "rc": run.rc,
                "seconds": run.seconds,
                "per_guest_s": run.seconds / n,
                "requests": total,
                "requests_per_guest": total / n,
                "by_method": counts,
                "changed": run.changed,
                "failed": run.failed,
                "results": len(run.results),
                "first_failure": run.first_failure(),
                "task_span_s": max(task_times) if task_times else float("nan"),
            }
            print(
                f"{n:4d} guests {phase:7} {run.seconds:7.1f}s  {total:5d} requests  changed={run.changed} "
                f"failed={run.failed} rc={run.rc} {run.first_failure()[:80]}",
                file=sys.stderr,
                flush=True,
            )
        # every guest got the new memory
        guests = sim.control("GET", "state")["guests"]
        wrong = []
        for i in range(n):
            vmid = FIRST_VMID + i
            g = guests.get(str(vmid)) or {}
            if str((g.get("config") or {}).get("memory")) != "4096" or g.get("pending"):
                wrong.append(vmid)
        out["wrong_memory"] = wrong
    return out


def report(rows: list[dict[str, Any]], forks: int, info: dict[str, str], seconds: float) -> str:
    header = [
        "guests",
        "change: wall s",
        "change: s/guest",
        "change: requests/guest",
        "no-op: wall s",
        "no-op: s/guest",
        "no-op: requests/guest",
        "changed (change / no-op)",
        "failed",
        "memory correct",
    ]
    table = []
    for r in rows:
        ch, no = r["change"], r["no-op"]
        table.append(
            [
                r["guests"],
                f"{ch['seconds']:.1f}",
                f"{ch['per_guest_s']:.3f}",
                f"{ch['requests_per_guest']:.2f} (all: {' + '.join(f'{v} {k}' for k, v in sorted(ch['by_method'].items()))})",
                f"{no['seconds']:.1f}",
                f"{no['per_guest_s']:.3f}",
                f"{no['requests_per_guest']:.2f} (all: {' + '.join(f'{v} {k}' for k, v in sorted(no['by_method'].items()))})",
                f"{ch['changed']} / {no['changed']}",
                ch["failed"] + no["failed"],
                "all" if not r["wrong_memory"] else f"{len(r['wrong_memory'])} wrong",
            ]
        )
    base = rows[0]
    growth = []
    for r in rows[1:]:
        k = r["guests"] / base["guests"]
        growth.append(
            f"{base['guests']}→{r['guests']} guests (×{k:g}): change wall ×{r['change']['seconds'] / base['change']['seconds']:.2f}, "
            f"no-op wall ×{r['no-op']['seconds'] / base['no-op']['seconds']:.2f}, "
            f"s/guest ×{r['change']['per_guest_s'] / base['change']['per_guest_s']:.2f} (change) and "
            f"×{r['no-op']['per_guest_s'] / base['no-op']['per_guest_s']:.2f} (no-op)"
        )
    vers = ", ".join(f"{k} {v}" for k, v in info.items())
    lines = [
        "## Scale: one playbook over many VMs",
        "",
        f"Measured {c.today()} on {c.machine()}; {vers}. One `ansible-playbook` run per cell, forks={forks}, "
        "one inventory host per VM (local connection, `vmid` as a host variable, no `node`, so every guest is "
        "looked up in `/cluster/resources`), task `pve.config.vm_resources: memory` 2048 → 4096 MiB on every "
        "VM, then the same playbook again. A fresh simulator (benchmarks/_sim_server.py) per guest count; "
        f"requests from its request log. Benchmark run time: {seconds:.0f} s.",
        "",
        f"Command: `{c.command_line()}`",
        "",
        c.md_table(header, table),
        "",
        "Growth against the smallest run:",
        "",
        *[f"- {g}" for g in growth],
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--guests", default="25,50,100,200", help="comma-separated guest counts")
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    started = time.perf_counter()
    load_start = c.load_average()
    sizes = [int(x) for x in args.guests.split(",") if x.strip()]
    collections = str(c.pve_config_collections_dir())
    info = c.base_info()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in sizes:
            rows.append(run_size(n, args.forks, collections, Path(tmp)))
    info["1-min load average (start → end)"] = f"{load_start} → {c.load_average()}"
    text = report(rows, args.forks, info, time.perf_counter() - started)
    c.publish("scale", text, rows, docs=not args.no_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
