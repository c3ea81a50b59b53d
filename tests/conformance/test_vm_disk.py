"""vm_disk on the scratch VM: add, grow, change options and purge one disk; add and detach another; grow a disk
whose option change is pending.

Sizes that are not whole multiples of 4 MiB make a storage with LVM extents round them (pve-storage LVMPlugin
alloc_lvm_image), so re-runs after rounding are part of the cycle. A cache change goes pending on a running VM
(a drive's cache cannot be hot-plugged), and a grow after it must resize the current drive (qemu-server
PVE::API2::Qemu resize_vm rewrites only the current value).
"""

from __future__ import annotations

import pytest

from .choose import free_slots
from .cycle import assert_config_writes_are_tasks, assert_step, drive, plays, same_disk_diff, size_bytes, step, task
from .target import MODE, SIMULATOR

STORAGES = ["test storage", "rounding storage"] if MODE == SIMULATOR else ["test storage"]


@pytest.mark.parametrize("which", STORAGES)
def test_vm_disk_cycle(play, scratch, target, which):
    storage = target.storage if which == "test storage" else target.extra_storages[0]
    vm = scratch.vm
    first, second = free_slots(vm.original, "scsi", 30)[:2]
    base = {"vmid": vm.vmid, "disk": first}
    run, log = play(
        plays(
            step("add", "vm_disk", {**base, "storage": storage, "size": "1030M", "discard": True, "backup": False}),
            step("grow", "vm_disk", {**base, "size": "2050M"}),
            step("options", "vm_disk", {**base, "cache": "writeback"}),
            step("purge", "vm_disk", {**base, "state": "absent", "purge": True}),
            [task("add second", "vm_disk", {"vmid": vm.vmid, "disk": second, "storage": storage, "size": "1030M"})],
            step("detach", "vm_disk", {"vmid": vm.vmid, "disk": second, "state": "absent"}),
        )
    )

    added = assert_step(run, log, "add", same_disk_diff)
    volume = added["volume"]
    assert volume.startswith(storage + ":") and added["disk"] == first
    assert size_bytes(added["size"]) >= size_bytes("1030M")
    assert any(path.endswith("/config") for _method, path in run["add"].writes(log))

    grown = assert_step(run, log, "grow", same_disk_diff)
    assert size_bytes(grown["size"]) >= size_bytes("2050M")
    assert ("PUT", f"/nodes/{vm.node}/qemu/{vm.vmid}/resize") in run["grow"].writes(log)

    options = assert_step(run, log, "options", same_disk_diff)
    assert drive(options["config"][first])[2].get("cache") == "writeback"

    purged = assert_step(run, log, "purge", same_disk_diff)
    assert purged["destroyed_volume"] == volume and first not in purged["config"]

    detached = assert_step(run, log, "detach", same_disk_diff)
    kept = run["add second"]["volume"]
    assert detached["volume"] == kept and "destroyed_volume" not in detached.res
    assert second not in detached["config"]

    # the purged volume is gone and the detached one is kept (the restore destroys it after the test); the
    # second disk may reuse the purged one's name, so compare the sets of new volumes
    new = vm.owned_volumes() - vm.volumes
    assert new == {kept}, f"new volumes on {storage}: {sorted(new)}, expected only the detached {kept}"
    for name in ("add", "options", "purge", "add second", "detach"):
        assert_config_writes_are_tasks(run[name], log)
    allocated = {item["volid"]: item["size"] for item in vm.endpoint_storage(storage).content.get(vmid=vm.vmid)}
    assert allocated[kept] >= size_bytes("1030M")
    if which == "rounding storage":  # the simulator's thick LVM: 4 MiB extents, so the cycle met a rounded size
        assert allocated[kept] == size_bytes("1032M"), allocated[kept]


def test_vm_disk_grow_under_a_pending_option(play, scratch, target):
    vm = scratch.vm
    base = {"vmid": vm.vmid, "disk": free_slots(vm.original, "scsi", 30)[0]}
    run, log = play(
        plays(
            [
                task("add", "vm_disk", {**base, "storage": target.storage, "size": "1G"}),
                task("options", "vm_disk", {**base, "cache": "writeback"}),
            ],
            step("grow", "vm_disk", {**base, "size": "2G"}),
        )
    )
    grown = assert_step(run, log, "grow", same_disk_diff)
    assert size_bytes(grown["size"]) == size_bytes("2G")
    assert ("PUT", f"/nodes/{vm.node}/qemu/{vm.vmid}/resize") in run["grow"].writes(log)
    assert drive(grown["config"][base["disk"]])[2].get("cache") == "writeback"  # the option is still there
