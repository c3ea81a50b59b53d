"""A change to a whole fleet at a remote cluster's latency: community.proxmox against pve.config, four ways.

A fresh simulator per guest count (benchmarks/_sim_server.py: N extra VMs tagged ``bench``, half on each node)
with ``--latency`` (default 25 ms) added to every API request, as for a cluster that is not on loopback. Every
scenario starts from a reset simulator and runs three ``ansible-playbook`` processes:

1. ``change``: memory 2048 → 4096 MiB on every guest;
2. ``no-op``: the same playbook again (nothing to change);
3. ``check``: ``--check --diff`` with memory 8192 (what would change, on every guest; nothing is written).

Scenarios (``--scenarios``):

- ``a``: community.proxmox ``proxmox_kvm`` (``update: true``) in a ``loop`` over the guests, one host;
- ``b``: community.proxmox ``proxmox_kvm``, one inventory host per guest, ``--forks``;
- ``c``: pve.config ``vm_resources``, one host per guest from the ``pve.config.guests`` inventory plugin
  (``filters: {tags: [bench]}``), ``--forks``;
- ``d``: pve.config ``fleet_config``, one task for all guests (``select: {tags: [bench]}``) with the module's
  defaults (``parallel`` 10, ``per_node`` 5: 10 guests at once on the simulator's 2 nodes), or with
  ``--parallel P``: ``parallel`` P and ``per_node`` half of it.

``a`` and ``b`` run once per community.proxmox version (``--ansible-versions``: the ``ansible`` packages they
are taken from). At guest counts above ``--community-max`` they run on a sample: the first
``--community-sample`` guests of that cluster (say so in the tables; nothing is extrapolated).

Measured per run: wall time of the process, the task's span (bench_record: from the task's start to its last
result), API requests (the simulator's request log, per guest), the API floor (requests × latency / parallel
requests: 1 for ``a``, the forks for ``b``/``c``, ``parallel`` for ``d``), CPU seconds and peak memory of the
ansible-playbook process tree (benchmarks/_usage.py), the simulator's CPU seconds, changed and failed guests,
and whether every guest ended with the intended memory and nothing pending.

    nice -n 10 .venv/bin/python benchmarks/fleet.py [--sizes 200,1000] [--scenarios a,b,c,d] [--no-docs]
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402
import _usage  # noqa: E402

FIRST_VMID = 1000
NODES = 2  # benchmarks/_sim_server.py: pve1 and pve2
TAG = "bench"
PHASES = (  # name, memory, check+diff
    ("change", 4096, False),
    ("no-op", 4096, False),
    ("check", 8192, True),
)
DESCRIPTIONS = {
    "a": "community.proxmox `proxmox_kvm` in a loop (1 host)",
    "b": "community.proxmox `proxmox_kvm`, 1 host per guest",
    "c": "pve.config `vm_resources`, 1 host per guest (inventory plugin)",
    "d": "pve.config `fleet_config`, 1 task",
}


@dataclass
class Scenario:
    key: str  # a, b, c, d
    label: str  # "a (1.4.0)"
    collections: str
    vmids: list[int]
    sampled: bool  # runs on a sample of the cluster's guests
    parallel: int  # API requests in flight at most (the floor's divisor)
    options: dict[str, int] | None = None  # fleet_config's parallel/per_node (None: its defaults)


def node_of(vmid: int) -> str:
    """benchmarks/_sim_server.py puts the VMs alternately on pve1 and pve2."""
    return ("pve1", "pve2")[(vmid - FIRST_VMID) % 2]


def play(hosts: str, task: dict[str, Any], extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "name": "Memory on every guest",
            "hosts": hosts,
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": c.PYTHON},
            "tasks": [{"name": "Set memory", **task, **(extra or {})}],
        }
    ]


def write_scenario(s: Scenario, d: Path, forks: int) -> tuple[Path, Path, int | None]:
    """(playbook, inventory, forks) of a scenario."""
    d.mkdir(parents=True)
    if s.key == "a":
        inventory = c.write_inventory(d, {"localhost": {}})
        guests = [{"vmid": v, "node": node_of(v)} for v in s.vmids]
        task = {
            "community.proxmox.proxmox_kvm": {
                "vmid": "{{ item.vmid }}",
                "node": "{{ item.node }}",
                "update": True,
                "memory": "{{ memory }}",
            }
        }
        body = play("localhost", task, {"loop": guests, "loop_control": {"label": "{{ item.vmid }}"}})
        fork_count = None
    elif s.key == "b":
        hosts = {f"bench{v}": {"vmid": v, "node": node_of(v)} for v in s.vmids}
        inventory = c.write_inventory(d, hosts, group="guests")
        task = {
            "community.proxmox.proxmox_kvm": {
                "vmid": "{{ vmid }}",
                "node": "{{ node }}",
                "update": True,
                "memory": "{{ memory }}",
            }
        }
        body = play("guests", task)
        fork_count = forks
    elif s.key == "c":
        inventory = d / "fleet.pve.yml"
        inventory.write_text(yaml.safe_dump({"plugin": "pve.config.guests", "filters": {"tags": [TAG]}}))
        task = {
            "pve.config.vm_resources": {"vmid": "{{ pve_vmid }}", "node": "{{ pve_node }}", "memory": "{{ memory }}"}
        }
        body = play(f"pve_tag_{TAG}", task)
        fork_count = forks
    else:
        inventory = c.write_inventory(d, {"localhost": {}})
        select = {"tags": [TAG]} if not s.sampled else {"vmids": s.vmids}
        task = {
            "pve.config.fleet_config": {"select": select, "config": {"memory": "{{ memory }}"}, **(s.options or {})}
        }
        body = play("localhost", task)
        fork_count = None
    playbook = d / "memory.yml"
    playbook.write_text(yaml.safe_dump(body, sort_keys=False))
    return playbook, inventory, fork_count


def guest_outcomes(run: c.PlaybookRun) -> tuple[int, int]:
    """(changed, failed) guests of a run: loop items, fleet_config's per-guest results or one result per host."""
    changed = failed = 0
    for r in run.results:
        items = r["res"].get("results") or r["res"].get("guests")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            changed += sum(1 for i in items if i.get("changed"))
            failed += sum(1 for i in items if i.get("failed"))
        else:
            changed += int(bool(r["changed"]))
            failed += int(r["status"] in ("failed", "unreachable"))
    return changed, failed


