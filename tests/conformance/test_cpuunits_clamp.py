"""cpuunits that Proxmox clamps: 20000 is stored as 10000 on a cgroup v2 node (pve-common PVE::CGroup
clamp_cpu_shares, called by qemu-server PVE::API2::Qemu update_vm_api and pve-container's config update);
the change must predict that, and its re-run must be a no-op."""

from __future__ import annotations

import pytest

from .cycle import assert_step, effective, plays, step


@pytest.mark.parametrize(("module", "kind"), [("vm_resources", "vm"), ("container_resources", "ct")])
def test_cpuunits_clamped_cycle(play, scratch, module, kind):
    guest = getattr(scratch, kind)
    run, log = play(plays(step("change", module, {"vmid": guest.vmid, "cpuunits": 20000})))

    changed = assert_step(run, log, "change")
    stored = int(effective(changed)["cpuunits"])
    assert stored in (10000, 20000), f"cpuunits 20000 stored as {stored}"  # cgroup v2 / v1 node
    assert int(guest.read().effective["cpuunits"]) == stored
