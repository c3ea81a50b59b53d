"""Memory between two DIMM boundaries. On a running VM that hot-plugs memory, qemu-server adds or removes whole
DIMMs (QemuServer/Memory.pm qemu_memory_hotplug, foreach_dimm): growing stops at the first boundary at or above
the amount asked, shrinking at the first at or below it, so such an amount would swing between its two
neighbours on every run; the module leaves the memory as it is and warns. Without memory hot-plug, or on a
stopped VM, the amount is stored as asked. Either way: the check run predicts it, nothing swings on a re-run."""

from __future__ import annotations

from .cycle import assert_noop, assert_predicted, assert_step, effective, mib, plays, step


def test_vm_memory_between_dimm_boundaries(play, scratch):
    vm = scratch.vm
    before = mib(vm.original.get("memory"), 512)
    asked = before + 500  # not a multiple of any DIMM size
    run, log = play(plays(step("change", "vm_resources", {"vmid": vm.vmid, "memory": asked})))
    change = run["change"]
    if change.changed:
        assert_step(run, log, "change")
        assert mib(effective(change)["memory"], 0) == asked
    else:
        warnings = " ".join(change.get("warnings", []))
        assert f"memory {asked} MiB" in warnings and "DIMM" in warnings, change.res
        assert_noop(change, log)
        assert_predicted(run["check change"], change, log)
        assert_noop(run["rerun change"], log)
    assert mib(vm.read().effective.get("memory"), 0) in (asked, before)
