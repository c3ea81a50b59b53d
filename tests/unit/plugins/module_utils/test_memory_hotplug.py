"""memory_hotplug: the DIMM boundaries of qemu-server's foreach_dimm and where qemu_memory_hotplug stops."""

import pytest
from harness import requests_made, url

from ansible_collections.pve.config.plugins.module_utils.apply import Context
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, GuestState
from ansible_collections.pve.config.plugins.module_utils.memory_hotplug import (
    MEMORY_KEY,
    aligned,
    dimm_boundaries,
    hotplug_features,
    memory_mib,
    plugs_memory,
    stored_memory,
)

HOTPLUG = {"hotplug": "network,disk,usb,memory", "numa": 1, "sockets": 1}


@pytest.mark.parametrize(
    "value, features",
    [
        (None, {"network", "disk", "usb"}),  # unset: '1', the default
        ("1", {"network", "disk", "usb"}),
        ("0", set()),
        ("memory,cpu", {"memory", "cpu"}),
        ("network;memory disk", {"network", "memory", "disk"}),  # split_list: commas, semicolons, spaces
    ],
)
def test_hotplug_features(value, features):
    assert hotplug_features(value) == features


@pytest.mark.parametrize(
    "conf, plugs",
    [
        (HOTPLUG, True),
        (dict(HOTPLUG, numa=0), False),  # cannot start with memory hotplug but without NUMA
        ({"numa": 1}, False),  # default hotplug has no memory
        ({"hotplug": "memory", "numa": "1"}, True),
    ],
)
def test_plugs_memory(conf, plugs):
    assert plugs_memory(conf) is plugs


def test_memory_mib():
    assert memory_mib(None) == 512
    assert memory_mib("2048") == 2048
    assert memory_mib("current=4096") == 4096
    assert memory_mib(1024) == 1024


def test_dimm_boundaries():
    bounds = dimm_boundaries(HOTPLUG)
    assert bounds[:4] == [1024, 1536, 2048, 2560]  # static 1024 MiB, then DIMMs of 512 MiB
    assert bounds[32] == 1024 + 32 * 512 == 17408  # 32 DIMMs of 512 MiB
    assert bounds[33] == 17408 + 1024  # then DIMMs of 1024 MiB
    assert len(bounds) == 1 + 8 * 32
    assert bounds[-1] == 1024 + 32 * 512 * (2**8 - 1)


def test_dimm_boundaries_with_1g_hugepages():
    bounds = dimm_boundaries(dict(HOTPLUG, hugepages="1024", sockets=2))
    assert bounds[:3] == [2048, 3072, 4096]  # static 1024 MiB per socket, DIMMs of 1024 MiB
    assert dimm_boundaries(dict(HOTPLUG, hugepages="2", sockets=2))[:2] == [1024, 1536]


@pytest.mark.parametrize(
    "running, wanted, stored, neighbours",
    [
        (2048, 3000, 3072, {2560, 3072}),  # growing stops at the first boundary at or above
        (4096, 3000, 2560, {2560, 3072}),  # shrinking stops at the first boundary at or below
        (3072, 3000, 2560, {2560, 3072}),
        (2048, 3072, 3072, {3072}),  # a boundary is stored as asked
        (2048, 17500, 18432, {17408, 18432}),  # past the 32 DIMMs of 512 MiB: 1024 MiB ones
        (2048, 512, 512, {512}),  # below the static memory: refused by Proxmox, stays pending as asked
        (3000, 3000, 3000, {3000}),
    ],
)
def test_aligned(running, wanted, stored, neighbours):
    assert aligned(HOTPLUG, running, wanted) == (stored, neighbours)


# -- whether the VM runs: its /cluster/resources row, or GET status/current ----------------------------------

PATH = "nodes/pve1/qemu/100"
STATUS = ("GET", "/" + PATH + "/status/current", {})


def context(pve, row_status, memory=None, config_memory="2048"):
    config = dict(HOTPLUG, memory=config_memory)
    guest = Guest(100, "pve1", "qemu", status=row_status)
    return Context(pve, guest, {}, GuestState(config, dict(config), {}, "d1"), dict(memory or {}))


@pytest.mark.parametrize("row_status, runs", [("running", True), ("stopped", False)])
def test_the_row_status_answers_without_a_request(api, pve, row_status, runs):
    stored = stored_memory(context(pve, row_status), 3000)
    assert stored.value == (3072 if runs else 3000)
    assert requests_made(api) == []
    assert stored.remember == {MEMORY_KEY: True}  # a write planned on it makes the re-plans read the status


@pytest.mark.parametrize("row_status", [None, "unknown"])  # node given (no row), or pvestatd has not seen the VM
def test_without_a_usable_row_the_status_is_read(api, pve, row_status):
    api.get(url(PATH + "/status/current"), json={"data": {"status": "running", "vmid": 100}})
    assert stored_memory(context(pve, row_status), 3000).value == 3072
    assert requests_made(api) == [STATUS]


def test_after_a_write_planned_on_it_the_status_is_read_fresh(api, pve):
    """The row said stopped (pvestatd lags up to 10 s); after the write the VM itself says it runs."""
    api.get(url(PATH + "/status/current"), json={"data": {"status": "running", "vmid": 100}})
    stored = stored_memory(context(pve, "stopped", memory={MEMORY_KEY: True}, config_memory="3072"), 3000)
    assert stored.accept == {2560, 3072} and "DIMMs on running" in stored.note  # 3072 is as requested
    assert requests_made(api) == [STATUS]


def test_a_boundary_needs_no_status_at_all(api, pve):
    assert stored_memory(context(pve, None), 3072).value == 3072
    assert requests_made(api) == []
