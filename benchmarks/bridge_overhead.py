"""Per-call latency of the MCP bridge against a bare ansible-runner run of the same module, in one run.

Both sides run the real pve.config module against the HTTPS simulator:
  * bare:   ``ansible_runner.run(module=..., module_args=...)`` in a fresh private data dir, the way any Python
            caller would run one module (inline local inventory, PROXMOX_* in envvars, result from the event);
  * bridge: ``call_tool`` through the MCP SDK client to a ``pve-config-mcp`` process over stdio (JSON-RPC,
            validation, policy, per-guest lock, audit log, progress task and the same ansible-runner run).
Calls are interleaved (bare, bridge, bridge, bare, ...) so drift hits both sides alike; the first rounds are
warm-up. Two operations: a read (guest_info / get_guest_config) and a change (vm_resources memory, toggled
so every call writes). Prints medians, means and the ratio bridge / bare; target: at most 1.10.
The bridge runs with its defaults (warm runs, issue 14: the ratio is then far below 1); `--no-warm` measures the
cold path, which starts the same ansible-runner run as the bare side at the call.

    .venv/bin/python benchmarks/bridge_overhead.py [-n 20] [--warmup 2] [--no-warm] [--json ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import ansible_runner  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

from mcp_bridge.collection import collections_root  # noqa: E402
from pve_sim.testing import running_simulator  # noqa: E402

VMID = 101


def bare_run(module: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """One ad-hoc ansible-runner run of `module`, the plain way."""
    result: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> bool:
        if event.get("event") in ("runner_on_ok", "runner_on_failed"):
            result.update(event["event_data"]["res"])
        return False

    with tempfile.TemporaryDirectory(prefix="bench-bare-") as data_dir:
        ansible_runner.run(
            private_data_dir=data_dir,
            host_pattern="localhost",
            module=module,
            module_args=json.dumps(args),
            inventory={
                "all": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                    }
                }
            },
            envvars=env,
            cmdline="--diff",
            quiet=True,
            suppress_env_files=True,
            event_handler=on_event,
        )
    if not result or result.get("failed"):
        raise RuntimeError(f"bare run of {module} failed: {result.get('msg')}")
    return result


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(samples),
        "mean_s": statistics.fmean(samples),
        "stdev_s": statistics.stdev(samples) if len(samples) > 1 else 0.0,
        "min_s": min(samples),
    }


async def measure(n: int, warmup: int, sim, bridge_args: tuple[str, ...] = ()) -> dict[str, Any]:
    proxmox = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}
    bin_dir = str(Path(sys.executable).parent)
    bare_env = {
        **proxmox,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)]),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_root()),
    }
    server_env = {**proxmox, "PATH": bare_env["PATH"], "PYTHONPATH": str(REPO)}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_bridge", "--audit-log", "off", *bridge_args],
        env=server_env,
        cwd=str(REPO),
    )
    memory = itertools.cycle((3072, 2048))
    operations = {
        "read (get_guest_config / guest_info)": (
            lambda: ("pve.config.guest_info", {"vmid": VMID}),
            lambda: ("get_guest_config", {"vmid": VMID}),
        ),
        "change (update_vm_resources / vm_resources)": (
            lambda: ("pve.config.vm_resources", {"vmid": VMID, "memory": next(memory)}),
            lambda: ("update_vm_resources", {"vmid": VMID, "memory": next(memory)}),
        ),
    }
    report: dict[str, Any] = {"n": n, "warmup": warmup, "bridge_args": list(bridge_args), "operations": {}}
    async with Client(params) as client:

        async def run_bare(make_call) -> float:
            module, args = make_call()
            started = time.perf_counter()
            result = await anyio.to_thread.run_sync(bare_run, module, args, bare_env)
            elapsed = time.perf_counter() - started
            assert "changed" in result
            return elapsed

        async def run_bridge(make_call) -> float:
            tool, args = make_call()
            started = time.perf_counter()
            result = await client.call_tool(tool, args)
            elapsed = time.perf_counter() - started
            if result.is_error:
                raise RuntimeError(f"bridge call {tool} failed: {result.content[0].text}")
            return elapsed

        for name, (bare_call, bridge_call) in operations.items():
            times: dict[str, list[float]] = {"bare": [], "bridge": []}
            sides = (("bare", run_bare, bare_call), ("bridge", run_bridge, bridge_call))
            for i in range(warmup + n):
                for side, run, make_call in sides if i % 2 == 0 else reversed(sides):
                    elapsed = await run(make_call)
                    if i >= warmup:
                        times[side].append(elapsed)
            bare, bridge = summary(times["bare"]), summary(times["bridge"])
            report["operations"][name] = {
                "bare": bare,
                "bridge": bridge,
                "ratio_median": bridge["median_s"] / bare["median_s"],
                "ratio_mean": bridge["mean_s"] / bare["mean_s"],
                "overhead_median_ms": (bridge["median_s"] - bare["median_s"]) * 1000,
            }
    return report


def print_report(report: dict[str, Any]) -> None:
    mode = "cold runs (--no-warm)" if "--no-warm" in report["bridge_args"] else "warm runs (default)"
    print(
        f"bridge ({mode}) vs bare ansible-runner, {report['n']} interleaved calls each after {report['warmup']} warm-up"
    )
    header = f"{'operation':46} {'bare med':>9} {'bridge med':>11} {'bare mean':>10} {'bridge mean':>12} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for name, row in report["operations"].items():
        print(
            f"{name:46} {row['bare']['median_s']:8.3f}s {row['bridge']['median_s']:10.3f}s "
            f"{row['bare']['mean_s']:9.3f}s {row['bridge']['mean_s']:11.3f}s {row['ratio_median']:6.3f}"
        )
    worst = max(row["ratio_median"] for row in report["operations"].values())
    verdict = "within" if worst <= 1.10 else "ABOVE"
    print(f"worst median ratio {worst:.3f}: {verdict} the 1.10 target (the bridge adds at most 10%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="measured calls per side and operation (default 20)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-warm", action="store_true", help="run the bridge with --no-warm (the cold path)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    ns = parser.parse_args()
    with running_simulator() as sim:
        report = anyio.run(measure, ns.n, ns.warmup, sim, ("--no-warm",) if ns.no_warm else ())
    print_report(report)
    if ns.json:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
