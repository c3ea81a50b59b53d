"""guest_info's `desired` (module_utils/desired_config.py) against a faked HTTP API: computed from the same two
GETs, volumes as storage/size plus their options, MACs kept, read-only, unused, unknown and secret keys left out."""

from harness import pending, requests_made, resources, run_module, url
from responses import matchers

from .test_guest_info import CT_CONFIG, LOOKUP, VM_CONFIG

CLUSTER = resources((100, "qemu", "pve1", "running", "web01"), (200, "lxc", "pve2", "stopped", "cache01"))


def read(api, vmid, kind, node, config, **kwargs):
    api.get(url("cluster/resources"), json=CLUSTER, match=[matchers.query_param_matcher({"type": "vm"})])
    api.get(url(f"nodes/{node}/{kind}/{vmid}/pending"), json=pending(config, "d1", **kwargs))
    result, failed = run_module("guest_info", dict(vmid=vmid))
    assert not failed, result
    assert requests_made(api) == [LOOKUP, ("GET", f"/nodes/{node}/{kind}/{vmid}/pending", {})]
    return result["desired"]


def test_vm_desired_costs_no_extra_request_and_reproduces_disks_and_nics(api):
    desired = read(api, 100, "qemu", "pve1", VM_CONFIG)
    assert desired == {
        "type": "qemu",
        "config": {
            "name": "web01",
            "memory": "2048",
            "cores": 2,
            "scsi0": {"storage": "local-lvm", "size": "32G", "iothread": "1"},
            "virtio1": {"storage": "ceph", "size": "1024M", "cache": "writeback"},
            "ide2": {"file": "none", "media": "cdrom"},
            "efidisk0": {"storage": "local-lvm", "size": "4M", "efitype": "4m", "pre-enrolled-keys": "1"},
            "tpmstate0": {"storage": "local-lvm", "size": "4M", "version": "v2.0"},
            "net0": {"model": "virtio", "macaddr": "BC:24:11:00:01:00", "bridge": "vmbr0", "firewall": "1"},
            "net1": {"model": "e1000", "macaddr": "bc:24:11:00:01:01", "bridge": "vmbr1", "tag": "20"},
            "scsihw": "virtio-scsi-single",
        },
    }


def test_container_desired_has_rootfs_and_mount_points_as_storage_and_size(api):
    desired = read(api, 200, "lxc", "pve2", dict(CT_CONFIG, unprivileged=1, mp1="/srv/host,mp=/mnt/host,ro=1"))
    assert desired == {
        "type": "lxc",
        "config": {
            "hostname": "cache01",
            "memory": 512,
            "swap": 512,
            "rootfs": {"storage": "local-lvm", "size": "8G"},
            "mp0": {"storage": "local-lvm", "size": "16G", "mp": "/srv", "backup": "1"},
            "mp1": {"volume": "/srv/host", "mp": "/mnt/host", "ro": "1"},  # a bind mount keeps its host path
            "net0": {"name": "eth0", "bridge": "vmbr0", "hwaddr": "BC:24:11:00:02:00", "ip": "dhcp", "type": "veth"},
        },
    }


def test_read_only_unused_unknown_and_secret_keys_are_left_out_and_pending_values_applied(api):
    config = dict(
        VM_CONFIG,
        meta="creation-qemu=9.2.0,ctime=1735689600",
        lock="backup",
        parent="before-upgrade",
        vmstate="local-lvm:vm-100-state-x",
        runningmachine="pc-q35-9.2",
        cipassword="**********",
        ciuser="admin",
        sshkeys="ssh-ed25519%20AAAAC3Nza%20me%40host%0A",
        ide0="local-lvm:vm-100-cloudinit,media=cdrom,size=4M",
        ide3="local:iso/debian-12.iso,media=cdrom,size=650M",
        sata0="/dev/disk/by-id/ata-WDC_1234,size=1T",
        hypothetical_future_key="1",
    )
    desired = read(
        api, 100, "qemu", "pve1", config, pending_values={"memory": "4096", "tags": "web;prod"}, deletes=("cores",)
    )["config"]
    for key in ("meta", "lock", "parent", "vmstate", "runningmachine", "cipassword", "unused0"):
        assert key not in desired, key
    assert "hypothetical_future_key" not in desired and "cores" not in desired  # unknown; pending removal
    assert (desired["memory"], desired["tags"], desired["ciuser"]) == ("4096", "web;prod", "admin")
    assert desired["sshkeys"] == "ssh-ed25519%20AAAAC3Nza%20me%40host%0A"  # as stored; guest_config decodes both
    # CD-ROM drives (the cloud-init one, an ISO) and a pass-through disk keep their file and drop the size.
    assert desired["ide0"] == {"file": "local-lvm:vm-100-cloudinit", "media": "cdrom"}
    assert desired["ide3"] == {"file": "local:iso/debian-12.iso", "media": "cdrom"}
    assert desired["sata0"] == {"file": "/dev/disk/by-id/ata-WDC_1234"}
