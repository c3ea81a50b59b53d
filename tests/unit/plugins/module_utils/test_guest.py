"""guest: finding a guest (one /cluster/resources call, or none) and reading its state from /pending."""

import pytest
from harness import pending, pve_error, requests_made, resources, url

from ansible_collections.pve.config.plugins.module_utils.errors import GuestNotFound, InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, check_node, check_vmid, locate, read_state

CLUSTER = {
    "data": resources(
        (100, "qemu", "pve1", "running", "web01"),
        (101, "qemu", "pve2", "stopped", "db01"),
        (200, "lxc", "pve1", "running", "cache01"),
        (201, "lxc", "pve2", "running", "web01"),  # same name as VM 100
    )["data"]
    + [
        {"id": "storage/pve1/local", "type": "storage", "storage": "local", "node": "pve1", "status": "available"},
        {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online"},
    ]
}
LOOKUP = ("GET", "/cluster/resources", {"type": "vm"})


def cluster(api, answer=None):
    api.get(url("cluster/resources"), json=answer or CLUSTER)
    node_lists(api, (answer or CLUSTER)["data"])


def node_lists(api, rows, offline=()):
    """GET /nodes and the per-node guest lists (names read from the configs) for the guests in ``rows``."""
    nodes = sorted({r["node"] for r in rows if r.get("type") in ("qemu", "lxc")} | set(offline))
    api.get(
        url("nodes"),
        json={"data": [{"node": n, "status": "offline" if n in offline else "online", "type": "node"} for n in nodes]},
    )
    for node in nodes:
        for kind in ("qemu", "lxc"):
            items = [
                {"vmid": r["vmid"], "name": r["name"], "status": r["status"]}
                for r in rows
                if r.get("type") == kind and r["node"] == node and "name" in r
            ]
            api.get(url(f"nodes/{node}/{kind}"), json={"data": items})


@pytest.mark.parametrize(
    "kind, args, found",
    [
        ("qemu", dict(vmid=100), (100, "pve1", "qemu", "web01", "running")),
        ("qemu", dict(vmid=101), (101, "pve2", "qemu", "db01", "stopped")),
        ("lxc", dict(vmid=200), (200, "pve1", "lxc", "cache01", "running")),
        (None, dict(vmid=200), (200, "pve1", "lxc", "cache01", "running")),
        ("qemu", dict(name="db01"), (101, "pve2", "qemu", "db01", "stopped")),
        ("lxc", dict(name="cache01"), (200, "pve1", "lxc", "cache01", "running")),
        # a name shared by two guests is unique once the node narrows it down
        ("qemu", dict(name="web01", node="pve1"), (100, "pve1", "qemu", "web01", "running")),
        ("lxc", dict(name="web01", node="pve2"), (201, "pve2", "lxc", "web01", "running")),
        # vmid wins over name
        ("qemu", dict(vmid=101, name="web01"), (101, "pve2", "qemu", "db01", "stopped")),
    ],
)
def test_locate(api, pve, kind, args, found):
    cluster(api)
    guest = locate(pve, kind, **args)
    assert (guest.vmid, guest.node, guest.kind, guest.name, guest.status) == found
    assert requests_made(api) == [LOOKUP]


@pytest.mark.parametrize(
    "kind, args, error, words",
    [
        ("qemu", dict(vmid=999), GuestNotFound, "no guest with vmid 999 in the cluster"),
        (
            "qemu",
            dict(name="nope"),
            GuestNotFound,
            "no guest with name 'nope' in the cluster (also checked in the guest lists of nodes pve1, pve2)",
        ),
        (
            "qemu",
            dict(name="db01", node="pve1"),
            GuestNotFound,
            "no guest with name 'db01' on node pve1 in the cluster",
        ),
        (
            "qemu",
            dict(name="web01"),
            InvalidRequest,
            "2 guests have name 'web01' (vmids 100, 201); give vmid instead",
        ),
        (
            "qemu",
            dict(vmid=200),
            InvalidRequest,
            "guest 200 is a LXC container, not a QEMU VM: use the pve.config.container_* modules for it",
        ),
        (
            "lxc",
            dict(vmid=100),
            InvalidRequest,
            "guest 100 is a QEMU VM, not a LXC container: use the pve.config.vm_* modules for it",
        ),
        ("lxc", dict(name="db01"), InvalidRequest, "guest 101 is a QEMU VM, not a LXC container"),
        # storage and node items never count as guests
        ("qemu", dict(name="local"), GuestNotFound, "no guest with name 'local'"),
    ],
)
def test_locate_errors(api, pve, kind, args, error, words):
    cluster(api)
    with pytest.raises(error) as exc:
        locate(pve, kind, **args)
    assert words in exc.value.msg
    assert exc.value.__class__ is error


def test_locate_with_node_and_vmid_skips_the_lookup(api, pve):
    guest = locate(pve, "qemu", vmid=100, node="pve3")
    assert (guest.vmid, guest.node, guest.kind, guest.path) == (100, "pve3", "qemu", "nodes/pve3/qemu/100")
    assert requests_made(api) == []


def test_locate_with_node_but_unknown_kind_still_looks_up(api, pve):
    cluster(api)
    assert locate(pve, None, vmid=201, node="pve2").kind == "lxc"
    assert requests_made(api) == [LOOKUP]


@pytest.mark.parametrize(
    "args, node_info",
    [
        (dict(vmid=100), {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online"}),
        (dict(vmid=101), {}),  # no row of pve2 in the answer
        (dict(name="web01", node="pve1"), {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online"}),
    ],
)
def test_locate_with_node_facts_reads_every_row_in_one_call(api, pve, args, node_info):
    cluster(api)
    guest = locate(pve, "qemu", node_facts=True, **args)
    assert guest.node_info == node_info
    assert guest.status == ("running" if guest.vmid == 100 else "stopped")  # the guest's row as without facts
    assert requests_made(api) == [("GET", "/cluster/resources", {})]


def test_locate_without_node_facts_keeps_the_type_filter(api, pve):
    cluster(api)
    assert locate(pve, "qemu", vmid=100).node_info is None
    assert requests_made(api) == [LOOKUP]


def test_locate_with_node_facts_node_and_vmid_still_sends_nothing(api, pve):
    guest = locate(pve, "qemu", vmid=100, node="pve1", node_facts=True)
    assert guest.node_info is None and guest.status is None  # the module reads what it needs itself
    assert requests_made(api) == []


def test_locate_of_an_empty_cluster(api, pve):
    cluster(api, {"data": []})
    with pytest.raises(GuestNotFound):
        locate(pve, "qemu", vmid=100)


def test_guest_label_and_path():
    assert Guest("100", "pve1", "qemu").label == "QEMU VM 100"
    assert Guest(200, "pve2", "lxc").label == "LXC container 200"
    assert Guest(200, "pve2", "lxc").path == "nodes/pve2/lxc/200"


VM = Guest(100, "pve1", "qemu")
PENDING = "/nodes/pve1/qemu/100/pending"


def test_read_state_splits_current_pending_and_digest(api, pve):
    api.get(
        url(VM.path + "/pending"),
        json={
            "data": [
                {"key": "cores", "value": 2},
                {"key": "memory", "value": "2048", "pending": "4096"},
                {"key": "net1", "value": "virtio=BC:24:11:00:00:02,bridge=vmbr0", "delete": 1},
                {"key": "scsi1", "pending": "local-lvm:vm-100-disk-1,size=4G"},
                {"key": "balloon", "value": 0, "delete": 0},
                {"key": "lock", "value": "backup"},
                {"key": "digest", "value": "0123abcd"},
            ]
        },
    )
    state = read_state(pve, VM)
    assert state.digest == "0123abcd"
    assert state.config == {
        "cores": 2,
        "memory": "4096",
        "scsi1": "local-lvm:vm-100-disk-1,size=4G",
        "balloon": 0,
        "lock": "backup",
    }
    assert state.current == {
        "cores": 2,
        "memory": "2048",
        "net1": "virtio=BC:24:11:00:00:02,bridge=vmbr0",
        "balloon": 0,
        "lock": "backup",
    }
    assert state.pending == {"memory": "4096", "net1": None, "scsi1": "local-lvm:vm-100-disk-1,size=4G"}
    assert state.lock == "backup"
    assert requests_made(api) == [("GET", PENDING, {})]


def test_read_state_without_pending_changes(api, pve):
    api.get(url(VM.path + "/pending"), json=pending({"cores": 2, "name": "web01"}, "d9"))
    state = read_state(pve, VM)
    assert state.config == state.current == {"cores": 2, "name": "web01"}
    assert state.pending == {} and state.lock is None and state.digest == "d9"


def test_digest_falls_back_to_get_config(api, pve):
    api.get(url(VM.path + "/pending"), json={"data": [{"key": "cores", "value": 2}]})
    api.get(url(VM.path + "/config"), json={"data": {"cores": 2, "digest": "fromconfig"}})
    state = read_state(pve, VM)
    assert state.digest == "fromconfig"
    assert [c[1] for c in requests_made(api)] == [PENDING, "/nodes/pve1/qemu/100/config"]


def test_read_state_of_a_guest_that_is_not_there(api, pve):
    pve_error(api, "GET", VM.path + "/pending", "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist")
    with pytest.raises(GuestNotFound) as exc:
        read_state(pve, VM)
    assert exc.value.msg.startswith("no QEMU VM 100 on node pve1 (Configuration file")


# --- node and vmid are checked before any request (issue 9.12) ------------------------------------------------

BAD_NODES = ["pve1/qemu/100/../../../../access", "../access", "pve1/", "-pve1", "pve1-", "pve_1", "pve 1", "pve１", ""]


@pytest.mark.parametrize("node", ["pve1", "p", "PVE-node-02", "9"])
def test_node_names_of_the_pve_node_format_are_accepted(node):
    assert check_node(node) == node
    assert Guest(100, node, "qemu").path == f"nodes/{node}/qemu/100"


@pytest.mark.parametrize("node", BAD_NODES + ["pve1\n", None, 5])
def test_other_node_names_are_refused(node):
    with pytest.raises(InvalidRequest) as exc:
        check_node(node)
    assert exc.value.msg.startswith(f"node {node!r} is not a Proxmox node name (")


@pytest.mark.parametrize("node", BAD_NODES)
def test_locate_refuses_a_bad_node_before_any_request(api, pve, node):
    with pytest.raises(InvalidRequest):
        locate(pve, "qemu", vmid=100, node=node)
    with pytest.raises(InvalidRequest):
        locate(pve, None, name="web01", node=node)
    assert requests_made(api) == []


def test_a_guest_is_never_built_from_an_unchecked_node_or_vmid():
    with pytest.raises(InvalidRequest):
        Guest(100, "pve1/../../access", "qemu")
    with pytest.raises(InvalidRequest) as exc:
        Guest(99, "pve1", "qemu")
    assert exc.value.msg == "vmid 99 is not a Proxmox VM ID (100 to 999999999)"


@pytest.mark.parametrize("vmid", [0, -1, 99, 1000000000, True])
def test_check_vmid_refuses_what_pve_vmid_refuses(vmid):
    with pytest.raises(InvalidRequest):
        check_vmid(vmid)


# --- a name that pvestatd has not caught up with (issue 13.7) -----------------------------------------------------

NODE_LISTS = [("GET", "/nodes", {})] + [
    ("GET", f"/nodes/{node}/{kind}", {}) for node in ("pve1", "pve2") for kind in ("qemu", "lxc")
]


def test_a_new_guest_without_a_name_in_the_resources_is_found_in_its_node_list(api, pve):
    rows = CLUSTER["data"] + [{"id": "qemu/150", "type": "qemu", "vmid": 150, "node": "pve2", "status": "unknown"}]
    api.get(url("cluster/resources"), json={"data": rows})  # pvestatd has not seen VM 150 yet: no name
    node_lists(api, CLUSTER["data"] + [dict(rows[-1], name="fresh01", status="stopped")])
    guest = locate(pve, "qemu", name="fresh01")
    assert (guest.vmid, guest.node, guest.kind) == (150, "pve2", "qemu")
    assert requests_made(api) == [LOOKUP] + NODE_LISTS


def test_a_renamed_guest_is_found_by_its_new_name(api, pve):
    api.get(url("cluster/resources"), json=CLUSTER)  # still the old name db01 for VM 101
    renamed = [dict(r, name="db02") if r["vmid"] == 101 else r for r in CLUSTER["data"] if "vmid" in r]
    node_lists(api, renamed)
    assert locate(pve, "qemu", name="db02").vmid == 101


def test_a_stale_duplicate_in_the_resources_is_resolved_by_the_node_lists(api, pve):
    api.get(url("cluster/resources"), json=CLUSTER)  # VM 100 and CT 201 both "web01" there
    renamed = [dict(r, name="www") if r["vmid"] == 201 else r for r in CLUSTER["data"] if "vmid" in r]
    node_lists(api, renamed)
    assert locate(pve, None, name="web01").vmid == 100


def test_two_guests_with_one_name_in_the_node_lists_is_an_error_naming_both(api, pve):
    cluster(api)
    with pytest.raises(InvalidRequest) as exc:
        locate(pve, None, name="web01")
    assert exc.value.msg == "2 guests have name 'web01' (vmids 100, 201); give vmid instead"
    assert requests_made(api) == [LOOKUP] + NODE_LISTS


def test_offline_nodes_are_not_asked_and_a_given_node_is_the_only_one_asked(api, pve):
    api.get(url("cluster/resources"), json=CLUSTER)
    node_lists(api, CLUSTER["data"], offline=("pve3",))
    with pytest.raises(GuestNotFound):
        locate(pve, "qemu", name="ghost")
    assert "/nodes/pve3/qemu" not in [path for _m, path, _p in requests_made(api)]
    api.calls.reset()
    with pytest.raises(GuestNotFound) as exc:
        locate(pve, "qemu", name="ghost", node="pve2")
    assert exc.value.msg == (
        "no guest with name 'ghost' on node pve2 in the cluster (also checked in the guest lists of node pve2)"
    )
    assert requests_made(api) == [LOOKUP, ("GET", "/nodes/pve2/qemu", {}), ("GET", "/nodes/pve2/lxc", {})]


def test_a_lookup_by_vmid_never_reads_the_node_lists(api, pve):
    cluster(api)
    assert locate(pve, "qemu", vmid=100).node == "pve1"
    assert requests_made(api) == [LOOKUP]
