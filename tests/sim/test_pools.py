"""Resource pools (pve-manager PVE/API2/Pool.pm): created, guests added, moved and removed, shown as the `pool`
of a guest's /cluster/resources row (PVE/API2/Cluster.pm resources), deleted only when empty."""

import pytest
from proxmoxer.core import ResourceException


def rows(api, **params):
    return {row["id"]: row for row in api.cluster.resources.get(**params)}


def test_a_guest_added_to_a_pool_carries_it_in_cluster_resources(sim_api):
    assert sim_api.pools.get() == [] and "pool" not in rows(sim_api, type="vm")["qemu/100"]
    sim_api.pools.post(poolid="lab", comment="the lab")
    sim_api.pools.put(poolid="lab", vms="100,200")
    assert sim_api.pools.get() == [{"poolid": "lab", "comment": "the lab"}]
    vms = rows(sim_api, type="vm")
    assert vms["qemu/100"]["pool"] == "lab" and vms["lxc/200"]["pool"] == "lab" and "pool" not in vms["qemu/101"]
    everything = rows(sim_api)  # the pools' own rows come only without `type` (its enum has no 'pool')
    assert everything["/pool/lab"] == {"id": "/pool/lab", "pool": "lab", "type": "pool"}
    assert everything["qemu/100"]["pool"] == "lab" and "/pool/lab" not in rows(sim_api, type="vm")
    members = sim_api.pools("lab").get()["members"]
    assert [(m["id"], m["node"]) for m in members] == [("qemu/100", "pve1"), ("lxc/200", "pve1")]
    assert [m["id"] for m in sim_api.pools.get(poolid="lab", type="lxc")[0]["members"]] == ["lxc/200"]


def test_a_guest_is_in_one_pool_a_move_needs_allow_move(sim_api):
    sim_api.pools.post(poolid="lab")
    sim_api.pools.post(poolid="prod")
    sim_api.pools.put(poolid="lab", vms="100")
    with pytest.raises(ResourceException) as exc:
        sim_api.pools.put(poolid="prod", vms="101;100")
    assert exc.value.status_code == 500
    assert "update pools failed: VM 100 belongs already to pool 'lab' and 'allow-move' is not set" in str(exc.value)
    assert "pool" not in rows(sim_api, type="vm")["qemu/101"]  # nothing of the refused update was kept
    sim_api.pools.put(poolid="prod", vms="100", **{"allow-move": 1})
    assert rows(sim_api, type="vm")["qemu/100"]["pool"] == "prod"
    assert sim_api.pools("lab").get()["members"] == []


def test_removing_members_and_deleting_pools(sim_api):
    sim_api.pools.post(poolid="lab")
    sim_api.pools.put(poolid="lab", vms="100")
    with pytest.raises(ResourceException) as exc:
        sim_api.pools.delete(poolid="lab")
    assert "delete pool failed: pool 'lab' is not empty (contains VM 100)" in str(exc.value)
    with pytest.raises(ResourceException) as exc:
        sim_api.pools.put(poolid="lab", vms="101", delete=1)
    assert "VM 101 is not a pool member" in str(exc.value)
    sim_api.pools.put(poolid="lab", vms="100", delete=1)
    assert "pool" not in rows(sim_api, type="vm")["qemu/100"]
    sim_api.pools.delete(poolid="lab")
    assert sim_api.pools.get() == []


@pytest.mark.parametrize(
    ("poolid", "message"),
    [
        ("lab", "create pool failed: pool 'lab' already exists"),
        ("9lab", "create pool failed: pool name must start with a letter"),
        ("nope/sub", "create pool failed: parent 'nope' of pool 'nope/sub' does not exist"),
        ("bad name", "pool name 'bad name' contains invalid characters"),
        ("a/b/c/d", "nested too deeply"),
    ],
)
def test_pool_names_are_checked_as_proxmox_does(sim_api, poolid, message):
    sim_api.pools.post(poolid="lab")
    with pytest.raises(ResourceException) as exc:
        sim_api.pools.post(poolid=poolid)
    assert message in str(exc.value)
    assert [p["poolid"] for p in sim_api.pools.get()] == ["lab"]


def test_unknown_pool_and_reset(sim):
    from pve_sim.testing import proxmox_client

    api = proxmox_client(sim)
    with pytest.raises(ResourceException) as exc:
        api.pools("nope").get()
    assert "pool 'nope' does not exist" in str(exc.value)
    api.pools.post(poolid="lab")
    sim.simulator.reset()
    assert api.pools.get() == []
