"""module_utils/fleet.py with a plan written here: selection from one /cluster/resources read, the concurrency
limits (counted in the faked API while requests are in flight), per-guest results, failure rules, check mode."""

import re

import pytest
from fake_cluster import GUEST_PATH, FakeCluster, PveCallback, vm
from harness import FakeClock, requests_made, url, writes

from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.fleet import Summary, apply_fleet, check_limits


def plan_memory(ctx):
    """Set ``memory`` to ``config.memory`` when it differs (the plan fleet.py is tested with)."""
    want = ctx.params["config"].get("memory")
    if want is None or str(ctx.config.get("memory")) == str(want):
        return Change()
    return Change(set={"memory": str(want)}, summary="set memory")


def check_memory(kind, params):
    if not isinstance(params["config"].get("memory"), int):
        raise InvalidRequest(f"memory must be an int, got {params['config'].get('memory')!r}")


ALL = {"types": ["qemu", "lxc"]}


def params(**kwargs):
    base = dict(guests=None, select=None, config=None, absent=None, lock_timeout=0, task_timeout=10)
    base.update(kwargs)
    return base


def guest_requests(mock, vmid):
    return [(m, p, b) for m, p, b in requests_made(mock) if f"/{vmid}/" in p]


def test_select_by_tag_changes_exactly_the_tagged_guests_with_the_single_guest_requests(api, pve):
    cluster = FakeCluster(api, [vm(100, tags="web;prod"), vm(101, tags="db"), vm(102, "pve2", tags="web"),
                                vm(103, tags="web", template=1)])  # fmt: skip
    summary, results = apply_fleet(pve, params(select={"tags": ["web"]}, config={"memory": 4096}), plan_memory)
    assert [r["vmid"] for r in results] == [100, 102]  # 101 has no web tag, 103 is a template
    assert requests_made(api)[0] == ("GET", "/cluster/resources", {"type": "vm"}), results
    assert [c for c in requests_made(api) if c[1] == "/cluster/resources"] == [requests_made(api)[0]]
    for vmid, node in ((100, "pve1"), (102, "pve2")):
        path = f"/nodes/{node}/qemu/{vmid}"
        assert guest_requests(api, vmid) == [
            ("GET", path + "/pending", {}),
            ("PUT", path + "/config", {"memory": "4096", "digest": FakeCluster.digest(vm(vmid))}),
            ("GET", path + "/pending", {}),
        ]
        assert cluster.guests[vmid]["config"]["memory"] == "4096"
    assert guest_requests(api, 101) == [] and guest_requests(api, 103) == []
    assert not summary.fails_task and len(summary.changed) == 2
    first = results[0]
    assert first["changed"] and not first["failed"] and first["name"] == "guest100" and first["node"] == "pve1"
    assert first["diff"] == {"before": {"memory": "2048"}, "after": {"memory": "4096"}}
    assert first["pending"] == {} and first["reboot_required"] is False and "config" not in first


def test_select_filters_combine_and_every_select_key_works(api, pve):
    FakeCluster(api, [vm(100, tags="web", pool="prod"), vm(101, "pve2", tags="web"), vm(200, kind="lxc", tags="web"),
                      vm(201, kind="lxc")])  # fmt: skip
    cases = [
        (dict(tags=["web"], nodes=["pve1"]), [100, 200]),
        (dict(types=["lxc"]), [200, 201]),
        (dict(pools=["prod"]), [100]),
        (dict(names=["guest101", "guest201"]), [101, 201]),
        (dict(vmids=[100, 201], types=["qemu"]), [100]),
        (dict(tags=[]), []),
    ]
    for select, vmids in cases:
        summary, results = apply_fleet(pve, params(select=select, config={"memory": 2048}), plan_memory)
        assert [r["vmid"] for r in results] == vmids, select
        assert not summary.changed
    assert writes(api) == []


def test_guests_entries_by_vmid_and_name_each_with_its_own_config(api, pve):
    cluster = FakeCluster(api, [vm(100), vm(101, "pve2"), vm(200, kind="lxc")])
    entries = [dict(vmid=100, config={"memory": 1024}), dict(name="guest200", config={"memory": 512})]
    summary, results = apply_fleet(pve, params(guests=entries), plan_memory)
    assert [(r["vmid"], r["changed"]) for r in results] == [(100, True), (200, True)]
    assert cluster.guests[100]["config"]["memory"] == "1024" and cluster.guests[200]["config"]["memory"] == "512"
    assert cluster.guests[101]["config"]["memory"] == "2048"
    assert [c for c in requests_made(api) if c[1] == "/cluster/resources"] == [
        ("GET", "/cluster/resources", {"type": "vm"})
    ]


