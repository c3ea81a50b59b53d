"""Fixtures for the simulator tests: an HTTPS simulator per session, reset per test."""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


def wait_task(api, node, upid, timeout=10.0):
    """Poll a task like the modules do; return its final status dict."""
    deadline = time.monotonic() + timeout
    while True:
        status = api.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"task {upid} still running after {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def wait():
    return wait_task


@pytest.fixture
def realism(sim):
    """The ``sim`` server reset with realism on (its extra storages and guests seeded)."""
    sim.simulator.reset(realism=True)
    yield sim
    sim.simulator.reset(realism=False)
