"""benchmarks/fleet.py cannot rot: it runs end to end with 5 guests, pve.config's scenarios only (c: vm_resources
over the guests inventory, d: fleet_config), and its raw results say what happened on the simulator.

Not a timing test: nothing here looks at a wall time; only that every phase ran, changed what it should, wrote
nothing where it should not, and that the request counts and the process measurements were taken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUESTS = 5


@pytest.fixture(scope="module")
def fleet_rows(tmp_path_factory):
    results = tmp_path_factory.mktemp("bench-results")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "ANSIBLE_"))}
    env["PVE_BENCH_RESULTS"] = str(results)
    proc = subprocess.run(
        [sys.executable, "benchmarks/fleet.py", "--sizes", str(GUESTS), "--scenarios", "c,d", "--no-docs"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## Fleet" in proc.stdout
    return {r["scenario"]: r for r in json.loads((results / "fleet.json").read_text())}


@pytest.mark.parametrize("scenario", ["c", "d"])
def test_change_then_noop_then_check(fleet_rows, scenario):
    r = fleet_rows[scenario]
    assert (r["guests"], r["cluster"], r["sampled"]) == (GUESTS, GUESTS, False)
    change, noop, check = r["change"], r["no-op"], r["check"]
    for phase in (change, noop, check):
        assert phase["rc"] == 0, phase["first_failure"]
        assert phase["failed"] == 0
        assert phase["wrong_memory"] == 0  # 4096 MiB everywhere, nothing pending; check mode left it so
        assert phase["error_answers"] == []
        assert phase["cpu_s"] > 0 and phase["peak_tree_pss_mib"] > 0
        # requests in flight: the forks (c), fleet_config's default parallel 10 with per_node 5 on 2 nodes (d)
        assert phase["floor_s"] == pytest.approx(phase["requests"] * 0.025 / {"c": 10, "d": 10}[scenario])
    assert change["changed"] == GUESTS
    assert change["by_method"]["PUT"] == GUESTS  # one memory write per guest
    assert (noop["changed"], noop["writes"]) == (0, 0)
    assert (check["changed"], check["writes"]) == (GUESTS, 0)  # 8192 predicted for every guest, nothing written
    assert check["diff_printed"]
    # every guest's config is read; the guests are listed once (inventory plugin or fleet_config's selection)
    assert noop["requests"] == GUESTS + 1
    assert noop["by_method"] == {"GET": GUESTS + 1}
