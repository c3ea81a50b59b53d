"""resources.Resource: checking user values, reading the effective value, writing raw values (tables)."""

import pytest

from ansible_collections.pve.config.plugins.module_utils.apply import Context
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, GuestState
from ansible_collections.pve.config.plugins.module_utils.resources import (
    Resource,
    Stored,
    check_params,
    effective,
    plan_resources,
)

QEMU_MEMORY = Resource("memory", "memory", "qemu", default=512, fmt="qemu_memory")
LXC_MEMORY = Resource("memory", "memory", "lxc", default=512)
SWAP = Resource("swap", "memory", "lxc", default=512)
BALLOON = Resource("balloon", "memory", "qemu")
CORES = Resource("cores", "int", "lxc")
CPULIMIT = Resource("cpulimit", "float", "qemu", default=0.0)
CPU = Resource("cpu", "str", "qemu", default="kvm64", fmt="qemu_cpu", pattern=r"[a-z0-9-]+", what="the CPU type only")


@pytest.mark.parametrize(
    "res, value, checked",
    [
        (QEMU_MEMORY, "4G", 4096),
        (QEMU_MEMORY, 16, 16),
        (LXC_MEMORY, "512M", 512),
        (SWAP, 0, 0),
        (SWAP, "0", 0),
        (SWAP, "1G", 1024),
        (CORES, 8192, 8192),
        (CPULIMIT, 0.0, 0.0),
        (CPULIMIT, 1.5, 1.5),
        (CPULIMIT, 2, 2),
        (CPULIMIT, " 1.5", 1.5),  # a raw option: text from a template or a quoted value
        (BALLOON, "8G", 8192),
        (BALLOON, 0, 0),
        (CPU, "host", "host"),
    ],
)
def test_check(res, value, checked):
    assert res.check(value) == checked


@pytest.mark.parametrize(
    "res, value, words",
    [
        (QEMU_MEMORY, 8, "memory must be at least 16, got 8"),
        (QEMU_MEMORY, 0, "memory must be positive, got 0"),
        (SWAP, -1, "swap must be at least 0, got -1"),
        (CORES, 0, "cores must be 1 to 8192, got 0"),  # ranges from option_ranges
        (CORES, 8193, "cores must be 1 to 8192, got 8193"),
        (CPULIMIT, 128.5, "cpulimit must be 0 to 128, got 128.5"),
        (CPU, "  ", "cpu must not be empty"),
        (CPULIMIT, float("nan"), "cpulimit must be a number, got nan"),
        (CPULIMIT, float("inf"), "cpulimit must be a number, got inf"),
        (CPULIMIT, "lots", "cpulimit must be a number, got 'lots'"),
        (CPULIMIT, "nan", "cpulimit must be a number, got nan"),
        (CORES, True, "cores must be an integer, got the boolean true"),
        (CPULIMIT, False, "cpulimit must be a number, got the boolean false"),
        (BALLOON, "8X", "balloon must be a whole number of MiB of at least 0 or a size such as 4G, got '8X'"),
        (BALLOON, -1, "balloon must be at least 0, got -1"),
        (CPU, "host,flags=+aes", "cpu takes the CPU type only, got 'host,flags=+aes'"),
        (CPU, "cputype=host", "cpu takes the CPU type only, got 'cputype=host'"),
        (CPU, "host\n", "cpu takes the CPU type only, got 'host\\n'"),
    ],
)
def test_check_errors(res, value, words):
    with pytest.raises(InvalidRequest) as exc:
        res.check(value)
    assert words in exc.value.msg and "nothing was changed" not in exc.value.msg  # the outcome is outcome.tell's


@pytest.mark.parametrize(
    "res, config, current",
    [
        (QEMU_MEMORY, {"memory": "2048"}, 2048),
        (QEMU_MEMORY, {"memory": "current=2048"}, 2048),
        (QEMU_MEMORY, {}, 512),  # the Proxmox default when unset
        (LXC_MEMORY, {"memory": 1024}, 1024),
        (SWAP, {}, 512),
        (CORES, {}, None),  # no default: any value given is a change
        (CORES, {"cores": "4"}, 4),
        (CPULIMIT, {"cpulimit": "1.5"}, 1.5),
        (CPULIMIT, {}, 0.0),
        (CPU, {"cpu": "host,flags=+aes"}, "host"),
        (CPU, {}, "kvm64"),
    ],
)
def test_current(res, config, current):
    assert res.current(config) == current


