"""pve.config vs community.proxmox on the same operations, against the simulator, in real ansible-playbook runs.

For every operation and both implementations, from a freshly reset simulator:
  1. ``--check --diff``: does check mode run, does it write anything (request log), does it report a change;
  2. the change itself with ``--diff``: API requests (request log), wall time, whether ``--diff`` printed a diff,
     whether the intended values arrived and whether unrelated options of the NIC/disk/guest survived;
  3. the same playbook again: API requests, wall time, whether it reported ``changed: false``.
Steps 1-3 are repeated ``--repeat`` times (reset in between); wall times are medians, request counts come from
the first round (the script says so if a later round differed).

community.proxmox comes from the ``ansible`` wheel on PyPI (only that collection is extracted, under
benchmarks/.cache; nothing is installed into the venv): 1.4.0 from ansible 12.3.0 and 2.0.0 (the current release)
from ansible 14.5.0, both measured in the same run (``--ansible-versions``). Each module gets its documented options; the guest is
named by vmid, plus node where the community module requires it (proxmox_kvm, proxmox), and then ours gets the
same node.

    .venv/bin/python benchmarks/vs_community_proxmox.py [--repeat 3] [--no-docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402


def props(value: Any) -> dict[str, str]:
    """A Proxmox property string as a dict; the leading value without ``=`` becomes ``_``."""
    out: dict[str, str] = {}
    for i, part in enumerate(str(value).split(",")):
        key, sep, val = part.partition("=")
        if not sep and i == 0:
            out["_"] = key
        elif sep:
            out[key] = val
    return out


@dataclass
class Op:
    name: str
    vmid: int
    ours: dict[str, Any]
    community: dict[str, Any]
    # config key -> sub-keys expected to change (None: the whole scalar value)
    changes: dict[str, set[str] | None]
    # config key -> expected value (scalar) or expected sub-key values (dict)
    expect: dict[str, Any]
    setup: Callable[[c.Simulator], None] | None = None
    notes: list[str] = field(default_factory=list)


def create_disk(vmid: int, node: str, slot: str, value: str) -> Callable[[c.Simulator], None]:
    def setup(sim: c.Simulator) -> None:
        upid = sim.api("POST", f"nodes/{node}/qemu/{vmid}/config", data={slot: value})
        for _attempt in range(200):
            if not upid or sim.api("GET", f"nodes/{node}/tasks/{upid}/status")["status"] == "stopped":
                return
            time.sleep(0.05)

    return setup


DISK_SETUP = create_disk(101, "pve1", "scsi2", "local-lvm:10,iothread=1,ssd=1")

OPS = [
    Op(
        "VM: memory 4096→8192, cores 4→8",
        101,
        {"pve.config.vm_resources": {"vmid": 101, "node": "pve1", "memory": 8192, "cores": 8}},
        {"community.proxmox.proxmox_kvm": {"vmid": 101, "node": "pve1", "update": True, "memory": 8192, "cores": 8}},
        {"memory": None, "cores": None},
        {"memory": "8192", "cores": "8"},
    ),
    Op(
        "CT: memory 1024→2048, cores 2→4",
        201,
        {"pve.config.container_resources": {"vmid": 201, "node": "pve2", "memory": 2048, "cores": 4}},
        {
            "community.proxmox.proxmox": {
                "vmid": 201,
                "node": "pve2",
                "hostname": "proxy01",
                "update": True,
                "memory": 2048,
                "cores": 4,
            }
        },
        {"memory": None, "cores": None},
        {"memory": "2048", "cores": "4"},
    ),
    Op(
        "disk: create scsi2 10G, iothread+ssd",
        101,
        {
            "pve.config.vm_disk": {
                "vmid": 101,
                "disk": "scsi2",
                "storage": "local-lvm",
                "size": "10G",
                "iothread": True,
                "ssd": True,
            }
        },
        {
            "community.proxmox.proxmox_disk": {
                "vmid": 101,
                "disk": "scsi2",
                "storage": "local-lvm",
                "size": "10",
                "iothread": True,
                "ssd": True,
            }
        },
        {"scsi2": None},
        {"scsi2": {"size": "10G", "iothread": "1", "ssd": "1"}},
    ),
    Op(
        "disk: grow scsi2 10G→20G",
        101,
        {"pve.config.vm_disk": {"vmid": 101, "disk": "scsi2", "size": "20G"}},
        {"community.proxmox.proxmox_disk": {"vmid": 101, "disk": "scsi2", "state": "resized", "size": "20G"}},
        {"scsi2": {"size"}},
        {"scsi2": {"size": "20G"}},
        setup=DISK_SETUP,
    ),
    Op(
        "disk: set cache=writeback on scsi2",
        101,
        {"pve.config.vm_disk": {"vmid": 101, "disk": "scsi2", "cache": "writeback"}},
        {"community.proxmox.proxmox_disk": {"vmid": 101, "disk": "scsi2", "cache": "writeback"}},
        {"scsi2": {"cache"}},
        {"scsi2": {"cache": "writeback"}},
        setup=DISK_SETUP,
    ),
    Op(
        "NIC: add net1 (vmbr0, tag 10, firewall)",
        100,
        {"pve.config.vm_nic": {"vmid": 100, "interface": "net1", "bridge": "vmbr0", "tag": 10, "firewall": True}},
        {
            "community.proxmox.proxmox_nic": {
                "vmid": 100,
                "interface": "net1",
                "bridge": "vmbr0",
                "tag": 10,
                "firewall": True,
            }
        },
        {"net1": None},
        {"net1": {"bridge": "vmbr0", "tag": "10", "firewall": "1"}},
    ),
    Op(
        "NIC: change net0 tag → 20",
        100,
        {"pve.config.vm_nic": {"vmid": 100, "interface": "net0", "tag": 20}},
        {"community.proxmox.proxmox_nic": {"vmid": 100, "interface": "net0", "bridge": "vmbr0", "tag": 20}},
        {"net0": {"tag"}},
        {"net0": {"tag": "20"}},
    ),
]


def playbook(task: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [{"name": name, "hosts": "localhost", "gather_facts": False, "tasks": [{"name": name, **task}]}]


def check_config(op: Op, before: dict[str, Any], after: dict[str, Any]) -> tuple[bool, list[str]]:
    """(intended values present, list of unrelated values that were lost or altered)."""
    ok = True
    for key, want in op.expect.items():
        if isinstance(want, dict):
            got = props(after.get(key, ""))
            ok = ok and all(got.get(k) == v for k, v in want.items())
        else:
            ok = ok and str(after.get(key)) == want
    lost = []
    for key in sorted(set(before) | set(after)):
        if key == "digest":
            continue
        if key in op.changes and op.changes[key] is None:
            continue
        b, a = before.get(key), after.get(key)
        if key in op.changes:  # property string: only the named sub-keys may change
            pb, pa = props(b or ""), props(a or "")
            for sub in sorted(set(pb) | set(pa)):
                if sub in op.changes[key]:
                    continue
                if pb.get(sub) != pa.get(sub):
                    label = "volume" if sub == "_" else sub
                    if sub not in pa:
                        lost.append(f"{key} {label}={pb[sub]} dropped")
                    else:
                        lost.append(f"{key} {label} {pb.get(sub)}→{pa[sub]}")
        elif str(b) != str(a):
            lost.append(f"{key} {b}→{a}")
    return ok, lost


OURS = "pve.config"
LATENCY = 0.0  # seconds the simulator adds to every API request (--latency)


def measure(
    sim: c.Simulator,
    op: Op,
    impls: dict[str, str],
    env: dict[str, str],
    workdir: Path,
    inventory: Path,
    repeat: int,
) -> list[dict[str, Any]]:
    """Every implementation (``impls``: label -> ANSIBLE_COLLECTIONS_PATH; pve.config and each community.proxmox
    version), rounds interleaved (and the order alternating) so that load from elsewhere on the machine hits all
    alike."""
    paths = {}
    for i, impl in enumerate(impls):
        task = op.ours if impl == OURS else op.community
        paths[impl] = workdir / f"op{OPS.index(op)}-{i}.yml"
        paths[impl].write_text(yaml.safe_dump(playbook(task, op.name), sort_keys=False))
    rounds: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
    order = list(impls)
    for n in range(repeat):
        for impl in order if n % 2 == 0 else reversed(order):
            rounds[impl].append(one_round(sim, op, paths[impl], impls[impl], env, inventory))
    return [summarize(op, impl, rounds[impl]) for impl in impls]


def one_round(
    sim: c.Simulator, op: Op, path: Path, collections: str, env: dict[str, str], inventory: Path
) -> dict[str, Any]:
    sim.reset()
    if LATENCY:
        sim.control("POST", "faults", json={"latency": LATENCY})
    if op.setup:
        op.setup(sim)
    before = sim.config(op.vmid)
    r: dict[str, Any] = {}
    # 1. check mode
    sim.clear_requests()
    run = c.run_playbook(path, inventory, collections, env, check=True, diff=True)
    log = sim.requests_log()
    res = run.results[0] if run.results else {"status": "none", "changed": False, "res": {}}
    r["check"] = {
        "status": res["status"],
        "changed": res["changed"],
        "writes": len(c.writes(log)),
        "requests": c.describe_requests(log),
        "diff_printed": run.diff_printed,
        "msg": str(res["res"].get("msg", ""))[:200],
        "error_answers": c.error_answers(log),
    }
    after_check = sim.config(op.vmid)
    r["check"]["config_unchanged"] = {k: v for k, v in after_check.items() if k != "digest"} == {
        k: v for k, v in before.items() if k != "digest"
    }
    # 2. the change
    sim.clear_requests()
    run = c.run_playbook(path, inventory, collections, env, diff=True)
    log = sim.requests_log()
    res = run.results[0] if run.results else {"status": "none", "changed": False, "res": {}}
    after = sim.config(op.vmid)
    ok, lost = check_config(op, before, after)
    r["change"] = {
        "status": res["status"],
        "changed": res["changed"],
        "seconds": run.seconds,
        "task_seconds": res.get("seconds", float("nan")),
        "requests": c.describe_requests(log),
        "n_requests": len(c.api_requests(log)),
        "paths": c.request_paths(log),
        "error_answers": c.error_answers(log),
        "diff_printed": run.diff_printed,
        "has_diff_key": bool(res["res"].get("diff")),
        "result_ok": ok,
        "lost": lost,
        "msg": str(res["res"].get("msg", ""))[:300],
        "rc": run.rc,
    }
    # 3. the same playbook again
    sim.clear_requests()
    run = c.run_playbook(path, inventory, collections, env, diff=True)
    log = sim.requests_log()
    res = run.results[0] if run.results else {"status": "none", "changed": False, "res": {}}
    r["rerun"] = {
        "status": res["status"],
        "changed": res["changed"],
        "seconds": run.seconds,
        "task_seconds": res.get("seconds", float("nan")),
        "requests": c.describe_requests(log),
        "n_requests": len(c.api_requests(log)),
        "paths": c.request_paths(log),
        "error_answers": c.error_answers(log),
        "writes": len(c.writes(log)),
        "msg": str(res["res"].get("msg", ""))[:300],
    }
    return r


def summarize(op: Op, impl: str, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    module = next(iter(op.ours if impl == OURS else op.community))
    first = rounds[0]
    varied = any(
        (r["change"]["requests"], r["rerun"]["requests"], r["check"]["writes"])
        != (first["change"]["requests"], first["rerun"]["requests"], first["check"]["writes"])
        for r in rounds[1:]
    )
    return {
        "op": op.name,
        "impl": impl,
        "module": module,
        "rounds": rounds,
        "varied": varied,
        "change_s": c.median([r["change"]["seconds"] for r in rounds]),
        "rerun_s": c.median([r["rerun"]["seconds"] for r in rounds]),
        "change_task_s": c.median([r["change"]["task_seconds"] for r in rounds]),
        "rerun_task_s": c.median([r["rerun"]["task_seconds"] for r in rounds]),
    }


def check_cell(chk: dict[str, Any]) -> str:
    if chk["status"] == "skipped":
        return "not supported (task skipped)"
    if chk["status"] == "failed":
        return "failed: " + chk["msg"][:80]
    wrote = f"{chk['writes']} writes"
    if chk["writes"] == 0 and chk["config_unchanged"]:
        wrote = "0 writes"
    elif not chk["config_unchanged"]:
        wrote += ", config CHANGED"
    return "changed={}, {}".format(str(chk["changed"]).lower(), wrote)


def change_cell(m: dict[str, Any]) -> str:
    ch = m["rounds"][0]["change"]
    if ch["status"] == "failed":
        return "FAILED: {}".format(ch["msg"][:120])
    return ch["requests"]


def kept_cell(m: dict[str, Any]) -> str:
    ch = m["rounds"][0]["change"]
    if ch["status"] == "failed":
        return "—"
    if not ch["result_ok"]:
        return "intended value missing" + ("; " + "; ".join(ch["lost"]) if ch["lost"] else "")
    return "yes" if not ch["lost"] else "no: " + "; ".join(ch["lost"])


def rerun_cell(m: dict[str, Any]) -> str:
    rr = m["rounds"][0]["rerun"]
    if rr["status"] == "failed":
        return "FAILED: {}".format(rr["msg"][:80])
    tail = f" ({rr['writes']} writes)" if rr["writes"] else ""
    return "{}{}".format("yes" if not rr["changed"] else "no, changed=true", tail)


def ratio(a: float, b: float, spec: str = ".2f") -> str:
    return f"{a:{spec}} / {b:{spec}} = {a / b:.2f}" if b else "—"


def ratio_table(measured: list[dict[str, Any]]) -> list[list[str]]:
    """Per operation and community.proxmox version: community.proxmox / pve.config, then the sums."""
    by_op: dict[str, dict[str, dict[str, Any]]] = {}
    for m in measured:
        by_op.setdefault(m["op"], {})[m["impl"]] = m
    theirs = list(dict.fromkeys(m["impl"] for m in measured if m["impl"] != OURS))
    rows = []
    for impl in theirs:
        tot = dict.fromkeys(("ours_ch", "cp_ch", "ours_rr", "cp_rr", "ours_s", "cp_s", "ours_t", "cp_t"), 0.0)
        for op, pair in by_op.items():
            o, p = pair[OURS], pair[impl]
            och, pch = o["rounds"][0]["change"]["n_requests"], p["rounds"][0]["change"]["n_requests"]
            orr, prr = o["rounds"][0]["rerun"]["n_requests"], p["rounds"][0]["rerun"]["n_requests"]
            tot["ours_ch"] += och
            tot["cp_ch"] += pch
            tot["ours_rr"] += orr
            tot["cp_rr"] += prr
            tot["ours_s"] += o["change_s"] + o["rerun_s"]
            tot["cp_s"] += p["change_s"] + p["rerun_s"]
            tot["ours_t"] += o["change_task_s"] + o["rerun_task_s"]
            tot["cp_t"] += p["change_task_s"] + p["rerun_task_s"]
            rows.append(
                [
                    op,
                    impl,
                    ratio(pch, och, "d"),
                    ratio(prr, orr, "d"),
                    ratio(p["change_s"], o["change_s"]),
                    ratio(p["rerun_s"], o["rerun_s"]),
                    ratio(p["change_task_s"], o["change_task_s"]),
                    ratio(p["rerun_task_s"], o["rerun_task_s"]),
                ]
            )
        rows.append(
            [
                "**all operations**",
                impl,
                ratio(int(tot["cp_ch"]), int(tot["ours_ch"]), "d"),
                ratio(int(tot["cp_rr"]), int(tot["ours_rr"]), "d"),
                "change + re-run: " + ratio(tot["cp_s"], tot["ours_s"], ".1f"),
                "",
                "change + re-run: " + ratio(tot["cp_t"], tot["ours_t"], ".1f"),
                "",
            ]
        )
    return rows


def report(measured: list[dict[str, Any]], info: dict[str, str], repeat: int, seconds: float) -> str:
    header = [
        "operation",
        "module",
        "API requests: change",
        "API requests: re-run",
        "wall s (task s): change",
        "wall s (task s): re-run",
        "re-run changed=false",
        "--check",
        "--diff shows diff",
        "unrelated options kept",
    ]
    rows = []
    for m in measured:
        ch = m["rounds"][0]["change"]
        rows.append(
            [
                m["op"] if m["impl"] == OURS else "",
                "`{}`".format(m["module"]) + (f" ({m['impl'].split()[-1]})" if m["impl"] != OURS else ""),
                change_cell(m),
                m["rounds"][0]["rerun"]["requests"],
                "{:.2f} ({:.2f})".format(m["change_s"], m["change_task_s"]),
                "{:.2f} ({:.2f})".format(m["rerun_s"], m["rerun_task_s"]),
                rerun_cell(m),
                check_cell(m["rounds"][0]["check"]),
                "yes" if ch["diff_printed"] else "no",
                kept_cell(m),
            ]
        )
    ratio_rows = ratio_table(measured)
    vers = ", ".join("{} {}".format(*kv) for kv in info.items())
    varied = " — **counts varied between rounds, see the JSON**" if any(m["varied"] for m in measured) else ""
    latency_note = f"with {LATENCY * 1000:.0f} ms added to every API request (its latency fault), " if LATENCY else ""
    out = [
        "## pve.config vs community.proxmox" + (f" ({LATENCY * 1000:.0f} ms per API request)" if LATENCY else ""),
        "",
        f"Measured {c.today()} on {c.machine()}; {vers}. Simulator: `python -m pve_sim` on loopback HTTPS, "
        f"{latency_note}reset before every round. Each cell comes from real `ansible-playbook` runs (one task per playbook, local "
        f"connection); wall s is the median of {repeat} rounds of the whole `ansible-playbook` process (start-up "
        "included), task s the median time from the task's start to its result (the module run); request counts "
        f"are the simulator's request log for that run (round 1){varied}. Benchmark run time: {seconds:.0f} s.",
        "",
        f"Command: `{c.command_line()}`",
        "",
        c.md_table(header, rows),
        "",
        "Ratios (community.proxmox / pve.config; above 1 means community.proxmox needs more):",
        "",
        c.md_table(
            [
                "operation",
                "against",
                "API requests: change",
                "API requests: re-run",
                "wall s: change",
                "wall s: re-run",
                "task s: change",
                "task s: re-run",
            ],
            ratio_rows,
        ),
    ]
    answered = sorted(
        {e for m in measured for r in m["rounds"] for k in ("check", "change", "rerun") for e in r[k]["error_answers"]}
    )
    out += [
        "",
        "API requests answered with an error status (any round, any run): "
        + (", ".join(f"`{e}`" for e in answered) if answered else "none."),
    ]
    if LATENCY:  # the same requests as without latency; the list is in the section without it
        return "\n".join(out) + "\n"
    out += ["", "Requests of each run (round 1; `{upid}` stands for the task's UPID):", ""]
    for m in measured:
        r = m["rounds"][0]
        out.append(
            "- {}, `{}`{}".format(m["op"], m["module"], "" if m["impl"] == OURS else f" ({m['impl'].split()[-1]})")
        )
        out.append("  - change: " + (", ".join(f"`{p}`" for p in r["change"]["paths"]) or "none"))
        out.append("  - re-run: " + (", ".join(f"`{p}`" for p in r["rerun"]["paths"]) or "none"))
        if r["change"]["status"] == "failed" or r["rerun"]["status"] == "failed":
            out.append("  - message: " + (r["change"]["msg"] or r["rerun"]["msg"]))
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--repeat", type=int, default=3, help="rounds per operation and module (median wall time)")
    ap.add_argument(
        "--ansible-versions",
        "--ansible-version",
        default=",".join(c.ANSIBLE_PACKAGE_VERSIONS),
        help="comma-separated ansible packages to take community.proxmox from (12.3.0: 1.4.0, 14.5.0: 2.0.0)",
    )
    ap.add_argument("--only", help="substring of the operation names to run")
    ap.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the simulator adds to every API request (its latency fault), e.g. 0.05 for a remote cluster",
    )
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args()
    global LATENCY
    LATENCY = args.latency
    started = time.perf_counter()
    load_start = c.load_average()
    impls = {OURS: str(c.pve_config_collections_dir())}
    cp_versions = []
    for version in (v.strip() for v in args.ansible_versions.split(",") if v.strip()):
        path, cp_version = c.collections_dir(version)
        impls[f"community.proxmox {cp_version}"] = path
        cp_versions.append(f"{cp_version} (from ansible {version})")
    info = c.versions()
    info = {
        "pve.config": info.get("pve.config", "?") + " (" + info.get("git", "?") + ")",
        "community.proxmox": " and ".join(cp_versions),
        "ansible-core": info.get("ansible-core", "?"),
        "proxmoxer": info.get("proxmoxer", "?"),
        "Python": info["python"],
    }
    measured = []
    with tempfile.TemporaryDirectory(prefix="bench-vs-") as tmp:
        workdir = Path(tmp)
        inventory = c.write_inventory(workdir, {"localhost": {}})
        with c.Simulator(workdir / "sim") as sim:
            env = dict(sim.env)
            ca = env.get("PROXMOX_CA_PATH")
            if ca:
                # community.proxmox 1.4.0 has no ca_path option: let requests find the simulator's CA the
                # standard way, so every collection verifies TLS.
                env["REQUESTS_CA_BUNDLE"] = ca
            for op in OPS:
                if args.only and args.only not in op.name:
                    continue
                t0 = time.perf_counter()
                for m in measure(sim, op, impls, env, workdir, inventory, args.repeat):
                    measured.append(m)
                    r = m["rounds"][0]
                    failed = r["change"]["msg"][:60] if r["change"]["status"] == "failed" else ""
                    print(
                        f"{op.name:40} {m['impl']:24} change {r['change']['requests']:22} "
                        f"re-run {r['rerun']['requests']:18} median {m['change_s']:.2f}s / {m['rerun_s']:.2f}s "
                        f"{failed}",
                        file=sys.stderr,
                        flush=True,
                    )
                print(f"  ({time.perf_counter() - t0:.0f}s)", file=sys.stderr, flush=True)
    info["1-min load average (start → end)"] = f"{load_start} → {c.load_average()}"
    text = report(measured, info, args.repeat, time.perf_counter() - started)
    print(text)
    c.save_result("vs_community_proxmox" + ("-latency" if LATENCY else ""), text, measured)
    if not args.no_docs:
        c.update_docs("vs_community_proxmox" + ("-latency" if LATENCY else ""), text, script="vs_community_proxmox")
    return 0


if __name__ == "__main__":
    sys.exit(main())
