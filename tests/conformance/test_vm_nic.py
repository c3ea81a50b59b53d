"""vm_nic on the scratch VM: add a NIC, change it, remove it (the VM's own NICs are left alone)."""

from __future__ import annotations

from .choose import free_nic, local_mac
from .cycle import assert_config_writes_are_tasks, assert_step, effective, plays, step


def test_vm_nic_cycle(play, scratch, target):
    vm = scratch.vm
    nic = free_nic(vm.original)
    mac = local_mac()
    base = {"vmid": vm.vmid, "interface": nic}
    run, log = play(
        plays(
            step("add", "vm_nic", {**base, "bridge": target.bridge, "model": "virtio", "macaddr": mac}),
            step("change", "vm_nic", {**base, "link_down": True, "rate": 12.5}),
            step("remove", "vm_nic", {**base, "state": "absent"}),
        )
    )

    added = assert_step(run, log, "add")
    assert added["interface"] == nic and added["macaddr"].upper() == mac
    assert f"bridge={target.bridge}" in effective(added)[nic]

    changed = assert_step(run, log, "change")
    value = effective(changed)[nic]
    assert "link_down=1" in value and "rate=12.5" in value and mac in value.upper()

    removed = assert_step(run, log, "remove")
    assert nic not in removed["config"]
    for name in ("add", "change", "remove"):
        assert_config_writes_are_tasks(run[name], log)
