"""vm_resources / container_resources with values Proxmox stores differently from the request: cpuunits clamped
by the node's cgroup version, memory hot-plugged in whole DIMMs. Exact requests; a re-run is a no-op."""

import pytest
from harness import pending, requests_made, resources, run_module, url, writes
from responses import matchers

pytestmark = pytest.mark.usefixtures("ansible_warnings")

VM = {"memory": "2048", "cores": 2, "sockets": 1, "cpuunits": 100, "name": "web01"}
CT = {"hostname": "cache01", "memory": 512, "swap": 512, "cores": 1, "cpuunits": 100}
VM_PATH = "nodes/pve1/qemu/100"
CT_PATH = "nodes/pve1/lxc/200"
LOOKUP = ("GET", "/cluster/resources", {"type": "vm"})
EVERYTHING = ("GET", "/cluster/resources", {})  # guests and nodes in one call: cpuunits outside 2..10000
NODES = ("GET", "/cluster/resources", {"type": "node"})
V2_NOTE = "cpuunits 262144 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"


def lookup(api, status="running"):
    """``GET /cluster/resources?type=vm``: VM 100 with ``status`` as pvestatd last saw it, container 200."""
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1", status), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )


def rows_of_nodes(mode):
    row = {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online"}
    if mode is not None:
        row["cgroup-mode"] = mode
    other = {"id": "node/pve2", "type": "node", "node": "pve2", "status": "online", "cgroup-mode": 3 - (mode or 2)}
    return [other, row]


def node_rows(api, mode):
    """``GET /cluster/resources?type=node`` (only when ``node`` is given: the lookup read no rows)."""
    api.get(
        url("cluster/resources"),
        json={"data": rows_of_nodes(mode)},
        match=[matchers.query_param_matcher({"type": "node"})],
    )


def lookup_with_nodes(api, mode):
    """``GET /cluster/resources`` without ``type``: the guests' rows and the nodes' rows in one answer."""
    guests = resources((100, "qemu", "pve1"), (200, "lxc", "pve1"))["data"]
    storage = {"id": "storage/pve1/local", "type": "storage", "storage": "local", "node": "pve1"}
    api.get(
        url("cluster/resources"),
        json={"data": guests + rows_of_nodes(mode) + [storage]},
        match=[matchers.query_param_matcher({})],
    )


def expect_put(api, path, body):
    api.put(url(path + "/config"), json={"data": None}, match=[matchers.urlencoded_params_matcher(body)])


def expect_write(api, path, before, **written):
    """The read (digest d1), the PUT of ``written`` and the re-read that finds them stored."""
    api.get(url(path + "/pending"), json=pending(before, "d1"))
    expect_put(api, path, dict({k: str(v) for k, v in written.items()}, digest="d1"))
    api.get(url(path + "/pending"), json=pending(dict(before, **written), "d2"))


def test_vm_cpuunits_above_cgroup_v2_limit_writes_the_clamped_value_and_warns(api, ansible_warnings):  # noqa: F811
    lookup_with_nodes(api, 2)
    expect_write(api, VM_PATH, VM, cpuunits=10000)
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=262144), diff=True)
    assert not failed, result
    assert result["changed"] is True
    assert requests_made(api) == [
        EVERYTHING,  # the node rows only because 262144 is outside what cgroup v2 keeps
        ("GET", "/" + VM_PATH + "/pending", {}),
        ("PUT", "/" + VM_PATH + "/config", {"cpuunits": "10000", "digest": "d1"}),
        ("GET", "/" + VM_PATH + "/pending", {}),
    ]
    assert result["diff"] == {"before": {"cpuunits": 100}, "after": {"cpuunits": 10000}}
    assert result["normalised"] == [V2_NOTE]
    assert ansible_warnings() == [V2_NOTE]
    assert "still differs" not in result["msg"]