def module_seconds(run: c.PlaybookRun) -> float | None:
    """fleet_config's own ``progress.seconds``: from choosing the guests to the last guest's end, inside the
    module process (without Python's and Ansible's start-up of the module)."""
    for r in run.results:
        progress = r["res"].get("progress")
        if isinstance(progress, dict) and progress.get("seconds") is not None:
            return float(progress["seconds"])
    return None


def wrong_memory(sim: c.Simulator, vmids: list[int], memory: int) -> list[int]:
    guests = sim.control("GET", "state")["guests"]
    out = []
    for vmid in vmids:
        g = guests.get(str(vmid)) or {}
        if str((g.get("config") or {}).get("memory")) != str(memory) or g.get("pending"):
            out.append(vmid)
    return out


def connection_env(sim: c.Simulator) -> dict[str, str]:
    """The simulator's ``PROXMOX_*`` variables; community.proxmox 1.4.0 has no ``ca_path``, so every run also
    gets the simulator's CA the standard way (``REQUESTS_CA_BUNDLE``) and all of them verify TLS."""
    env = dict(sim.env)
    if env.get("PROXMOX_CA_PATH"):
        env["REQUESTS_CA_BUNDLE"] = env["PROXMOX_CA_PATH"]
    return env


def run_scenario(sim: c.Simulator, s: Scenario, n: int, forks: int, latency: float, workdir: Path) -> dict[str, Any]:
    sim.reset()
    sim.control("POST", "faults", json={"latency": latency})
    playbook, inventory, fork_count = write_scenario(s, workdir / f"n{n}-{s.label.replace(' ', '')}", forks)
    out: dict[str, Any] = {
        "scenario": s.key,
        "label": s.label,
        "guests": len(s.vmids),
        "cluster": n,
        "sampled": s.sampled,
    }
    out["parallel"] = s.parallel
    for phase, memory, check in PHASES:
        sim.clear_requests()
        sim_cpu = _usage.cpu_seconds(sim.pid)
        run = c.run_playbook(
            playbook,
            inventory,
            s.collections,
            connection_env(sim),
            check=check,
            diff=check,
            forks=fork_count,
            extravars={"memory": memory},
            timeout=7200,
        )
        sim_cpu = _usage.cpu_seconds(sim.pid) - sim_cpu
        log = sim.requests_log()
        counts = c.count_methods(log)
        total = sum(counts.values())
        changed, failed = guest_outcomes(run)
        spans = [r["seconds"] for r in run.results if "seconds" in r]
        u = run.usage
        out[phase] = {
            "rc": run.rc,
            "seconds": run.seconds,
            "task_s": max(spans) if spans else float("nan"),
            "module_s": module_seconds(run),
            "requests": total,
            "requests_per_guest": total / len(s.vmids),
            "by_method": counts,
            "writes": len(c.writes(log)),
            "error_answers": c.error_answers(log)[:10],
            "floor_s": total * latency / s.parallel,
            "cpu_s": u.cpu_s,
            "peak_tree_pss_mib": u.peak_tree_pss_mib,
            "max_process_rss_mib": u.max_process_rss_mib,
            "peak_processes": u.peak_processes,
            "sim_cpu_s": sim_cpu,
            "changed": changed,
            "failed": failed,
            "first_failure": run.first_failure() or (run.stderr.strip().splitlines() or [""])[-1][:300],
            "diff_printed": run.diff_printed,
        }
        want = 4096  # the check phase must not have changed anything
        out[phase]["wrong_memory"] = len(wrong_memory(sim, s.vmids, want))
        p = out[phase]
        print(
            f"{n:5d} {s.label:9} {phase:6} {run.seconds:8.1f}s task {p['task_s']:7.1f}s {total:6d} req "
            f"({p['requests_per_guest']:.2f}/guest) floor {p['floor_s']:6.1f}s cpu {u.cpu_s:7.1f}s "
            f"pss {u.peak_tree_pss_mib:6.0f} MiB changed={changed} failed={failed} wrong={p['wrong_memory']} "
            f"rc={run.rc} {p['first_failure'][:100] if run.rc else ''}",
            file=sys.stderr,
            flush=True,
        )
    return out


