"""POST .../qemu/{vmid}/config (a qmconfig task) carries every kind of change: NICs, drives, delete=unusedN."""

import pytest

from pve_sim.testing import proxmox_client


@pytest.mark.parametrize("vmid", [100, 101])  # running (hot-plug) and stopped (applied at once)
def test_every_change_through_post(realism, wait, vmid):
    api = proxmox_client(realism)
    vm = api.nodes("pve1").qemu(vmid)

    def post(**params):
        upid = vm.config.post(**params)
        assert f":qmconfig:{vmid}:" in upid
        assert wait(api, "pve1", upid)["exitstatus"] == "OK"
        return vm.config.get()

    conf = post(net1="virtio,bridge=vmbr0,tag=20")
    mac = conf["net1"].split(",")[0].split("=")[1]
    assert conf["net1"] == f"virtio={mac},bridge=vmbr0,tag=20"
    assert post(net1=f"virtio={mac},bridge=vmbr0,tag=30")["net1"].endswith("tag=30")
    assert "net1" not in post(delete="net1")
    conf = post(scsi5="local-lvm:1,iothread=1")
    volid = conf["scsi5"].split(",")[0]
    conf = post(delete="scsi5")
    unused = next(k for k, v in conf.items() if k.startswith("unused") and v == volid)
    conf = post(delete=unused)
    assert unused not in conf
    assert volid not in [v["volid"] for v in api.nodes("pve1").storage("local-lvm").content.get(vmid=vmid)]
    assert [p for p in vm.pending.get() if "pending" in p or "delete" in p] == []
