"""guest_info against a faked HTTP API: the exact (read-only) requests and the parsed disk/NIC view."""

from harness import pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

VM_CONFIG = {
    "name": "web01",
    "memory": "2048",
    "cores": 2,
    "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
    "virtio1": "volume=ceph:vm-100-disk-3,cache=writeback,size=1024M",
    "ide2": "none,media=cdrom",
    "efidisk0": "local-lvm:vm-100-disk-1,efitype=4m,pre-enrolled-keys=1,size=4M",
    "tpmstate0": "local-lvm:vm-100-disk-2,size=4M,version=v2.0",
    "unused0": "local-lvm:vm-100-disk-9",
    "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1",
    "net1": "model=e1000,macaddr=bc:24:11:00:01:01,bridge=vmbr1,tag=20",
    "scsihw": "virtio-scsi-single",
}
CT_CONFIG = {
    "hostname": "cache01",
    "memory": 512,
    "swap": 512,
    "rootfs": "local-lvm:vm-200-disk-0,size=8G",
    "mp0": "local-lvm:vm-200-disk-1,mp=/srv,backup=1,size=16G",
    "unused0": "local-lvm:vm-200-disk-2",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
}
CLUSTER = resources((100, "qemu", "pve1", "running", "web01"), (200, "lxc", "pve2", "stopped", "cache01"))
LOOKUP = ("GET", "/cluster/resources", {"type": "vm"})
GIB = 1024**3


def lookup(api, answer=None):
    api.get(url("cluster/resources"), json=answer or CLUSTER, match=[matchers.query_param_matcher({"type": "vm"})])


def test_vm_by_vmid_costs_two_gets_and_parses_disks_and_nics(api):
    lookup(api)
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(VM_CONFIG, "abc123"))
    result, failed = run_module("guest_info", dict(vmid=100))
    assert not failed, result
    assert requests_made(api) == [LOOKUP, ("GET", "/nodes/pve1/qemu/100/pending", {})]
    assert result["changed"] is False
    assert (result["vmid"], result["node"], result["guest_type"], result["status"]) == (100, "pve1", "qemu", "running")
    assert result["name"] == "web01"
    assert result["digest"] == "abc123"
    assert result["config"] == VM_CONFIG and result["current"] == VM_CONFIG
    assert result["pending"] == {}
    assert "lock" not in result
    disks = result["disks"]
    assert list(disks) == ["efidisk0", "ide2", "scsi0", "tpmstate0", "unused0", "virtio1"]
    assert disks["scsi0"] == {"file": "local-lvm:vm-100-disk-0", "iothread": "1", "size": "32G", "size_bytes": 32 * GIB}
    assert disks["virtio1"] == {"file": "ceph:vm-100-disk-3", "cache": "writeback", "size": "1024M", "size_bytes": GIB}
    assert disks["ide2"] == {"file": "none", "media": "cdrom"}
    assert disks["efidisk0"]["efitype"] == "4m" and disks["efidisk0"]["size_bytes"] == 4 * 1024**2
    assert disks["tpmstate0"] == {
        "file": "local-lvm:vm-100-disk-2",
        "size": "4M",
        "version": "v2.0",
        "size_bytes": 4 * 1024**2,
    }
    assert disks["unused0"] == {"file": "local-lvm:vm-100-disk-9"}
    assert result["nics"] == {
        "net0": {"model": "virtio", "macaddr": "BC:24:11:00:01:00", "bridge": "vmbr0", "firewall": "1"},
        "net1": {"model": "e1000", "macaddr": "bc:24:11:00:01:01", "bridge": "vmbr1", "tag": "20"},
    }


def test_container_by_name_has_rootfs_mount_points_and_hwaddr(api):
    lookup(api)
    api.get(url("nodes/pve2/lxc/200/pending"), json=pending(CT_CONFIG, "ct1"))
    result, failed = run_module("guest_info", dict(name="cache01"))
    assert not failed, result
    assert len(requests_made(api)) == 2
    assert (result["vmid"], result["node"], result["guest_type"], result["status"]) == (200, "pve2", "lxc", "stopped")
    assert result["name"] == "cache01"
    assert result["disks"] == {
        "mp0": {
            "volume": "local-lvm:vm-200-disk-1",
            "mp": "/srv",
            "backup": "1",
            "size": "16G",
            "size_bytes": 16 * GIB,
        },
        "rootfs": {"volume": "local-lvm:vm-200-disk-0", "size": "8G", "size_bytes": 8 * GIB},
        "unused0": {"volume": "local-lvm:vm-200-disk-2"},
    }
    assert result["nics"] == {
        "net0": {"name": "eth0", "bridge": "vmbr0", "hwaddr": "BC:24:11:00:02:00", "ip": "dhcp", "type": "veth"}
    }


def test_node_and_vmid_of_a_vm_use_status_current_instead_of_the_lookup(api):
    api.get(
        url("nodes/pve1/qemu/100/status/current"),
        json={"data": {"status": "running", "vmid": 100, "name": "web01", "ha": {}}},
    )
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(VM_CONFIG))
    result, failed = run_module("guest_info", dict(vmid=100, node="pve1"))
    assert not failed, result
    assert requests_made(api) == [
        ("GET", "/nodes/pve1/qemu/100/status/current", {}),
        ("GET", "/nodes/pve1/qemu/100/pending", {}),
    ]
    assert result["guest_type"] == "qemu" and result["status"] == "running"