@pytest.mark.parametrize(
    "res, config, value, raw",
    [
        (QEMU_MEMORY, {"memory": "2048"}, 4096, "4096"),
        (QEMU_MEMORY, {}, 4096, "4096"),
        (CPU, {"cpu": "x86-64-v2-AES,flags=+aes"}, "host", "host,flags=+aes"),  # other sub-keys kept
        (CPU, {}, "host", "host"),
        (CPULIMIT, {}, 2.0, "2"),
        (CPULIMIT, {}, 2.5, "2.5"),
        (CORES, {}, 4, "4"),
    ],
)
def test_write(res, config, value, raw):
    assert res.write(config, value) == raw


def test_check_params_normalises_only_given_options():
    params = {"memory": "1G", "swap": None, "cores": 2}
    check_params(params, [LXC_MEMORY, SWAP, CORES])
    assert params == {"memory": 1024, "swap": None, "cores": 2}


@pytest.mark.parametrize(
    "config, params, to_set",
    [
        ({"memory": "2048", "cores": 2}, {"memory": 2048, "cores": 2}, {}),
        ({"memory": "2048", "cores": 2}, {"memory": 4096, "cores": None}, {"memory": "4096"}),
        ({}, {"memory": 512, "cores": 1}, {"cores": "1"}),  # memory 512 is the default already
        ({"cpu": "kvm64,flags=+pcid"}, {"cpu": "host"}, {"cpu": "host,flags=+pcid"}),
    ],
)
def test_plan_resources(config, params, to_set):
    planned = plan_resources(context(config, params), [QEMU_MEMORY, CORES, CPU])
    assert planned.set == to_set
    assert planned.notes == [] and planned.change().result == {}


def context(config, params):
    """A plan context without API (plans of plain resources read nothing)."""
    return Context(None, Guest(100, "pve1", "qemu"), params, GuestState(config, config, {}, "d1"), {})


def clamp_to_10(ctx, wanted):
    if wanted <= 10:
        return Stored(wanted)
    return Stored(10, note=f"cpuunits {wanted} is stored as 10", remember={"seen": wanted})


UNITS = Resource("cpuunits", "int", "qemu", stored=clamp_to_10)


@pytest.mark.parametrize(
    "config, wanted, to_set, notes",
    [
        ({"cpuunits": "5"}, 5, {}, []),  # equal: the hook is not asked
        ({"cpuunits": "5"}, 8, {"cpuunits": "8"}, []),
        ({"cpuunits": "5"}, 50, {"cpuunits": "10"}, ["cpuunits 50 is stored as 10"]),  # writes the stored value
        ({"cpuunits": "10"}, 50, {}, ["cpuunits 50 is stored as 10"]),  # already stored that way: nothing to write
    ],
)
def test_plan_resources_compares_the_stored_value(config, wanted, to_set, notes, ansible_warnings):  # noqa: F811
    planned = plan_resources(context(config, {"cpuunits": wanted}), [UNITS])
    assert planned.set == to_set and planned.notes == notes
    change = planned.change()
    planned.change()  # a re-plan of the next round: the same warning once
    assert ansible_warnings() == notes
    assert change.set == to_set
    assert change.result == ({"normalised": notes} if notes else {})
    assert change.remember == ({"seen": wanted} if notes else {})


def test_stored_accepts_its_value_and_the_given_neighbours():
    assert Stored(3072, accept=(2560, 3072)).accept == {2560, 3072}
    assert Stored(7).accept == {7}


def test_effective():
    assert effective({"memory": "2048"}, {"memory": "4096"}, QEMU_MEMORY) == 4096
    assert effective({"memory": "2048"}, {}, QEMU_MEMORY) == 2048
