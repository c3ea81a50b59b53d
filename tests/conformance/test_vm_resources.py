"""vm_resources on the scratch VM: change -> re-run -> check/diff, then back to the original values."""

from __future__ import annotations

from .cycle import assert_step, effective, mib, plays, step


def test_vm_resources_cycle(play, scratch):
    vm = scratch.vm
    memory = mib(vm.original.get("memory"), 512)
    cores = int(vm.original.get("cores", 1))
    # on a running VM memory and cores stay pending unless the VM hot-plugs them; with memory hot-plug the
    # value is DIMM-aligned (qemu-server QemuServer/Memory.pm): +512 MiB is a whole DIMM either way
    change = {"vmid": vm.vmid, "memory": memory + 512, "cores": cores + 1}
    back = {"name": vm.name, "memory": memory, "cores": cores}  # selected by name this time
    run, log = play(plays(step("change", "vm_resources", change), step("restore", "vm_resources", back)))

    changed = assert_step(run, log, "change")
    assert effective(changed)["cores"] == str(cores + 1)
    assert mib(effective(changed)["memory"], 0) == memory + 512

    restored = assert_step(run, log, "restore")
    assert restored["vmid"] == vm.vmid
    after = vm.read().effective
    assert mib(after.get("memory"), 512) == memory and int(after.get("cores", 1)) == cores