def scenarios_for(n: int, args: argparse.Namespace, community: dict[str, tuple[str, str]], ours: str) -> list[Scenario]:
    all_vmids = [FIRST_VMID + i for i in range(n)]
    out = []
    for key in args.scenarios:
        if key in "ab":
            sampled = n > args.community_max
            vmids = all_vmids[: args.community_sample] if sampled else all_vmids
            for path, version in community.values():
                par = 1 if key == "a" else args.forks
                out.append(Scenario(key, f"{key} ({version})", path, vmids, sampled, par))
        else:
            if key == "c":
                out.append(Scenario(key, key, ours, all_vmids, False, args.forks))
            else:
                options, in_flight = fleet_options(args.parallel)
                out.append(Scenario(key, key, ours, all_vmids, False, in_flight, options))
    return out


def fleet_options(parallel: int | None) -> tuple[dict[str, int] | None, int]:
    """fleet_config's options for ``--parallel`` (None: none, the module's defaults) and the guests, so API requests,
    in flight at most on the simulator's nodes: ``min(parallel, per_node × nodes)``."""
    if parallel is None:
        sys.path.insert(0, str(c.pve_config_collections_dir()))
        from ansible_collections.pve.config.plugins.module_utils.fleet import PARALLEL, PER_NODE

        return None, min(PARALLEL, PER_NODE * NODES)
    per_node = -(-parallel // NODES)  # half of parallel on each node, so that `parallel` guests run at once
    return {"parallel": parallel, "per_node": per_node}, min(parallel, per_node * NODES)


def fleet_words(args: argparse.Namespace) -> str:
    if args.parallel is not None:
        return f"fleet_config parallel {args.parallel}, per_node {-(-args.parallel // NODES)}"
    in_flight = fleet_options(None)[1]
    return f"fleet_config with its default parallel and per_node ({in_flight} guests at once on the 2 nodes)"


# -- report ------------------------------------------------------------------------------------------------------


def floor_cell(p: dict[str, Any]) -> str:
    if not p["floor_s"]:
        return "—"
    own = f" ({p['module_s']:.1f} s: {p['module_s'] / p['floor_s']:.2f})" if p.get("module_s") is not None else ""
    return f"{p['task_s'] / p['floor_s']:.2f}{own}"


def fmt_requests(p: dict[str, Any]) -> str:
    if not p["requests"]:
        return "0"
    methods = " + ".join(f"{v} {k}" for k, v in sorted(p["by_method"].items()))
    return f"{p['requests']} ({p['requests_per_guest']:.2f}: {methods})"


def report(rows: list[dict[str, Any]], args: argparse.Namespace, info: dict[str, str], seconds: float) -> str:
    header = [
        "cluster",
        "scenario",
        "guests run",
        "phase",
        "wall s",
        "task s",
        "API requests (per guest)",
        "API floor s",
        "task / floor (fleet_config's own s / floor)",
        "CPU s (ansible)",
        "peak PSS MiB (ansible tree)",
        "simulator CPU s",
        "changed / failed guests",
        "memory right",
    ]
    table = []
    rows = sorted(rows, key=lambda r: (r["cluster"], r["label"]))
    for r in rows:
        for phase, _memory, _check in PHASES:
            p = r[phase]
            guests = f"{r['guests']} (sample)" if r["sampled"] else str(r["guests"])
            table.append(
                [
                    r["cluster"],
                    f"{r['label']}: {DESCRIPTIONS[r['scenario']]}" if phase == "change" else "",
                    guests if phase == "change" else "",
                    phase + (" (--check --diff)" if phase == "check" else ""),
                    f"{p['seconds']:.1f}",
                    f"{p['task_s']:.1f}",
                    fmt_requests(p),
                    f"{p['floor_s']:.1f}",
                    floor_cell(p),
                    f"{p['cpu_s']:.1f}",
                    f"{p['peak_tree_pss_mib']:.0f} (1 process ≤ {p['max_process_rss_mib']:.0f})",
                    f"{p['sim_cpu_s']:.1f}",
                    f"{p['changed']} / {p['failed']}"
                    + (f" rc={p['rc']}: {p['first_failure'][:80]}" if p["rc"] else ""),
                    "yes" if not p["wrong_memory"] else f"{p['wrong_memory']} wrong",
                ]
            )
    lines = [
        "## Fleet: one change on hundreds of guests at 25 ms per request",
        "",
        f"Measured {c.today()} on {c.machine()}, **shared with other work** (the load average below: other "
        f"sessions' tests and builds ran at the same time, so wall and CPU times are noisy; request counts are "
        f"not); {', '.join(f'{k} {v}' for k, v in info.items())}. Simulator: benchmarks/_sim_server.py with the "
        f"cluster's number of extra VMs (tag `{TAG}`), {args.latency * 1000:.0f} ms added to every API request "
        f"(its latency fault), reset before every scenario. forks {args.forks}, {fleet_words(args)}."
        + (f" Benchmark run time: {seconds:.0f} s." if not math.isnan(seconds) else ""),
        "",
        f"Command: `{c.command_line()}`",
        "",
        "Phases: change (memory 2048 → 4096 MiB), no-op (the same again), check (`--check --diff` with 8192: "
        "nothing written). *task s*: from the task's start to its last result (without Ansible's start-up); "
        "*fleet_config's own s*: its result's `progress.seconds` (choosing the guests and changing them, inside "
        "the module process). "
        f"*API floor*: requests × {args.latency * 1000:.0f} ms / requests in flight (1 for a loop, the forks, "
        "fleet_config's `parallel`). CPU: user + system seconds of every process of the ansible-playbook run; "
        "peak PSS: the largest sum of the proportional set sizes over its process tree, sampled every 0.25 s "
        "(in brackets the largest RSS of one process).",
    ]
    if any(r["sampled"] for r in rows):
        lines += [
            "",
            f"**Sampled:** above {args.community_max} guests, the community.proxmox scenarios ran on the first "
            f"{args.community_sample} guests of the cluster only (on these 2 shared cores the loop alone would take "
            "most of an hour per phase); their rows are those guests' numbers, not an extrapolation.",
        ]
    lines += ["", c.md_table(header, table), "", *ratios(rows, args)]
    return "\n".join(lines) + "\n"


def own_s(p: dict[str, Any]) -> str:
    return "?" if p.get("module_s") is None else f"{p['module_s']:.1f}"


def own_ratio(p: dict[str, Any]) -> str:
    return "?" if p.get("module_s") is None else f"{p['module_s'] / p['floor_s']:.2f}"


def ratios(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    out = ["Ratios (each between rows of one cluster size, measured in the same run):", ""]
    by_cluster: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_cluster.setdefault(r["cluster"], {})[r["label"]] = r
    for n, runs in by_cluster.items():
        d = runs.get("d")
        for label, r in runs.items():
            if label == "d" or not d:
                continue
            if r["sampled"]:
                parts = [
                    f"{ph}: {r[ph]['seconds'] / r['guests'] * 1000:.0f} ms/guest against "
                    f"{d[ph]['seconds'] / d['guests'] * 1000:.0f} ms/guest"
                    for ph, _m, _c in PHASES
                ]
                out.append(
                    f"- {n} guests, {label} (sample of {r['guests']}) vs d, wall time per guest: " + "; ".join(parts)
                )
                continue
            parts = [f"{ph} ×{r[ph]['seconds'] / d[ph]['seconds']:.1f}" for ph, _m, _c in PHASES]
            out.append(f"- {n} guests, wall time {label} / d: " + ", ".join(parts))
        if d:
            parts = [
                f"{ph}: floor {d[ph]['floor_s']:.1f} s; fleet_config's own {own_s(d[ph])} s = ×{own_ratio(d[ph])}, "
                f"task {d[ph]['task_s']:.1f} s = ×{d[ph]['task_s'] / d[ph]['floor_s']:.2f}, "
                f"wall {d[ph]['seconds']:.1f} s = ×{d[ph]['seconds'] / d[ph]['floor_s']:.2f}"
                for ph, _m, _c in PHASES
                if d[ph]["floor_s"]
            ]
            out.append(f"- {n} guests, d against its API floor: " + "; ".join(parts))
    sizes = sorted(by_cluster)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        for label in by_cluster[lo]:
            if label not in by_cluster[hi]:
                continue
            a, b = by_cluster[lo][label], by_cluster[hi][label]
            parts = [
                f"{ph} {a[ph]['requests_per_guest']:.2f} → {b[ph]['requests_per_guest']:.2f}" for ph, _m, _c in PHASES
            ]
            out.append(f"- requests per guest, {label}, {lo} → {hi} guests: " + ", ".join(parts))
    return out


def report_from(paths: list[Path], args: argparse.Namespace) -> int:
    """The report of rows measured by earlier runs (one or more raw results files: the partial results of a run
    stopped before its end, or one run per cluster size); says so in the text. The options must be those of the
    runs (latency, forks, parallel, sample). Every ratio is between rows of one cluster size, so with one run per
    size each ratio still comes from one run."""
    rows = [r for path in paths for r in json.loads(path.read_text())]
    info = {"rows measured by earlier runs, reported from": " + ".join(path.name for path in paths), **c.base_info()}
    info["note"] = "the versions above are those of the checkout at report time"
    text = report(rows, args, info, float("nan"))
    c.publish("fleet", text, rows, docs=not args.no_docs)
    return 0


def main() -> int:
    # SIGTERM unwinds like Ctrl-C: the running ansible-playbook tree and the simulator are stopped
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--sizes", default="200,1000", help="comma-separated guest counts")
    # the fastest first: a run stopped early (its partial results: --report-from) keeps the most
    ap.add_argument("--scenarios", default="d,c,b,a", help="comma-separated: a, b, c, d (in this order)")
    ap.add_argument("--latency", type=float, default=0.025, help="seconds added to every API request")
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument(
        "--parallel", type=int, help="fleet_config's parallel, per_node half of it (default: the module's defaults)"
    )
    ap.add_argument(
        "--ansible-versions",
        default=",".join(c.ANSIBLE_PACKAGE_VERSIONS),
        help="ansible packages to take community.proxmox from (12.3.0: 1.4.0, 14.5.0: 2.0.0)",
    )
    ap.add_argument("--community-max", type=int, default=200, help="largest cluster a and b run on in full")
    ap.add_argument("--community-sample", type=int, default=50, help="guests a and b run on above --community-max")
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument(
        "--report-from",
        metavar="JSON",
        help="measure nothing: report the rows of earlier runs' raw results (comma-separated fleet.json or "
        "fleet.partial.json files)",
    )
    args = ap.parse_args()
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(DESCRIPTIONS)
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.report_from:
        return report_from([Path(x) for x in args.report_from.split(",")], args)
    started = time.perf_counter()
    load_start = c.load_average()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    community = {}
    if set(args.scenarios) & {"a", "b"}:
        for v in args.ansible_versions.split(","):
            community[v] = c.collections_dir(v.strip())
    ours = str(c.pve_config_collections_dir())
    info = c.base_info()
    info.update({f"community.proxmox (ansible {k})": ver for k, (_p, ver) in community.items()})
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        for n in sizes:
            with c.Simulator(Path(tmp) / f"sim{n}", vms=n) as sim:
                for s in scenarios_for(n, args, community, ours):
                    rows.append(run_scenario(sim, s, n, args.forks, args.latency, Path(tmp)))
                    c.save_partial("fleet", rows)  # a run stopped half-way keeps what it measured
    info["1-min load average (start → end)"] = f"{load_start} → {c.load_average()}"
    text = report(rows, args, info, time.perf_counter() - started)
    c.publish("fleet", text, rows, docs=not args.no_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