@pytest.mark.parametrize(
    "entries, message",
    [
        ([dict(vmid=100), dict(vmid=100)], "guests entries 1 and 2 both name vmid 100"),
        ([dict(vmid=100, name="x")], "guests entry 1 needs exactly one of vmid and name"),
        ([dict(config={})], "guests entry 1 needs exactly one of vmid and name"),
        (
            [dict(vmid=100, confg={})],
            "guests entry 1: unknown key(s) confg (use vmid, name, config, absent, if_digest)",
        ),
        (["web01"], "guests entry 1 must be a dict with vmid or name, not 'web01'"),
        ([dict(vmid="abc")], "guests entry 1: vmid 'abc' is not a number"),
        ([dict(vmid=100, config="memory=1")], "guests entry 1: config must be a dict, not 'memory=1'"),
        ([dict(vmid=100, absent="net1")], "guests entry 1: absent must be a list, not 'net1'"),
    ],
)
def test_malformed_guests_are_refused_before_any_request(api, pve, entries, message):
    FakeCluster(api, [vm(100)])
    with pytest.raises(InvalidRequest) as exc:
        apply_fleet(pve, params(guests=entries), plan_memory)
    assert exc.value.msg.startswith(message), exc.value.msg
    assert requests_made(api) == []


def test_the_same_guest_by_vmid_and_by_name_is_refused_before_any_write(api, pve):
    FakeCluster(api, [vm(100)])
    with pytest.raises(
        InvalidRequest, match=r"guest 100 is listed twice in guests \(as vmid 100 and name 'guest100'\)"
    ):
        apply_fleet(pve, params(guests=[dict(vmid=100), dict(name="guest100")]), plan_memory)
    assert writes(api) == []


@pytest.mark.parametrize(
    "select, message",
    [
        (dict(tag=["web"]), "unknown select key(s) tag: use tags, pools, nodes, types, names, vmids"),
        (dict(tags="web"), "select.tags must be a list, not 'web'"),
        (dict(types=["vm"]), "select.types: vm is not qemu or lxc"),
        (dict(vmids=[5]), "vmid 5 is not a Proxmox VM ID"),
    ],
)
def test_a_bad_select_is_refused_before_any_request(api, pve, select, message):
    FakeCluster(api, [vm(100)])
    with pytest.raises(InvalidRequest) as exc:
        apply_fleet(pve, params(select=select, config={"memory": 1}), plan_memory)
    assert exc.value.msg.startswith(message), exc.value.msg
    assert requests_made(api) == []


def test_input_the_plan_refuses_for_one_guest_fails_the_task_before_any_write(api, pve):
    FakeCluster(api, [vm(100), vm(101)])
    entries = [dict(vmid=100, config={"memory": 1024}), dict(vmid=101, config={"memory": "lots"})]
    with pytest.raises(InvalidRequest, match=r"^QEMU VM 101: memory must be an int, got 'lots'$"):
        apply_fleet(pve, params(guests=entries), plan_memory, check=check_memory)
    assert requests_made(api) == [("GET", "/cluster/resources", {"type": "vm"})]


def test_parallel_and_per_node_limits_hold_and_are_reached(api, pve):
    guests = [vm(100 + i, "pve1") for i in range(8)] + [vm(200 + i, "pve2") for i in range(4)]
    cluster = FakeCluster(api, guests, delay=0.05)
    summary, results = apply_fleet(
        pve, params(select=ALL, config={"memory": 4096}, parallel=5, per_node=3), plan_memory
    )
    assert len(results) == 12 and all(r["changed"] for r in results)
    assert cluster.peak == 5, "at most parallel=5 guests' requests in flight, and that many at some point"
    assert cluster.peak_per_node["pve1"] == 3 and cluster.peak_per_node["pve2"] <= 3
    assert [r["vmid"] for r in results] == sorted(g["vmid"] for g in guests), "results in the guests' order"


