"""guest_info on both scratch guests: by vmid, by name and by node + vmid; read only, at most two GETs."""

from __future__ import annotations

from .cycle import gets, task, writes


def test_guest_info(play, scratch):
    vm, ct = scratch.vm, scratch.ct
    run, log = play(
        [
            {
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [
                    task("vm by vmid", "guest_info", {"vmid": vm.vmid}),
                    task("vm by name", "guest_info", {"name": vm.name}),
                    task("ct by node and vmid", "guest_info", {"vmid": ct.vmid, "node": ct.node}),
                    task("ct by name", "guest_info", {"name": ct.name}),
                ],
            }
        ]
    )
    for name, guest, kind in (
        ("vm by vmid", vm, "qemu"),
        ("vm by name", vm, "qemu"),
        ("ct by node and vmid", ct, "lxc"),
        ("ct by name", ct, "lxc"),
    ):
        info = run[name]
        assert not info.failed and not info.changed, (name, info.res)
        # design.md (guest_info): GET /cluster/resources + GET .../pending; with node and vmid, GET status/current
        # of the QEMU VM, then of the container when there is no such VM, + GET .../pending
        most = 3 if "node" in name and kind == "lxc" else 2
        assert writes(info, log) == [] and len(gets(info, log)) <= most, (name, info.calls(log))
        assert (info["vmid"], info["node"], info["guest_type"], info["name"]) == (
            guest.vmid,
            guest.node,
            kind,
            guest.name,
        )
        reading = guest.read()
        assert info["digest"] == reading.digest, name
        assert {k: str(v) for k, v in info["current"].items()} == reading.current, name
        assert info["pending"] == {} and {k: str(v) for k, v in info["config"].items()} == reading.effective, name
        drives = {
            k for k in reading.current if k.startswith(("scsi", "sata", "ide", "virtio", "rootfs", "mp", "unused"))
        }
        assert set(info["disks"]) == drives - {"scsihw"}, name
        assert set(info["nics"]) == {k for k in reading.current if k.startswith("net")}, name
