"""Modules in-process against the stateful simulator (through its responses adapter): round trips whose
second run must be a no-op because Proxmox stored what the first run asked for."""

import pytest
import responses
from harness import HOST, TOKEN_SECRET, run_module

from pve_sim import Simulator
from pve_sim.responses_adapter import install


@pytest.fixture
def sim():
    simulator = Simulator(token_name="ci", token_secret=TOKEN_SECRET)
    with responses.RequestsMock() as mock:
        install(mock, simulator, host=HOST)
        yield simulator


@pytest.mark.parametrize(
    "size, stored, rounded", [("100M", "size=100M", False), ("1536K", "size=2M", True), ("2.5G", "size=2560M", False)]
)
def test_new_disk_is_allocated_in_whole_mib_and_a_rerun_is_a_noop(sim, size, stored, rounded):
    args = dict(vmid=101, disk="scsi2", storage="local-lvm", size=size)
    first, failed = run_module("vm_disk", args)
    assert not failed, first
    assert first["changed"] is True and stored in first["config"]["scsi2"]
    assert first.get("size_rounded", False) is rounded
    sim.clear_requests()
    second, failed = run_module("vm_disk", args)
    assert not failed and second["changed"] is False
    assert second.get("size_rounded", False) is rounded
    assert [r["method"] for r in sim.requests()] == ["GET", "GET"]