def test_one_guest_at_a_time_with_parallel_1(api, pve):
    cluster = FakeCluster(api, [vm(100), vm(101, "pve2"), vm(102)], delay=0.01)
    apply_fleet(pve, params(select=ALL, config={"memory": 4096}, parallel=1, per_node=4), plan_memory)
    assert cluster.peak == 1
    paths = [p for m, p, b in requests_made(api)[1:]]
    assert [int(p.split("/")[4]) for p in paths] == [100] * 3 + [101] * 3 + [102] * 3  # the nodes take turns


@pytest.mark.parametrize("percentage, fails", [(0, True), (24, True), (25, False), (100, False)])
def test_a_failed_guest_fails_the_task_after_the_others_finished(api, pve, percentage, fails):
    cluster = FakeCluster(api, [vm(100), vm(101), vm(102, "pve2"), vm(103)])
    cluster.fail_put.add(101)
    summary, results = apply_fleet(
        pve, params(select=ALL, config={"memory": 4096}, max_fail_percentage=percentage), plan_memory
    )
    assert summary.fails_task is fails
    assert [(r["vmid"], r["failed"], r["changed"]) for r in results] == [
        (100, False, True), (101, True, False), (102, False, True), (103, False, True)
    ]  # fmt: skip
    assert [cluster.guests[v]["config"]["memory"] for v in (100, 101, 102, 103)] == ["4096", "2048", "4096", "4096"]
    failed = results[1]
    assert failed["msg"].startswith("Proxmox API error on PUT nodes/pve1/qemu/101/config: 500 simulated failure")
    assert failed["msg"].endswith("; nothing was changed"), failed["msg"]
    words = summary.msg()
    assert words.startswith("4 guests in ") and ": 3 changed, 0 already as requested, 1 failed (QEMU VM 101: " in words
    assert words.endswith(f"within max_fail_percentage {percentage}") is (not fails)


def test_a_guest_not_in_the_cluster_is_a_failed_guest_and_the_others_run(api, pve):
    cluster = FakeCluster(api, [vm(100)])
    summary, results = apply_fleet(
        pve,
        params(
            guests=[
                dict(vmid=999, config={"memory": 1}),
                dict(vmid=100, config={"memory": 4096}),
                dict(name="nobody", config={"memory": 1}),
            ]
        ),
        plan_memory,
    )  # fmt: skip
    assert cluster.guests[100]["config"]["memory"] == "4096"
    assert [r["vmid"] for r in results] == [999, 100, None], "results in the order of the entries"
    assert results[0] == dict(
        vmid=999, node=None, name=None, changed=False, failed=True,
        msg="no guest with vmid 999 in the cluster; nothing was changed",
    )  # fmt: skip
    assert results[2]["msg"] == (
        "no guest with name 'nobody' in the cluster (also checked in the guest lists of node pve1); nothing was changed"
    )
    assert results[1]["changed"] and not results[1]["failed"]
    assert summary.fails_task and len(summary.failed) == 2


def test_a_digest_conflict_is_retried_for_that_guest_only(api, pve):
    cluster = FakeCluster(api, [vm(100), vm(101)])
    original = cluster.guest_call
    edited = []

    def edit_once(request):  # someone else edits guest 101 between our read and our write
        if request.method == "PUT" and "/101/" in request.url and not edited:
            edited.append(True)
            cluster.guests[101]["config"]["description"] = "edited"
        return original(request)

    api.remove("PUT", GUEST_PATH)
    api.add(PveCallback("PUT", GUEST_PATH, callback=edit_once))
    summary, results = apply_fleet(pve, params(select=ALL, config={"memory": 4096}), plan_memory)
    assert [r["changed"] for r in results] == [True, True] and not summary.failed, results
    assert [m for m, p, b in guest_requests(api, 100)] == ["GET", "PUT", "GET"]
    assert [m for m, p, b in guest_requests(api, 101)] == ["GET", "PUT", "GET", "PUT", "GET"]


def test_check_mode_writes_nothing_and_predicts_each_guest(api, pve):
    FakeCluster(api, [vm(100), vm(101, memory="4096"), vm(200, kind="lxc")])
    summary, results = apply_fleet(pve, params(select=ALL, config={"memory": 4096}), plan_memory, check_mode=True)
    assert writes(api) == []
    assert [(r["vmid"], r["changed"]) for r in results] == [(100, True), (101, False), (200, True)]
    assert results[0]["diff"] == {"before": {"memory": "2048"}, "after": {"memory": "4096"}}
    assert summary.msg().endswith(": 2 would change, 1 already as requested")