def test_vm_cpuunits_rerun_after_clamping_is_a_noop_with_the_warning(api, ansible_warnings):  # noqa: F811
    lookup_with_nodes(api, 2)
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=10000), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=262144))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == [EVERYTHING, ("GET", "/" + VM_PATH + "/pending", {})]  # two GETs, as design.md
    assert result["normalised"] == [V2_NOTE] and ansible_warnings() == [V2_NOTE]


def test_vm_cpuunits_rerun_with_node_reads_the_node_rows_after_the_config(api, ansible_warnings):  # noqa: F811
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=10000), "d2"))
    node_rows(api, 2)
    result, failed = run_module("vm_resources", dict(vmid=100, node="pve1", cpuunits=262144))
    assert not failed, result
    assert result["changed"] is False
    assert requests_made(api) == [("GET", "/" + VM_PATH + "/pending", {}), NODES]
    assert result["normalised"] == [V2_NOTE] and ansible_warnings() == [V2_NOTE]


def test_container_cpuunits_rerun_is_two_gets(api):
    lookup_with_nodes(api, 2)
    api.get(url(CT_PATH + "/pending"), json=pending(dict(CT, cpuunits=10000), "d2"))
    result, failed = run_module("container_resources", dict(vmid=200, cpuunits=500000))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [EVERYTHING, ("GET", "/" + CT_PATH + "/pending", {})]


def test_a_lookup_without_the_node_row_counts_as_cgroup_v2(api):
    api.get(url("cluster/resources"), json=resources((100, "qemu", "pve1")), match=[matchers.query_param_matcher({})])
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=10000), "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=262144))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [EVERYTHING, ("GET", "/" + VM_PATH + "/pending", {})]
    assert result["normalised"] == [V2_NOTE]


def test_vm_cpuunits_check_mode_predicts_the_clamped_value(api):
    lookup_with_nodes(api, 2)
    api.get(url(VM_PATH + "/pending"), json=pending(VM, "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=262144), check=True, diff=True)
    assert not failed and result["changed"] is True
    assert writes(api) == []
    assert result["diff"] == {"before": {"cpuunits": 100}, "after": {"cpuunits": "10000"}}
    assert result["config"]["cpuunits"] == "10000"


@pytest.mark.parametrize("cpuunits", [2, 5000, 10000])
def test_vm_cpuunits_that_every_cgroup_keeps_needs_no_node_read(api, cpuunits, ansible_warnings):  # noqa: F811
    lookup(api)
    api.get(url(VM_PATH + "/pending"), json=pending(VM, "d1"))
    expect_put(api, VM_PATH, {"cpuunits": str(cpuunits), "digest": "d1"})
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=cpuunits), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=cpuunits))
    assert not failed and result["changed"] is True
    assert requests_made(api)[0] == LOOKUP and len(requests_made(api)) == 4  # no node rows
    assert "normalised" not in result and ansible_warnings() == []


def test_vm_cpuunits_noop_in_range_costs_two_gets(api):
    lookup(api)
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=5000), "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=5000))
    assert not failed and result["changed"] is False
    assert len(requests_made(api)) == 2


def test_vm_cpuunits_on_cgroup_v1_node_is_written_as_given(api, ansible_warnings):  # noqa: F811
    lookup_with_nodes(api, 1)
    expect_write(api, VM_PATH, VM, cpuunits=262144)
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=262144))
    assert not failed and result["changed"] is True
    assert "normalised" not in result and ansible_warnings() == []


def test_vm_cpuunits_1_on_cgroup_v1_node_is_stored_as_2(api, ansible_warnings):  # noqa: F811
    lookup_with_nodes(api, 1)
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=2), "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=1))
    assert not failed and result["changed"] is False
    note = "cpuunits 1 is stored as 2: node pve1 uses cgroup v1, where Proxmox clamps cpuunits to at least 2"
    assert result["normalised"] == [note] and ansible_warnings() == [note]


