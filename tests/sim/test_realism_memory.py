"""Realism: memory hot-plug of a running VM goes in DIMMs (qemu-server Memory.pm qemu_memory_hotplug)."""

import pytest
from proxmoxer.core import ResourceException

from pve_sim.memory_hotplug import hotplug_memory, max_mem
from pve_sim.testing import proxmox_client


@pytest.mark.parametrize(
    ("old", "new", "stored"),
    [
        ("4096", "5000", "5120"),  # 1024 static + 512 MiB DIMMs: plugged until reached or passed
        ("4096", "4500", "4608"),
        ("5120", "4500", "4096"),  # unplugged from the last DIMM until at or below
        ("4096", "2000", "1536"),
        ("2048", "40000", "40960"),  # after 32 DIMMs of 512 MiB they are 1 GiB each
        ("4096", "4096", "4096"),
    ],
)
def test_dimm_steps(old, new, stored):
    assert hotplug_memory({"numa": "1", "memory": old}, new) == stored


@pytest.mark.parametrize(
    ("conf", "new", "message"),
    [
        ({"numa": "0", "memory": "4096"}, "5000", "NUMA needs to be enabled for memory hotplug\n"),
        (
            {"numa": "1", "memory": "4096"},
            "512",
            "memory can't be lower than 1024 MB at /usr/share/perl5/PVE/QemuServer/Memory.pm line 219.\n",
        ),
        ({"numa": "1", "memory": "4096"}, "600000", "you cannot add more memory than max mem 524288 MB!\n"),
    ],
)
def test_refusals(conf, new, message):
    with pytest.raises(Exception) as exc:
        hotplug_memory(dict(conf), new)
    assert exc.value.message == message


def test_max_mem_follows_the_cpu_phys_bits():
    assert max_mem({"cpu": "x86-64-v2-AES"}) == 524288  # 40 bits at most for named models
    assert max_mem({"cpu": "host,guest-phys-bits=40"}) == 4 * 1024 * 1024  # host bits (46), capped at 4 TiB
    assert max_mem({"cpu": "kvm64,phys-bits=37"}) == 1 << 15  # odd bit counts round down to even


def test_running_vm_with_memory_hotplug_and_numa_stores_the_dimm_aligned_size(realism):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(110)  # running, hotplug disk,network,usb,memory, numa 1
    vm.config.put(memory=5000)
    conf = vm.config.get()
    assert conf["memory"] == "5120"
    assert [p for p in vm.pending.get() if "pending" in p] == []


def test_memory_hotplug_without_numa_is_a_hotplug_problem_and_stays_pending(realism):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(100)
    vm.config.put(hotplug="disk,network,usb,memory")
    realism.simulator.set_guest_status(100, "stopped")
    realism.simulator.set_guest_status(100, "running")  # hotplug applied at start; numa stays 0
    with pytest.raises(ResourceException) as exc:
        vm.config.put(memory=3000)
    assert exc.value.errors == {"memory": "hotplug problem - NUMA needs to be enabled for memory hotplug\n"}
    assert {p["key"]: p for p in vm.pending.get()}["memory"] == {"key": "memory", "value": "2048", "pending": "3000"}


def test_without_memory_in_hotplug_the_change_stays_pending(realism):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(100)
    vm.config.put(memory=3000)
    assert {p["key"]: p for p in vm.pending.get()}["memory"]["pending"] == "3000"


def test_without_realism_memory_hotplug_stores_the_value_asked(sim_api, sim):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(hotplug="disk,network,usb,memory")
    sim.simulator.set_guest_status(100, "stopped")
    sim.simulator.set_guest_status(100, "running")
    vm.config.put(memory=3000)
    assert vm.config.get()["memory"] == "3000"