def test_a_rerun_is_only_reads(api, pve):
    FakeCluster(api, [vm(100), vm(101, "pve2")])
    apply_fleet(pve, params(select=ALL, config={"memory": 4096}), plan_memory)
    api.calls.reset()
    summary, results = apply_fleet(pve, params(select=ALL, config={"memory": 4096}), plan_memory)
    assert not summary.changed and writes(api) == []
    assert len(requests_made(api)) == 1 + 2  # the resources, then one /pending per guest


def test_a_plan_that_raises_something_unexpected_fails_only_its_guest(api, pve):
    FakeCluster(api, [vm(100), vm(101)])

    def plan(ctx):
        if ctx.guest.vmid == 101:
            raise KeyError("boom")
        return plan_memory(ctx)

    summary, results = apply_fleet(pve, params(select=ALL, config={"memory": 4096}), plan)
    assert results[0]["changed"] and not results[0]["failed"]
    assert results[1]["failed"] and results[1]["msg"] == "unexpected error on QEMU VM 101: KeyError: 'boom'"
    assert summary.fails_task


def test_summary_counts_and_rate():
    results = [
        dict(vmid=100, guest_type="qemu", changed=True, failed=False, msg="ok"),
        dict(vmid=101, guest_type="lxc", changed=False, failed=False, msg="ok"),
        dict(vmid=102, guest_type="qemu", changed=True, failed=True, msg="boom; already applied: set memory"),
        dict(vmid=103, guest_type="qemu", changed=False, failed=True, msg="bad; nothing was changed"),
    ]
    summary = Summary(results, 2.0, max_fail_percentage=50)
    assert summary.progress() == dict(guests=4, changed=2, unchanged=1, failed=2, seconds=2.0, guests_per_second=2.0)
    assert not summary.fails_task
    assert summary.msg() == (
        "4 guests in 2.0s (2.0 guests/s): 2 changed, 1 already as requested, 2 failed (QEMU VM 102: boom; already "
        "applied: set memory; QEMU VM 103: bad; nothing was changed) within max_fail_percentage 50"
    )
    assert Summary([], 0.1).msg() == "no guest matched; nothing to do" and not Summary([], 0.1).fails_task


def test_the_session_keeps_a_connection_per_thread(api, pve):
    pve.keep_connections(25)
    adapter = pve._proxmox._store["session"].get_adapter(url("cluster/resources"))
    assert adapter._pool_maxsize == 25


def test_lock_waits_use_the_clock_given(api, pve):
    FakeCluster(api, [vm(100, config={"memory": "2048", "name": "guest100", "lock": "backup"})])
    clock = FakeClock()
    summary, results = apply_fleet(
        pve, params(select=ALL, config={"memory": 4096}, lock_timeout=1), plan_memory, clock=clock
    )
    assert results[0]["failed"] and "stayed locked for 1s (lock_timeout)" in results[0]["msg"]
    assert sum(clock.sleeps) == pytest.approx(1.0)
    assert writes(api) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(select={}), "select needs at least one of tags, pools, nodes, types, names, vmids"),
        (dict(select={"tags": None}), "select needs at least one of tags, pools, nodes, types, names, vmids"),
        (dict(select=ALL, config=None), "select needs config or absent"),
        (dict(select=ALL, config={}, absent=[]), "select needs config or absent"),
    ],
)
def test_a_select_without_filters_or_change_is_refused_before_any_request(api, pve, kwargs, message):
    FakeCluster(api, [vm(100)])
    with pytest.raises(InvalidRequest) as exc:
        apply_fleet(pve, params(**dict(dict(config={"memory": 1}), **kwargs)), plan_memory)
    assert exc.value.msg.startswith(message), exc.value.msg
    assert requests_made(api) == []


@pytest.mark.parametrize(
    "limits, message",
    [
        (dict(parallel=0), "parallel must be 1 to 100, got 0"),
        (dict(parallel=101), "parallel must be 1 to 100, got 101"),
        (dict(per_node=0), "per_node must be 1 or more, got 0"),
        (dict(max_fail_percentage=-1), "max_fail_percentage must be 0 to 100, got -1"),
        (dict(max_fail_percentage=100.5), "max_fail_percentage must be 0 to 100, got 100.5"),
    ],
)
def test_limits_out_of_range_are_refused(limits, message):
    with pytest.raises(InvalidRequest, match="^" + re.escape(message) + "$"):
        check_limits(dict(dict(parallel=10, per_node=4, max_fail_percentage=0), **limits))
