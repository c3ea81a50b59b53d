"""container_nic on the scratch container: add an interface, change it, remove it."""

from __future__ import annotations

from .choose import free_nic, local_mac
from .cycle import assert_step, effective, plays, step


def test_container_nic_cycle(play, scratch, target):
    ct = scratch.ct
    nic = free_nic(ct.original)
    mac = local_mac()
    base = {"vmid": ct.vmid, "interface": nic}
    # a documentation address (RFC 5737) on a link of its own: nothing is routed through it
    add = {**base, "bridge": target.bridge, "hwaddr": mac, "ip": "192.0.2.10/24"}
    run, log = play(
        plays(
            step("add", "container_nic", add),
            step("change", "container_nic", {**base, "rate": 10, "link_down": True}),
            step("remove", "container_nic", {**base, "state": "absent"}),
        )
    )

    added = assert_step(run, log, "add")
    assert added["interface"] == nic and added["name"] == f"eth{nic[3:]}" and added["hwaddr"].upper() == mac
    assert "ip=192.0.2.10/24" in effective(added)[nic]

    changed = assert_step(run, log, "change")
    value = effective(changed)[nic]
    assert "rate=10" in value and "link_down=1" in value and "ip=192.0.2.10/24" in value

    removed = assert_step(run, log, "remove")
    assert nic not in removed["config"]
