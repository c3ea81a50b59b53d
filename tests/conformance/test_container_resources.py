"""container_resources on the scratch container: change -> re-run -> check/diff, then back."""

from __future__ import annotations

from .cycle import assert_step, effective, plays, step


def test_container_resources_cycle(play, scratch):
    ct = scratch.ct
    memory = int(ct.original.get("memory", 512))
    swap = int(ct.original.get("swap", 512))
    cores = int(ct.original.get("cores", 1))
    # a running container takes memory, swap and cores at once (pve-container PVE::LXC::Config
    # vmconfig_hotplug_pending)
    change = {"vmid": ct.vmid, "memory": memory + 256, "swap": swap + 256, "cores": cores + 1}
    back = {"name": ct.name, "memory": memory, "swap": swap, "cores": cores}
    run, log = play(plays(step("change", "container_resources", change), step("restore", "container_resources", back)))

    changed = assert_step(run, log, "change")
    config = effective(changed)
    assert (config["memory"], config["swap"], config["cores"]) == (str(memory + 256), str(swap + 256), str(cores + 1))

    assert_step(run, log, "restore")
    after = ct.read().effective
    assert (int(after.get("memory", 512)), int(after.get("swap", 512))) == (memory, swap)
    assert int(after.get("cores", 1)) == cores