def test_node_and_vmid_of_a_container_try_qemu_first(api):
    pve_error(
        api,
        "GET",
        "nodes/pve2/qemu/200/status/current",
        "Configuration file 'nodes/pve2/qemu-server/200.conf' does not exist",
    )
    api.get(url("nodes/pve2/lxc/200/status/current"), json={"data": {"status": "stopped", "vmid": 200, "ha": {}}})
    api.get(url("nodes/pve2/lxc/200/pending"), json=pending(CT_CONFIG))
    result, failed = run_module("guest_info", dict(vmid=200, node="pve2"))
    assert not failed, result
    assert [c[1] for c in requests_made(api)] == [
        "/nodes/pve2/qemu/200/status/current",
        "/nodes/pve2/lxc/200/status/current",
        "/nodes/pve2/lxc/200/pending",
    ]
    assert result["guest_type"] == "lxc" and result["status"] == "stopped" and result["name"] == "cache01"


def test_node_and_vmid_of_nothing(api):
    for kind in ("qemu", "lxc"):
        pve_error(
            api,
            "GET",
            f"nodes/pve1/{kind}/555/status/current",
            f"Configuration file 'nodes/pve1/{kind}/555.conf' does not exist",
        )
    result, failed = run_module("guest_info", dict(vmid=555, node="pve1"))
    assert failed
    assert result["msg"] == "no guest with vmid 555 on node pve1 (neither a QEMU VM nor a LXC container)"


def test_pending_values_and_deletions(api):
    lookup(api)
    api.get(
        url("nodes/pve1/qemu/100/pending"),
        json=pending(
            VM_CONFIG,
            pending_values={"memory": "4096", "scsi1": "local-lvm:vm-100-disk-5,size=10G"},
            deletes=("unused0",),
        ),
    )
    result, failed = run_module("guest_info", dict(vmid=100))
    assert not failed, result
    assert result["pending"] == {"memory": "4096", "scsi1": "local-lvm:vm-100-disk-5,size=10G", "unused0": None}
    assert result["config"]["memory"] == "4096" and "unused0" not in result["config"]
    assert result["current"]["memory"] == "2048" and "scsi1" not in result["current"]
    assert "scsi1" in result["disks"] and "unused0" not in result["disks"]
    assert result["disks"]["scsi1"]["size_bytes"] == 10 * GIB


def test_lock_is_returned(api):
    lookup(api)
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(dict(VM_CONFIG, lock="backup")))
    result, failed = run_module("guest_info", dict(vmid=100))
    assert not failed and result["lock"] == "backup"


def test_digest_falls_back_to_get_config(api):
    lookup(api)
    items = [item for item in pending(VM_CONFIG)["data"] if item["key"] != "digest"]
    api.get(url("nodes/pve1/qemu/100/pending"), json={"data": items})
    api.get(url("nodes/pve1/qemu/100/config"), json={"data": dict(VM_CONFIG, digest="fromconfig")})
    result, failed = run_module("guest_info", dict(vmid=100))
    assert not failed and result["digest"] == "fromconfig"
    assert len(requests_made(api)) == 3


def test_check_mode_reads_the_same_and_writes_nothing(api):
    lookup(api)
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(VM_CONFIG))
    result, failed = run_module("guest_info", dict(vmid=100), check=True, diff=True)
    assert not failed and result["changed"] is False
    assert result["disks"]["scsi0"]["size"] == "32G"
    assert writes(api) == [] and len(requests_made(api)) == 2


def test_unknown_sub_keys_of_a_newer_proxmox_are_kept(api):
    lookup(api)
    config = dict(VM_CONFIG, scsi0="local-lvm:vm-100-disk-0,size=32G,future-knob=7", net0="virtio=BC:24:11:00:01:00")
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(config))
    result, failed = run_module("guest_info", dict(vmid=100))
    assert not failed, result
    assert result["disks"]["scsi0"] == {
        "file": "local-lvm:vm-100-disk-0",
        "size": "32G",
        "future-knob": "7",
        "size_bytes": 32 * GIB,
    }
    assert result["nics"]["net0"] == {"model": "virtio", "macaddr": "BC:24:11:00:01:00"}


def test_unknown_vmid_and_ambiguous_name(api):
    lookup(api, resources((100, "qemu", "pve1", "running", "web"), (101, "qemu", "pve2", "running", "web")))
    result, failed = run_module("guest_info", dict(vmid=999))
    assert failed and "no guest with vmid 999" in result["msg"]
    # an ambiguous name is confirmed in the online nodes' own guest lists before it fails (issue 13.7)
    api.get(url("nodes"), json={"data": [{"node": "pve1", "status": "online"}, {"node": "pve2", "status": "online"}]})
    for vmid, node in ((100, "pve1"), (101, "pve2")):
        api.get(url(f"nodes/{node}/qemu"), json={"data": [{"vmid": vmid, "name": "web", "status": "running"}]})
        api.get(url(f"nodes/{node}/lxc"), json={"data": []})
    result, failed = run_module("guest_info", dict(name="web"))
    assert failed and result["msg"] == "2 guests have name 'web' (vmids 100, 101); give vmid instead"
    assert writes(api) == []


