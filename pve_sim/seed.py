# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""The seeded inventory: two nodes, four storages each, three VMs and two containers; with realism
three more storages (ZFS, Ceph RBD, thick LVM) and two more VMs as a newer PVE writes them.

Configs are written the way PVE stores them (property strings normalised, keys as a
fresh guest created by the GUI would have them), so ``GET .../config`` looks like a
real cluster's answer.
"""

from .state import GiB, Guest, Node, Storage, Volume

MiB = 1024**2
CTIME = 1735689600  # 2025-01-01T00:00:00Z

NODES = ("pve1", "pve2")

QEMU = {
    100: (
        "pve1",
        "running",
        {
            "boot": "order=scsi0",
            "cores": "2",
            "cpu": "x86-64-v2-AES",
            "memory": "2048",
            "meta": "creation-qemu=9.2.0,ctime=%d" % CTIME,
            "name": "web01",
            "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1",
            "numa": "0",
            "ostype": "l26",
            "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
            "scsihw": "virtio-scsi-single",
            "smbios1": "uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000100",
            "sockets": "1",
            "vmgenid": "8a1b2c3d-4e5f-4a6b-8c7d-000000000100",
        },
    ),
    101: (
        "pve1",
        "stopped",
        {
            "boot": "order=scsi0;net0",
            "cores": "4",
            "cpu": "x86-64-v2-AES",
            "memory": "4096",
            "meta": "creation-qemu=9.2.0,ctime=%d" % CTIME,
            "name": "db01",
            "net0": "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1",
            "numa": "0",
            "ostype": "l26",
            "scsi0": "local-lvm:vm-101-disk-0,iothread=1,size=32G",
            "scsi1": "local-lvm:vm-101-disk-1,iothread=1,size=100G",
            "scsihw": "virtio-scsi-single",
            "smbios1": "uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000101",
            "sockets": "1",
            "vmgenid": "8a1b2c3d-4e5f-4a6b-8c7d-000000000101",
        },
    ),
    102: (
        "pve2",
        "running",
        {
            "boot": "order=scsi0",
            "cores": "2",
            "cpu": "x86-64-v2-AES",
            "memory": "2048",
            "meta": "creation-qemu=9.2.0,ctime=%d" % CTIME,
            "name": "app02",
            "net0": "virtio=BC:24:11:00:01:02,bridge=vmbr0,firewall=1",
            "numa": "0",
            "ostype": "l26",
            "scsi0": "local-lvm:vm-102-disk-0,iothread=1,size=32G",
            "scsihw": "virtio-scsi-single",
            "smbios1": "uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000102",
            "sockets": "1",
            "vmgenid": "8a1b2c3d-4e5f-4a6b-8c7d-000000000102",
        },
    ),
}

LXC = {
    200: (
        "pve1",
        "running",
        {
            "arch": "amd64",
            "cores": "1",
            "features": "nesting=1",
            "hostname": "dns01",
            "memory": "512",
            "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
            "ostype": "debian",
            "rootfs": "local-lvm:vm-200-disk-0,size=8G",
            "swap": "512",
            "unprivileged": "1",
        },
    ),
    201: (
        "pve2",
        "stopped",
        {
            "arch": "amd64",
            "cores": "2",
            "features": "nesting=1",
            "hostname": "proxy01",
            "memory": "1024",
            "net0": "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:02:01,ip=10.0.0.21/24,type=veth",
            "ostype": "debian",
            "rootfs": "local-lvm:vm-201-disk-0,size=16G",
            "swap": "512",
            "unprivileged": "1",
        },
    ),
}

# (id, type, content, enabled, shared, total)
STORAGES = (
    ("local", "dir", ["iso", "vztmpl", "backup", "import"], True, False, 100 * GiB),
    ("local-lvm", "lvmthin", ["images", "rootdir"], True, False, 500 * GiB),
    ("nas-backup", "nfs", ["backup"], True, True, 2048 * GiB),
    ("old-nfs", "nfs", ["images"], False, True, 1024 * GiB),
)

# volumes that are not guest disks: (node or None for shared, volid, size, format, content, vmid)
EXTRA_VOLUMES = (
    ("pve1", "local:iso/debian-12.8.0-amd64-netinst.iso", 650 * MiB, "iso", "iso", None),
    ("pve2", "local:iso/debian-12.8.0-amd64-netinst.iso", 650 * MiB, "iso", "iso", None),
    ("pve1", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", 120 * MiB, "tzst", "vztmpl", None),
    ("pve2", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", 120 * MiB, "tzst", "vztmpl", None),
    (None, "nas-backup:backup/vzdump-qemu-100-2025_01_01-02_00_00.vma.zst", 5 * GiB, "vma.zst", "backup", 100),
    (None, "nas-backup:backup/vzdump-lxc-200-2025_01_01-02_10_00.tar.zst", 1 * GiB, "tar.zst", "backup", 200),
)


# With realism: storages whose plugins round sizes (pve_sim/storage_sizes.py) ...
REALISM_STORAGES = (
    ("local-zfs", "zfspool", ["images", "rootdir"], True, False, 400 * GiB),
    ("ceph-rbd", "rbd", ["images", "rootdir"], True, True, 4096 * GiB),
    ("san-lvm", "lvm", ["images", "rootdir"], True, True, 1024 * GiB),
)

# ... and VMs (new vmids: the guests above stay as they are) whose config carries what real PVE 9 writes:
# cpu sub-keys guest-phys-bits (qemu-server CPUConfig.pm, PVE 8.2+) and level (PVE 9.1), a NIC with host-tunnel
# (QemuServer/Network.pm, PVE 9.1+), memory hotplug with NUMA (Memory.pm), and an unused volume that a
# snapshot still references (QemuServer/Drive.pm is_volume_in_use scans $conf->{snapshots}).
REALISM_QEMU = {
    110: (
        "pve1",
        "running",
        {
            "boot": "order=scsi0",
            "cores": "2",
            "cpu": "host,guest-phys-bits=40",
            "hotplug": "disk,network,usb,memory",
            "memory": "4096",
            "meta": "creation-qemu=10.1.2,ctime=%d" % CTIME,
            "name": "edge01",
            "net0": "virtio=BC:24:11:00:01:10,bridge=vmbr0,firewall=1,host-tunnel=1",
            "numa": "1",
            "ostype": "l26",
            "scsi0": "local-zfs:vm-110-disk-0,iothread=1,size=32G",
            "scsihw": "virtio-scsi-single",
            "smbios1": "uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000110",
            "sockets": "1",
            "vmgenid": "8a1b2c3d-4e5f-4a6b-8c7d-000000000110",
        },
    ),
    111: (
        "pve2",
        "stopped",
        {
            "boot": "order=scsi0",
            "cores": "4",
            "cpu": "x86-64-v3,level=13",
            "memory": "8192",
            "meta": "creation-qemu=10.1.2,ctime=%d" % CTIME,
            "name": "ci01",
            "net0": "virtio=BC:24:11:00:01:11,bridge=vmbr0,host-tunnel=0",
            "numa": "0",
            "ostype": "l26",
            "parent": "before-upgrade",
            "scsi0": "ceph-rbd:vm-111-disk-0,iothread=1,size=64G",
            "scsihw": "virtio-scsi-single",
            "smbios1": "uuid=5d0c8f4e-7a8b-4c1d-9e2f-000000000111",
            "sockets": "1",
            "unused0": "ceph-rbd:vm-111-disk-1",
            "vmgenid": "8a1b2c3d-4e5f-4a6b-8c7d-000000000111",
        },
    ),
}
REALISM_SNAPSHOTS = {
    111: {
        "before-upgrade": {
            "boot": "order=scsi0",
            "cores": "4",
            "cpu": "x86-64-v3,level=13",
            "memory": "8192",
            "name": "ci01",
            "net0": "virtio=BC:24:11:00:01:11,bridge=vmbr0,host-tunnel=0",
            "scsi0": "ceph-rbd:vm-111-disk-0,iothread=1,size=64G",
            "scsi1": "ceph-rbd:vm-111-disk-1,iothread=1,size=10G",
            "scsihw": "virtio-scsi-single",
            "snaptime": "%d" % (CTIME + 86400),
            "sockets": "1",
        }
    }
}
# volumes no current drive names a size for (the unused one): (node, volid, size)
REALISM_VOLUMES = (("pve2", "ceph-rbd:vm-111-disk-1", 10 * GiB),)


def _disk_volumes(vmid, config):
    """(volid, size) of the managed disks referenced by a seeded config."""
    out = []
    for key, value in config.items():
        if key.startswith(("scsi", "sata", "ide", "virtio", "rootfs", "mp")) and key != "scsihw":
            parts = value.split(",")
            volid = parts[0]
            size = 0
            for p in parts[1:]:
                if p.startswith("size="):
                    num, unit = p[5:-1], p[-1]
                    size = int(num) * {"G": GiB, "M": MiB, "T": 1024 * GiB}[unit]
            out.append((volid, size))
    return out


def _add_guest_volume(state, node, volid, size, vmid, content):
    sid, name = volid.split(":", 1)
    state.storages[(node, sid)].volumes[volid] = Volume(
        volid=volid, name=name, size=size, format="raw", content=content, vmid=vmid, ctime=CTIME
    )


def seed(state):
    """Fill an empty :class:`State` with the standard inventory."""
    now = state.now()
    state.nodes = {name: Node(name=name) for name in NODES}
    state.storages = {}
    shared_tables = {}
    storages = STORAGES + (REALISM_STORAGES if state.realism else ())
    for sid, stype, content, enabled, shared, total in storages:
        for node in NODES:
            volumes = shared_tables.setdefault(sid, {}) if shared else {}
            state.storages[(node, sid)] = Storage(
                id=sid,
                type=stype,
                content=list(content),
                node=node,
                enabled=enabled,
                shared=shared,
                total=total,
                volumes=volumes,
            )
    for node, volid, size, fmt, content, vmid in EXTRA_VOLUMES:
        sid, name = volid.split(":", 1)
        nodes = NODES if node is None else (node,)
        for n in nodes:
            state.storages[(n, sid)].volumes[volid] = Volume(
                volid=volid, name=name, size=size, format=fmt, content=content, vmid=vmid, ctime=CTIME
            )
    state.guests = {}
    state.pools = {}  # no pool until a test creates one (POST /pools, PUT /pools)
    pid = 0x2000
    tables = [("qemu", QEMU), ("lxc", LXC)] + ([("qemu", REALISM_QEMU)] if state.realism else [])
    for kind, table in tables:
        for vmid, (node, status, config) in table.items():
            guest = Guest(vmid=vmid, kind=kind, node=node, status=status, config=dict(config))
            if status == "running":
                pid += 0x111
                guest.pid = pid
                guest.started_at = now - 3600 * 5 - vmid
            state.guests[vmid] = guest
            for volid, size in _disk_volumes(vmid, config):
                _add_guest_volume(state, node, volid, size, vmid, "images" if kind == "qemu" else "rootdir")
    if state.realism:
        for vmid, snapshots in REALISM_SNAPSHOTS.items():
            state.guests[vmid].snapshots = {name: dict(conf) for name, conf in snapshots.items()}
        for node, volid, size in REALISM_VOLUMES:
            _add_guest_volume(state, node, volid, size, state.volume_owner(volid), "images")
    state.tasks = {}
    state._running = {}
    state._lock_expiry = {}
    state._flock_until = {}
    state.pvestatd_tick()  # pvestatd has been running: the seeded guests are known to /cluster/resources
    return state
