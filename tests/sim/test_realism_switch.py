"""The realism switch: Python attribute, reset, control API, CLI flag and env, pytest fixture, pvestatd tick."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pve_sim import Simulator

ROOT = Path(__file__).resolve().parents[2]


def test_off_by_default_settable_and_kept_by_reset():
    sim = Simulator()
    assert sim.realism is False
    sim.realism = True
    sim.reset()
    assert sim.realism is True
    sim.reset(realism=False)
    assert sim.realism is False
    assert Simulator(realism=True).realism is True


def test_the_sim_fixture_resets_realism_off_outside_the_integration_tests(sim):
    assert sim.simulator.realism is False


def control(sim, method, path, json=None):
    return requests.request(method, sim.url + path, json=json, verify=sim.ca_path, timeout=10)


def test_control_api_sets_and_reads_realism_and_reset_takes_it(sim):
    assert control(sim, "GET", "/_sim/realism").json() == {"realism": False}
    assert control(sim, "POST", "/_sim/realism", {"realism": True}).json() == {"realism": True}
    assert sim.simulator.realism is True
    assert control(sim, "POST", "/_sim/reset").json() == {"reset": True, "realism": True}
    assert control(sim, "POST", "/_sim/reset", {"realism": False}).json() == {"reset": True, "realism": False}
    assert sim.simulator.realism is False


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "'realism' (true or false) is required"),
        ({"realism": "yes"}, "'realism' must be true or false"),
        ([True], "body must be a JSON object"),
    ],
)
def test_control_api_refuses_a_bad_realism_body_and_changes_nothing(sim, body, error):
    resp = control(sim, "POST", "/_sim/realism", body)
    assert (resp.status_code, resp.json()) == (400, {"error": error})
    assert sim.simulator.realism is False


def test_pvestatd_tick_counts_rounds_over_python_and_http(sim):
    first = sim.simulator.pvestatd_tick()
    assert control(sim, "POST", "/_sim/pvestatd/tick").json() == {"ticks": first + 1}


def run_cli(tmp_path, *args, realism_env=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PVE_SIM_REALISM", None)
    if realism_env is not None:
        env["PVE_SIM_REALISM"] = realism_env
    proc = subprocess.Popen(
        [sys.executable, "-m", "pve_sim", "--port", "0", "--state-dir", str(tmp_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = [proc.stdout.readline() for _line in range(9)]
        return next(m.group(1) for line in lines if (m := re.match(r"^\s+realism:\s+(\w+)$", line)))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        ((), None, "off"),
        (("--realism",), None, "on"),
        ((), "1", "on"),
        ((), "0", "off"),
        (("--no-realism",), "1", "off"),
    ],
)
def test_cli_flag_and_env_switch_realism(tmp_path, args, env, shown):
    assert run_cli(tmp_path, *args, realism_env=env) == shown