def test_node_row_without_cgroup_mode_counts_as_v2(api):
    lookup_with_nodes(api, None)
    api.get(url(VM_PATH + "/pending"), json=pending(dict(VM, cpuunits=10000), "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, cpuunits=262144))
    assert not failed and result["changed"] is False
    assert result["normalised"] == [V2_NOTE]


def test_container_cpuunits_clamped_on_cgroup_v2(api, ansible_warnings):  # noqa: F811
    lookup_with_nodes(api, 2)
    expect_write(api, CT_PATH, CT, cpuunits=10000)
    result, failed = run_module("container_resources", dict(vmid=200, cpuunits=500000))
    assert not failed, result
    assert result["changed"] is True
    assert writes(api) == [("PUT", "/" + CT_PATH + "/config", {"cpuunits": "10000", "digest": "d1"})]
    note = (
        "cpuunits 500000 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"
    )
    assert result["normalised"] == [note] and ansible_warnings() == [note]


# -- memory hot-plug -------------------------------------------------------------------------------------------

HOTPLUG_VM = dict(VM, hotplug="network,disk,usb,memory", numa=1)
STATUS = ("GET", "/" + VM_PATH + "/status/current", {})
READ = ("GET", "/" + VM_PATH + "/pending", {})


def status(api, state="running"):
    api.get(url(VM_PATH + "/status/current"), json={"data": {"status": state, "vmid": 100}})


def dimm_note(wanted):
    return f"memory {wanted} MiB is hot-plugged in whole DIMMs on running QEMU VM 100: Proxmox stores 2560 or 3072 MiB"


def test_memory_hotplug_writes_the_dimm_boundary_and_a_rerun_is_a_noop(api, ansible_warnings):  # noqa: F811
    lookup(api)  # VM 100 running in its row: the first plan needs no status call
    expect_write(api, VM_PATH, HOTPLUG_VM, memory="3072")
    status(api)
    result, failed = run_module("vm_resources", dict(vmid=100, memory=3000), diff=True)
    assert not failed, result
    assert requests_made(api) == [
        LOOKUP,
        READ,
        ("PUT", "/" + VM_PATH + "/config", {"memory": "3072", "digest": "d1"}),
        READ,
        STATUS,  # the re-plan after the write asks the VM itself, never the row pvestatd may not have updated
    ]
    assert result["changed"] is True and result["pending"] == {}
    assert result["diff"] == {"before": {"memory": "2048"}, "after": {"memory": "3072"}}
    assert result["normalised"] == [dimm_note(3000)] and ansible_warnings() == [dimm_note(3000)]


@pytest.mark.parametrize("current", ["2560", "3072"])
def test_memory_hotplug_noop_at_either_neighbouring_boundary_is_two_gets(api, current):
    lookup(api)
    api.get(url(VM_PATH + "/pending"), json=pending(dict(HOTPLUG_VM, memory=current), "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, memory=3000))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [LOOKUP, READ]  # whether the VM runs: the status of its row
    assert result["normalised"] == [dimm_note(3000)]


def test_memory_hotplug_noop_with_node_reads_the_status(api):
    api.get(url(VM_PATH + "/pending"), json=pending(dict(HOTPLUG_VM, memory="3072"), "d1"))
    status(api)
    result, failed = run_module("vm_resources", dict(vmid=100, node="pve1", memory=3000))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [READ, STATUS]
    assert result["normalised"] == [dimm_note(3000)]


def test_memory_hotplug_row_status_unknown_reads_the_status(api):
    lookup(api, status="unknown")  # pvestatd has not seen the VM yet
    api.get(url(VM_PATH + "/pending"), json=pending(dict(HOTPLUG_VM, memory="2560"), "d1"))
    status(api)
    result, failed = run_module("vm_resources", dict(vmid=100, memory=3000))
    assert not failed and result["changed"] is False
    assert requests_made(api) == [LOOKUP, READ, STATUS]


def test_a_stale_stopped_row_of_a_running_vm_costs_one_write_and_no_loop(api, ansible_warnings):  # noqa: F811
    """pvestatd still shows the VM stopped: 3000 is written as asked, Proxmox hot-plugs 3072 (one DIMM more),
    the re-plan reads the status fresh and finds 3072 as requested: no second write, no "still differs"."""
    lookup(api, status="stopped")
    api.get(url(VM_PATH + "/pending"), json=pending(HOTPLUG_VM, "d1"))
    expect_put(api, VM_PATH, {"memory": "3000", "digest": "d1"})
    api.get(url(VM_PATH + "/pending"), json=pending(dict(HOTPLUG_VM, memory="3072"), "d2"))
    status(api, "running")
    result, failed = run_module("vm_resources", dict(vmid=100, memory=3000))
    assert not failed, result
    assert requests_made(api) == [
        LOOKUP,
        READ,
        ("PUT", "/" + VM_PATH + "/config", {"memory": "3000", "digest": "d1"}),
        READ,
        STATUS,
    ]
    assert result["changed"] is True and "still differs" not in result["msg"]
    assert result["config"]["memory"] == "3072"
    assert result["normalised"] == [dimm_note(3000)] and ansible_warnings() == [dimm_note(3000)]


def test_memory_hotplug_shrinks_to_the_boundary_below(api):
    lookup(api)
    api.get(url(VM_PATH + "/pending"), json=pending(dict(HOTPLUG_VM, memory="4096"), "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, memory="3000M"), check=True, diff=True)
    assert not failed and result["changed"] is True
    assert result["diff"]["after"] == {"memory": "2560"}
    assert writes(api) == []


def test_memory_of_a_stopped_hotplug_vm_is_written_as_asked(api, ansible_warnings):  # noqa: F811
    lookup(api, status="stopped")
    expect_write(api, VM_PATH, HOTPLUG_VM, memory="3000")
    result, failed = run_module("vm_resources", dict(vmid=100, memory=3000))
    assert not failed and result["changed"] is True
    assert len(requests_made(api)) == 4  # no status call: the row says stopped, the re-plan finds 3000 as asked
    assert "normalised" not in result and ansible_warnings() == []


@pytest.mark.parametrize(
    "config, memory",
    [
        (VM, 3000),  # no memory hotplug
        (dict(HOTPLUG_VM, numa=0), 3000),  # a VM cannot run with memory hotplug but without NUMA
        (HOTPLUG_VM, 3072),  # a DIMM boundary is stored as asked
    ],
)
def test_memory_needs_no_status_read_when_stored_as_asked(api, config, memory):
    api.get(url(VM_PATH + "/pending"), json=pending(config, "d1"))
    expect_put(api, VM_PATH, {"memory": str(memory), "digest": "d1"})
    api.get(url(VM_PATH + "/pending"), json=pending(dict(config, memory=str(memory)), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, node="pve1", memory=memory))
    assert not failed and result["changed"] is True
    assert STATUS not in requests_made(api)


def test_memory_below_static_on_running_hotplug_vm_is_refused_before_the_write(api):
    lookup(api)
    api.get(url(VM_PATH + "/pending"), json=pending(HOTPLUG_VM, "d1"))
    result, failed = run_module("vm_resources", dict(vmid=100, memory=768))
    assert failed
    assert result["msg"] == (
        "memory 768 MiB is less than the 1024 MiB that running QEMU VM 100 keeps with memory hotplug (qemu-server "
        'refuses it: "memory can\'t be lower than 1024 MB"); stop the VM first; nothing was changed'
    )
    assert requests_made(api) == [LOOKUP, READ]


def test_memory_below_static_on_stopped_hotplug_vm_is_written(api):
    api.get(url(VM_PATH + "/pending"), json=pending(HOTPLUG_VM, "d1"))
    status(api, "stopped")
    expect_put(api, VM_PATH, {"memory": "768", "digest": "d1"})
    api.get(url(VM_PATH + "/pending"), json=pending(dict(HOTPLUG_VM, memory="768"), "d2"))
    result, failed = run_module("vm_resources", dict(vmid=100, node="pve1", memory=768))
    assert not failed and result["changed"] is True
    assert requests_made(api)[:2] == [READ, STATUS]