def cluster_with_pools_tags_locks_and_a_template():
    rows = resources(
        (300, "qemu", "pve2", "stopped", "tmpl"),
        (100, "qemu", "pve1", "running", "web01"),
        (200, "lxc", "pve2", "stopped", "cache01"),
        (101, "qemu", "pve1", "unknown", None),
    )
    rows["data"][0]["template"] = 1
    rows["data"][1].update(pool="lab", tags="web;prod")
    rows["data"][2].update(lock="backup", tags="")
    del rows["data"][3]["name"]  # pvestatd has not reported it yet (pve-manager PVE/API2Tools.pm extract_vm_stats)
    return rows


def test_without_vmid_and_name_it_lists_the_guests_from_one_request(api):
    lookup(api, cluster_with_pools_tags_locks_and_a_template())
    result, failed = run_module("guest_info", {})
    assert not failed, result
    assert requests_made(api) == [LOOKUP]
    assert result["changed"] is False and not {"vmid", "config", "digest", "desired"} & set(result)
    assert result["guests"] == [
        {
            "vmid": 100,
            "name": "web01",
            "node": "pve1",
            "type": "qemu",
            "status": "running",
            "tags": ["web", "prod"],
            "pool": "lab",
            "lock": None,
            "template": False,
        },
        {
            "vmid": 101,
            "name": None,
            "node": "pve1",
            "type": "qemu",
            "status": "unknown",
            "tags": [],
            "pool": None,
            "lock": None,
            "template": False,
        },
        {
            "vmid": 200,
            "name": "cache01",
            "node": "pve2",
            "type": "lxc",
            "status": "stopped",
            "tags": [],
            "pool": None,
            "lock": "backup",
            "template": False,
        },
        {
            "vmid": 300,
            "name": "tmpl",
            "node": "pve2",
            "type": "qemu",
            "status": "stopped",
            "tags": [],
            "pool": None,
            "lock": None,
            "template": True,
        },
    ]


def test_listing_with_node_keeps_that_node_s_guests_and_still_costs_one_request(api):
    lookup(api, cluster_with_pools_tags_locks_and_a_template())
    result, failed = run_module("guest_info", dict(node="pve2"), check=True)
    assert not failed, result
    assert requests_made(api) == [LOOKUP]
    assert [guest["vmid"] for guest in result["guests"]] == [200, 300]


def test_listing_an_empty_cluster_is_an_empty_list(api):
    lookup(api, {"data": []})
    result, failed = run_module("guest_info", {})
    assert not failed and result["changed"] is False and result["guests"] == []


def test_listing_with_a_bad_node_name_fails_before_any_request(api):
    result, failed = run_module("guest_info", dict(node="pve1/../x"))
    assert failed and "node" in result["msg"] and "guests" not in result
    assert requests_made(api) == []


def test_a_missing_guest_fails_with_found_false_other_failures_without_it(api):
    lookup(api)
    result, failed = run_module("guest_info", dict(vmid=999))
    assert failed and result["found"] is False and "no guest with vmid 999" in result["msg"]
    pve_error(api, "GET", "nodes/pve1/qemu/100/pending", "Permission check failed", status=403)
    result, failed = run_module("guest_info", dict(vmid=100))
    assert failed and "found" not in result, result


def test_accepts_the_wait_options_shared_through_module_defaults(api):
    # group/pve.config.pve module_defaults often carry lock_timeout/task_timeout for the changing modules;
    # guest_info must accept them (and read a locked guest at once).
    lookup(api)
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(dict(VM_CONFIG, lock="backup")))
    result, failed = run_module("guest_info", dict(vmid=100, lock_timeout=5, task_timeout=30))
    assert not failed, result
    assert result["lock"] == "backup" and len(requests_made(api)) == 2


def test_pool_of_the_resources_row_is_returned_and_absent_without_one(api):
    rows = resources((100, "qemu", "pve1", "running", "web01"), (200, "lxc", "pve2", "stopped", "cache01"))
    rows["data"][0]["pool"] = "lab"
    lookup(api, rows)
    api.get(url("nodes/pve1/qemu/100/pending"), json=pending(VM_CONFIG, "abc123"))
    api.get(url("nodes/pve2/lxc/200/pending"), json=pending(CT_CONFIG, "ct1"))
    result, failed = run_module("guest_info", dict(vmid=100))
    assert not failed, result
    assert result["pool"] == "lab"
    result, failed = run_module("guest_info", dict(vmid=200))
    assert not failed, result
    assert "pool" not in result
    assert requests_made(api) == [
        LOOKUP,
        ("GET", "/nodes/pve1/qemu/100/pending", {}),
        LOOKUP,
        ("GET", "/nodes/pve2/lxc/200/pending", {}),
    ]
