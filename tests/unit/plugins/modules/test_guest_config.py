"""guest_config against a faked HTTP API: exact requests (digest included) for every step order, check mode with the
whole plan, if_digest, type, secrets, and every refusal (a clear error and no write)."""

import json

import pytest
from harness import pending, pve_error, requests_made, resources, run_module, url, writes
from responses import matchers

VM = "nodes/pve1/qemu/100"
CT = "nodes/pve1/lxc/200"
VM_CONFIG = {
    "name": "web01",
    "memory": "2048",
    "cores": 2,
    "ostype": "l26",
    "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=8G",
    "ide2": "local-lvm:vm-100-cloudinit,media=cdrom",
    "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0",
    "ciuser": "admin",
    "serial0": "socket",
}
CT_CONFIG = {
    "hostname": "ct200",
    "memory": 512,
    "rootfs": "local-lvm:vm-200-disk-0,size=8G",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth",
    "description": "old\n",
}
UPID = "UPID:pve1:000A1B2C:0012D687:67A0B1C2:qmconfig:100:root@pam!ci:"
LOOKUP = ("GET", "/cluster/resources", {"type": "vm"})
SECRET = "s3cr3t-Pa55"


def read(api, path, config, digest="d1", **kw):
    api.get(url(path + "/pending"), json=pending(config, digest, **kw))


def lookup(api):
    api.get(
        url("cluster/resources"),
        json=resources((100, "qemu", "pve1"), (200, "lxc", "pve1")),
        match=[matchers.query_param_matcher({"type": "vm"})],
    )


def put(api, path, body):
    api.put(url(path + "/config"), json={"data": None}, match=[matchers.urlencoded_params_matcher(body)])


def post(api, path, body):
    api.post(url(path + "/config"), json={"data": UPID}, match=[matchers.urlencoded_params_matcher(body)])
    api.get(url(f"nodes/pve1/tasks/{UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})


def status(api, path, state):
    api.get(url(path + "/status/current"), json={"data": {"status": state, "vmid": 100}})


def vm_args(**kw):
    return dict(dict(vmid=100, node="pve1", type="qemu"), **kw)


# --- no-op ------------------------------------------------------------------------------------------------------


def test_noop_with_node_vmid_and_type_is_one_get(api):
    read(api, VM, VM_CONFIG)
    result, failed = run_module(
        "guest_config",
        vm_args(config={"cores": 2, "memory": 2048, "net0": {"bridge": "vmbr0", "macaddr": "bc:24:11:00:01:00"}}),
    )
    assert not failed, result
    assert requests_made(api) == [("GET", "/" + VM + "/pending", {})]
    assert result["changed"] is False
    assert result["steps"] == [] and result["digest"] == "d1"
    assert result["diff"] == {"before": {}, "after": {}}


def test_noop_with_node_and_vmid_of_a_vm_is_one_get_without_type(api):
    read(api, VM, VM_CONFIG)
    result, failed = run_module("guest_config", dict(vmid=100, node="pve1", config={"cores": 2}))
    assert not failed, result
    assert requests_made(api) == [("GET", "/" + VM + "/pending", {})]
    assert result["changed"] is False and result["guest_type"] == "qemu"


NO_QEMU_200 = "Configuration file 'nodes/pve1/qemu-server/200.conf' does not exist"


def test_node_and_vmid_of_a_container_without_type_reads_it_as_a_vm_first(api):
    pve_error(api, "GET", "nodes/pve1/qemu/200/pending", NO_QEMU_200)
    read(api, CT, CT_CONFIG, "d1")
    put(api, CT, {"hostname": "web", "digest": "d1"})
    read(api, CT, dict(CT_CONFIG, hostname="web"), "d2")
    result, failed = run_module("guest_config", dict(vmid=200, node="pve1", config={"hostname": "web"}))
    assert not failed, result
    assert requests_made(api) == [
        ("GET", "/nodes/pve1/qemu/200/pending", {}),
        ("GET", "/" + CT + "/pending", {}),
        ("PUT", "/" + CT + "/config", {"hostname": "web", "digest": "d1"}),
        ("GET", "/" + CT + "/pending", {}),
    ]
    assert result["guest_type"] == "lxc" and result["changed"] is True


def test_node_and_vmid_of_no_guest_says_so(api):
    pve_error(api, "GET", "nodes/pve1/qemu/300/pending", NO_QEMU_200.replace("200", "300"))
    pve_error(api, "GET", "nodes/pve1/lxc/300/pending", "Configuration file 'nodes/pve1/lxc/300.conf' does not exist")
    result, failed = run_module("guest_config", dict(vmid=300, node="pve1", config={"cores": 2}))
    assert failed and result["changed"] is False
    assert result["msg"] == (
        "no guest 300 on node pve1: neither a QEMU VM nor an LXC container has that vmid there; nothing was changed"
    )
    assert writes(api) == []


def test_noop_without_node_looks_the_guest_up_first(api):
    lookup(api)
    read(api, CT, CT_CONFIG)
    result, failed = run_module("guest_config", dict(vmid=200, config={"hostname": "ct200", "memory": "512"}))
    assert not failed, result
    assert requests_made(api) == [LOOKUP, ("GET", "/" + CT + "/pending", {})]
    assert result["changed"] is False and result["guest_type"] == "lxc"


# --- set, delete, and their order --------------------------------------------------------------------------------


def test_scalars_and_a_property_string_merge_are_one_write(api):
    read(api, VM, VM_CONFIG)
    net0 = "virtio=BC:24:11:00:01:00,bridge=vmbr0,firewall=1"
    post(api, VM, {"cores": "4", "onboot": "1", "net0": net0, "digest": "d1"})
    read(api, VM, dict(VM_CONFIG, cores=4, onboot=1, net0=net0), "d2")
    status(api, VM, "stopped")  # net0 is cloud-init relevant, the VM has a cloud-init drive: asked after the write
    result, failed = run_module(
        "guest_config", vm_args(config={"cores": 4, "onboot": True, "net0": {"firewall": True}, "memory": "2048"})
    )
    assert not failed, result
    assert writes(api) == [("POST", "/" + VM + "/config", {"cores": "4", "onboot": "1", "net0": net0, "digest": "d1"})]
    assert result["changed"] is True
    assert result["steps"] == [{"action": "set", "keys": ["cores", "onboot", "net0"]}]
    assert result["digest"] == "d1"
    assert result["diff"] == {
        "before": {"cores": 2, "net0": VM_CONFIG["net0"]},
        "after": {"cores": 4, "onboot": 1, "net0": net0},
    }
    assert result["task"] == UPID


def test_set_then_delete_each_with_the_digest_of_its_own_read(api):
    read(api, CT, CT_CONFIG)
    put(api, CT, {"hostname": "web", "digest": "d1"})
    after_set = dict(CT_CONFIG, hostname="web")
    read(api, CT, after_set, "d2")
    put(api, CT, {"delete": "description", "digest": "d2"})
    after = {k: v for k, v in after_set.items() if k != "description"}
    read(api, CT, after, "d3")
    result, failed = run_module(
        "guest_config",
        dict(vmid=200, node="pve1", type="lxc", config={"hostname": "web"}, absent=["description", "mp3"]),
    )
    assert not failed, result
    assert requests_made(api) == [
        ("GET", "/" + CT + "/pending", {}),
        ("PUT", "/" + CT + "/config", {"hostname": "web", "digest": "d1"}),
        ("GET", "/" + CT + "/pending", {}),
        ("PUT", "/" + CT + "/config", {"delete": "description", "digest": "d2"}),
        ("GET", "/" + CT + "/pending", {}),
    ]
    assert result["steps"] == [{"action": "set", "keys": ["hostname"]}, {"action": "delete", "keys": ["description"]}]
    assert result["digest"] == "d1"
    assert result["msg"] == "set hostname; delete description of LXC container 200 on pve1"


def test_a_sub_key_given_as_null_is_removed_and_others_are_kept(api):
    read(api, VM, VM_CONFIG)
    post(api, VM, {"scsi0": "local-lvm:vm-100-disk-0,size=8G,cache=writeback", "digest": "d1"})
    read(api, VM, dict(VM_CONFIG, scsi0="local-lvm:vm-100-disk-0,size=8G,cache=writeback"), "d2")
    result, failed = run_module("guest_config", vm_args(config={"scsi0": {"iothread": None, "cache": "writeback"}}))
    assert not failed, result
    assert writes(api)[0][2]["scsi0"] == "local-lvm:vm-100-disk-0,size=8G,cache=writeback"


def test_a_property_string_given_as_text_is_compared_parsed(api):
    read(api, VM, VM_CONFIG)
    result, failed = run_module("guest_config", vm_args(config={"net0": "bridge=vmbr0,virtio=bc:24:11:00:01:00"}))
    assert not failed, result
    assert result["changed"] is False and writes(api) == []


# --- check mode ---------------------------------------------------------------------------------------------------


def test_check_mode_returns_the_whole_plan_and_writes_nothing(api):
    read(api, VM, VM_CONFIG)
    status(api, VM, "running")  # node and vmid given: no lookup, so the prediction asks whether the VM runs
    result, failed = run_module(
        "guest_config", vm_args(config={"cores": 4, "tags": "web"}, absent=["serial0", "usb0"]), check=True, diff=True
    )
    assert not failed, result
    assert requests_made(api) == [("GET", "/" + VM + "/pending", {}), ("GET", "/" + VM + "/status/current", {})]
    # qemu-server vmconfig_hotplug_pending: tags is a fast-plug option, cores and serial0 wait for a restart
    assert result["pending_predicted"] == ["cores", "serial0"] and result["reboot_required"] is True
    assert result["changed"] is True
    assert result["steps"] == [{"action": "set", "keys": ["cores", "tags"]}, {"action": "delete", "keys": ["serial0"]}]
    assert result["diff"] == {"before": {"cores": 2, "serial0": "socket"}, "after": {"cores": "4", "tags": "web"}}
    assert result["config"]["cores"] == "4" and "serial0" not in result["config"]
    assert result["msg"] == "would set cores, tags; then delete serial0 of QEMU VM 100 on pve1"
    assert result["digest"] == "d1"


# --- if_digest and type --------------------------------------------------------------------------------------------


def test_if_digest_of_another_config_is_refused_before_any_write(api):
    read(api, VM, VM_CONFIG, digest="d9")
    result, failed = run_module("guest_config", vm_args(config={"cores": 4}, if_digest="d1"))
    assert failed
    assert result["msg"] == (
        "the config of QEMU VM 100 changed since the plan was made: its digest is d9, if_digest asks for d1; "
        "plan again; nothing was changed"
    )
    assert result["changed"] is False and writes(api) == []


def test_if_digest_of_the_config_lets_every_step_run(api):
    read(api, CT, CT_CONFIG)
    put(api, CT, {"hostname": "web", "digest": "d1"})
    read(api, CT, dict(CT_CONFIG, hostname="web"), "d2")
    put(api, CT, {"delete": "description", "digest": "d2"})
    read(api, CT, {k: v for k, v in dict(CT_CONFIG, hostname="web").items() if k != "description"}, "d3")
    result, failed = run_module(
        "guest_config",
        dict(vmid=200, node="pve1", type="lxc", config={"hostname": "web"}, absent=["description"], if_digest="d1"),
    )
    assert not failed, result
    assert [w[2]["digest"] for w in writes(api)] == ["d1", "d2"]


def test_with_type_bad_keys_are_refused_before_any_request(api):
    result, failed = run_module("guest_config", vm_args(config={"coers": 4}))
    assert failed and "did you mean cores?" in result["msg"]
    assert requests_made(api) == []


def test_type_other_than_the_guest_is_refused(api):
    lookup(api)
    read(api, CT, CT_CONFIG)
    result, failed = run_module("guest_config", dict(vmid=200, type="qemu", config={"memory": 1024}))
    assert failed
    assert result["msg"] == "guest 200 is a LXC container, not type qemu; nothing was changed"
    assert writes(api) == []


# --- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, msg",
    [
        (dict(config={"digest": "x"}), "config: digest cannot be managed: the digest of the config is read, not set"),
        (dict(config={"lock": "backup"}), "config: lock cannot be managed"),
        (dict(absent=["parent"]), "absent: parent cannot be managed: read-only"),
        (dict(config={"cores": 4}, absent=["cores"]), "cores given both in config and in absent"),
        (dict(config={"cores": {"x": 1}}), "config: cores takes a single value, not a dict of sub-keys"),
        (dict(config={"net0": {"colour": "red"}}), "config: net0 has no sub-key 'colour'"),
        (dict(config={"net0": {"bridge": "vmbr0,tag=5"}}), "must not contain a comma"),
        (dict(config={"Bad Key": 1}), "is not a config key"),
        (dict(config={"coers": 4}), "config: coers is not a config key of a VM; did you mean cores?"),
        (dict(config={"onboot": "maybe"}), "onboot must be a boolean"),
        (dict(config={"unused0": "local-lvm:vm-100-disk-9"}), "config: unused0 cannot be set"),
        (dict(config={"mp0": {"mp": "/x"}}), "is not a config key of a VM"),
    ],
)
def test_bad_keys_and_values_are_refused_before_any_write(api, args, msg):
    read(api, VM, VM_CONFIG)
    result, failed = run_module("guest_config", vm_args(**args))
    assert failed, result
    assert msg in result["msg"] and result["msg"].endswith("nothing was changed")
    assert writes(api) == []


# --- secrets ---------------------------------------------------------------------------------------------------------


def test_password_on_create_is_written_once_and_never_shown(api):
    read(api, VM, VM_CONFIG)
    put(api, VM, {"cipassword": SECRET, "digest": "d1"})
    read(api, VM, dict(VM_CONFIG, cipassword="**********"), "d2")
    status(api, VM, "stopped")
    result, failed = run_module("guest_config", vm_args(config={"cipassword": SECRET}), diff=True)
    assert not failed, result
    assert writes(api) == [("PUT", "/" + VM + "/config", {"cipassword": SECRET, "digest": "d1"})]
    assert SECRET not in json.dumps(result)


def test_password_already_set_is_not_written_unless_always(api):
    read(api, VM, dict(VM_CONFIG, cipassword="**********"))
    result, failed = run_module("guest_config", vm_args(config={"cipassword": SECRET}))
    assert not failed and result["changed"] is False and writes(api) == []


def test_password_always_in_check_mode_is_masked(api):
    read(api, VM, dict(VM_CONFIG, cipassword="**********"))
    status(api, VM, "running")
    result, failed = run_module(
        "guest_config", vm_args(config={"cipassword": SECRET}, update_password="always"), check=True, diff=True
    )
    assert not failed, result
    assert result["changed"] is True and writes(api) == []
    assert result["diff"]["after"] == {"cipassword": "********"}
    assert result["steps"] == [
        {"action": "set", "keys": ["cipassword"]},
        {"action": "cloudinit", "keys": ["cipassword"]},
    ]
    assert SECRET not in json.dumps(result)


# --- the cloud-init drive ---------------------------------------------------------------------------------------------

CLOUDINIT_PUT = ("PUT", "/" + VM + "/cloudinit", {})


def test_cloud_init_keys_applied_by_a_running_vm_regenerate_its_drive(api):
    """qemu-server applies cloud-init options at once on a running VM and leaves the drive stale until
    PUT .../cloudinit (vmconfig_hotplug_pending regenerates it only with hotplug 'cloudinit')."""
    read(api, VM, VM_CONFIG)
    put(api, VM, {"ciuser": "deploy", "ipconfig0": "ip=dhcp", "digest": "d1"})
    read(api, VM, dict(VM_CONFIG, ciuser="deploy", ipconfig0="ip=dhcp"), "d2")
    status(api, VM, "running")
    api.put(url(VM + "/cloudinit"), json={"data": None})
    read(api, VM, dict(VM_CONFIG, ciuser="deploy", ipconfig0="ip=dhcp"), "d2")
    result, failed = run_module("guest_config", vm_args(config={"ciuser": "deploy", "ipconfig0": "ip=dhcp"}))
    assert not failed, result
    assert requests_made(api) == [
        ("GET", "/" + VM + "/pending", {}),
        ("PUT", "/" + VM + "/config", {"ciuser": "deploy", "ipconfig0": "ip=dhcp", "digest": "d1"}),
        ("GET", "/" + VM + "/pending", {}),
        ("GET", "/" + VM + "/status/current", {}),
        CLOUDINIT_PUT,
        ("GET", "/" + VM + "/pending", {}),
    ]
    assert result["steps"] == [
        {"action": "set", "keys": ["ciuser", "ipconfig0"]},
        {"action": "cloudinit", "keys": ["ciuser", "ipconfig0"]},
    ]
    assert result["msg"] == "set ciuser, ipconfig0; regenerate the cloud-init drive of QEMU VM 100 on pve1"


@pytest.mark.parametrize(
    "config, running, gets_status",
    [
        (VM_CONFIG, "stopped", True),  # generated at the next start (vm_start_nolock: apply_cloudinit_config)
        (dict(VM_CONFIG, hotplug="network,disk,cloudinit"), "running", False),  # regenerated by the update
        ({k: v for k, v in VM_CONFIG.items() if k != "ide2"}, "running", False),  # no cloud-init drive
    ],
)
def test_no_regeneration_where_proxmox_does_it_or_has_no_drive(api, config, running, gets_status):
    read(api, VM, config)
    put(api, VM, {"ciuser": "deploy", "digest": "d1"})
    read(api, VM, dict(config, ciuser="deploy"), "d2")
    status(api, VM, running)
    result, failed = run_module("guest_config", vm_args(config={"ciuser": "deploy"}))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + VM + "/config", {"ciuser": "deploy", "digest": "d1"})]
    assert (("GET", "/" + VM + "/status/current", {}) in requests_made(api)) is gets_status


def test_a_cloud_init_relevant_key_left_pending_needs_no_regeneration(api):
    """A net0 change the running VM cannot hot-plug stays pending: nothing was recorded for the drive."""
    config = dict(VM_CONFIG, hotplug="disk")
    net0 = "virtio=BC:24:11:00:01:00,bridge=vmbr1"
    read(api, VM, config)
    post(api, VM, {"net0": net0, "digest": "d1"})
    read(api, VM, config, "d2", pending_values={"net0": net0})
    status(api, VM, "running")
    result, failed = run_module("guest_config", vm_args(config={"net0": {"bridge": "vmbr1"}}))
    assert not failed, result
    assert CLOUDINIT_PUT not in requests_made(api)
    assert result["pending"] == {"net0": net0} and result["reboot_required"] is True


# --- volumes: create -> grow -> set -> delete -> purge ------------------------------------------------------------

GIB = 1024**3
LVM = {"storage": "local-lvm", "type": "lvmthin", "content": "rootdir,images", "enabled": 1, "active": 1}
RESIZE_UPID = "UPID:pve1:000A1B3D:0012D9A0:67A0B1D0:qmresize:100:root@pam!ci:"
DISK1 = "local-lvm:vm-100-disk-1,iothread=1,size=4G"


def storage(api, name="local-lvm"):
    api.get(url("nodes/pve1/storage"), json={"data": [LVM]}, match=[matchers.query_param_matcher({"storage": name})])


def content(api, kind, vmid, *volumes):
    what = "images" if kind == "qemu" else "rootdir"
    api.get(
        url("nodes/pve1/storage/local-lvm/content"),
        json={"data": [{"volid": volid, "size": size, "vmid": vmid} for volid, size in volumes]},
        match=[matchers.query_param_matcher({"content": what, "vmid": str(vmid)})],
    )


def resize(api, path, body, upid=RESIZE_UPID):
    api.put(url(path + "/resize"), json={"data": upid}, match=[matchers.urlencoded_params_matcher(body)])
    api.get(url(f"nodes/pve1/tasks/{upid}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})


def test_every_step_in_order_each_with_its_own_digest(api):
    """create scsi2 -> grow scsi0 -> set cores and scsi1's cache -> detach scsi1 ... no: delete serial0 and detach
    scsi1 -> destroy its volume, one round each."""
    config = dict(VM_CONFIG, scsi1=DISK1)
    read(api, VM, config, "d1")
    storage(api)
    content(api, "qemu", 100, ("local-lvm:vm-100-disk-0", 8 * GIB))
    post(api, VM, {"scsi2": "local-lvm:2,iothread=1", "digest": "d1"})
    created = dict(config, scsi2="local-lvm:vm-100-disk-2,iothread=1,size=2G")
    read(api, VM, created, "d2")
    content(api, "qemu", 100, ("local-lvm:vm-100-disk-0", 8 * GIB))
    resize(api, VM, {"disk": "scsi0", "size": "10G", "digest": "d2"})
    grown = dict(created, scsi0="local-lvm:vm-100-disk-0,iothread=1,size=10G")
    read(api, VM, grown, "d3")
    put(api, VM, {"cores": "4", "digest": "d3"})
    tuned = dict(grown, cores=4)
    read(api, VM, tuned, "d4")
    post(api, VM, {"delete": "serial0,scsi1", "digest": "d4"})
    detached = {k: v for k, v in tuned.items() if k not in ("serial0", "scsi1")}
    detached["unused0"] = "local-lvm:vm-100-disk-1"
    read(api, VM, detached, "d5")
    post(api, VM, {"delete": "unused0", "digest": "d5"})
    final = {k: v for k, v in detached.items() if k != "unused0"}
    read(api, VM, final, "d6")
    result, failed = run_module(
        "guest_config",
        vm_args(
            config={
                "cores": 4,
                "scsi0": {"storage": "local-lvm", "size": "10G"},
                "scsi2": {"storage": "local-lvm", "size": 2, "iothread": True},
            },
            absent=["serial0", "scsi1"],
            purge=True,
        ),
    )
    assert not failed, result
    pend = ("GET", "/" + VM + "/pending", {})
    status = ("GET", f"/nodes/pve1/tasks/{UPID}/status", {})
    listing = ("GET", "/nodes/pve1/storage/local-lvm/content", {"content": "images", "vmid": "100"})
    assert requests_made(api) == [
        pend,
        ("GET", "/nodes/pve1/storage", {"storage": "local-lvm"}),
        listing,
        ("POST", "/" + VM + "/config", {"scsi2": "local-lvm:2,iothread=1", "digest": "d1"}),
        status,
        pend,
        listing,
        ("PUT", "/" + VM + "/resize", {"disk": "scsi0", "size": "10G", "digest": "d2"}),
        ("GET", f"/nodes/pve1/tasks/{RESIZE_UPID}/status", {}),
        pend,
        ("PUT", "/" + VM + "/config", {"cores": "4", "digest": "d3"}),
        pend,
        ("POST", "/" + VM + "/config", {"delete": "serial0,scsi1", "digest": "d4"}),
        status,
        pend,
        ("POST", "/" + VM + "/config", {"delete": "unused0", "digest": "d5"}),
        status,
        pend,
    ]
    assert result["steps"] == [
        {"action": "create", "keys": ["scsi2"]},
        {"action": "grow", "keys": ["scsi0"]},
        {"action": "set", "keys": ["cores"]},
        {"action": "delete", "keys": ["serial0", "scsi1"]},
        {"action": "purge", "keys": ["unused0"]},
    ]
    assert result["destroyed_volumes"] == ["local-lvm:vm-100-disk-1"]
    assert result["msg"] == (
        "create scsi2 (2G on local-lvm); grow scsi0 from 8G to 10G; set cores; delete serial0, scsi1; "
        "destroy volume local-lvm:vm-100-disk-1 (unused0) of QEMU VM 100 on pve1"
    )


def test_check_mode_shows_every_volume_step_and_writes_nothing(api):
    config = dict(VM_CONFIG, scsi1=DISK1)
    read(api, VM, config, "d1")
    status(api, VM, "stopped")
    storage(api)
    content(api, "qemu", 100, ("local-lvm:vm-100-disk-0", 8 * GIB))
    result, failed = run_module(
        "guest_config",
        vm_args(
            config={"scsi0": {"size": "10G", "cache": "writeback"}, "scsi2": {"storage": "local-lvm", "size": 2}},
            absent=["scsi1"],
            purge=True,
        ),
        check=True,
        diff=True,
    )
    assert not failed, result
    assert writes(api) == []
    assert result["steps"] == [
        {"action": "create", "keys": ["scsi2"]},
        {"action": "grow", "keys": ["scsi0"]},
        {"action": "set", "keys": ["scsi0"]},
        {"action": "delete", "keys": ["scsi1"]},
        {"action": "purge", "keys": ["scsi1"]},
    ]
    assert result["destroyed_volumes"] == ["local-lvm:vm-100-disk-1"]
    assert result["pending_predicted"] == [] and result["reboot_required"] is False  # a stopped VM applies all
    assert result["diff"]["after"] == {
        "scsi2": "local-lvm:2",
        "scsi0": "local-lvm:vm-100-disk-0,iothread=1,size=8G,cache=writeback",
    }
    assert result["msg"].startswith(
        "would create scsi2 (2G on local-lvm); then grow scsi0 from 8G to 10G; then set scsi0"
    )


def test_container_rootfs_grows_and_a_mount_point_is_created(api):
    read(api, CT, CT_CONFIG, "d1")
    storage(api)
    content(api, "lxc", 200, ("local-lvm:vm-200-disk-0", 8 * GIB))
    put(api, CT, {"mp0": "local-lvm:4,mp=/srv/data,backup=1", "digest": "d1"})
    created = dict(CT_CONFIG, mp0="local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=4G")
    read(api, CT, created, "d2")
    content(api, "lxc", 200, ("local-lvm:vm-200-disk-0", 8 * GIB))
    ct_upid = "UPID:pve1:000A1B3D:0012D9A0:67A0B1D0:resize:200:root@pam!ci:"
    resize(api, CT, {"disk": "rootfs", "size": "16G", "digest": "d2"}, upid=ct_upid)
    read(api, CT, dict(created, rootfs="local-lvm:vm-200-disk-0,size=16G"), "d3")
    result, failed = run_module(
        "guest_config",
        dict(
            vmid=200,
            node="pve1",
            type="lxc",
            config={
                "rootfs": {"storage": "local-lvm", "size": "16G"},
                "mp0": {"storage": "local-lvm", "size": "4G", "mp": "/srv/data", "backup": True},
            },
        ),
    )
    assert not failed, result
    assert writes(api) == [
        ("PUT", "/" + CT + "/config", {"mp0": "local-lvm:4,mp=/srv/data,backup=1", "digest": "d1"}),
        ("PUT", "/" + CT + "/resize", {"disk": "rootfs", "size": "16G", "digest": "d2"}),
    ]
    assert [s["action"] for s in result["steps"]] == ["create", "grow"]


def test_a_detach_left_pending_destroys_nothing(api):
    config = dict(CT_CONFIG, mp1="local-lvm:vm-200-disk-3,mp=/old,size=2G")
    read(api, CT, config, "d1")
    put(api, CT, {"delete": "mp1", "digest": "d1"})
    read(api, CT, config, "d2", deletes=("mp1",))
    result, failed = run_module("guest_config", dict(vmid=200, node="pve1", type="lxc", absent=["mp1"], purge=True))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + CT + "/config", {"delete": "mp1", "digest": "d1"})]
    assert result["pending"] == {"mp1": None}
    assert "destroyed_volumes" not in result


@pytest.mark.parametrize(
    "config, msg",
    [
        (
            {"scsi0": {"size": "4G"}},
            "scsi0 (local-lvm:vm-100-disk-0) of QEMU VM 100 is 8G; shrinking it to 4G is not supported",
        ),
        ({"scsi0": {"storage": "ceph", "size": "8G"}}, "is on storage local-lvm, not ceph"),
        ({"ide2": {"size": "1G"}}, "holds a CD-ROM drive, not a disk"),
        ({"scsi3": {"size": "1G"}}, "scsi3 is empty on QEMU VM 100: creating it needs storage"),
        ({"scsi3": {"storage": "local-lvm", "size": "0"}}, "scsi3 size must be positive"),
    ],
)
def test_volume_requests_that_cannot_be_done_are_refused_before_any_write(api, config, msg):
    read(api, VM, VM_CONFIG)
    result, failed = run_module("guest_config", vm_args(config=config))
    assert failed, result
    assert msg in result["msg"] and result["msg"].endswith("nothing was changed"), result["msg"]
    assert writes(api) == []


def test_host_devices_and_bind_mounts_have_no_size(api):
    read(api, VM, dict(VM_CONFIG, scsi3="/dev/disk/by-id/ata-X,size=100G"))
    result, failed = run_module("guest_config", vm_args(config={"scsi3": {"size": "200G"}}))
    assert failed and "scsi3 (/dev/disk/by-id/ata-X) of QEMU VM 100 is a host device or path" in result["msg"]
    read(api, CT, dict(CT_CONFIG, mp1="/srv/share,mp=/share"))
    result, failed = run_module("guest_config", dict(vmid=200, node="pve1", type="lxc", config={"mp1": {"size": 2}}))
    assert failed and "mp1 (/srv/share) of LXC container 200 is a host device or path" in result["msg"]
    assert writes(api) == []


def test_a_mount_point_needs_its_path_and_unused_needs_purge(api):
    read(api, CT, dict(CT_CONFIG, unused0="local-lvm:vm-200-disk-9"))
    result, failed = run_module(
        "guest_config", dict(vmid=200, node="pve1", type="lxc", config={"mp0": {"storage": "local-lvm", "size": 1}})
    )
    assert (
        failed
        and "mp0 is empty on LXC container 200: creating it needs mp (the path inside the container)" in result["msg"]
    )
    read(api, CT, dict(CT_CONFIG, unused0="local-lvm:vm-200-disk-9"))
    result, failed = run_module("guest_config", dict(vmid=200, node="pve1", type="lxc", absent=["unused0"]))
    assert failed and "removing unused0 destroys its volume" in result["msg"]
    assert writes(api) == []


def test_more_grows_than_the_fixed_step_budget_all_run(api):
    disks = {f"scsi{n}": f"local-lvm:vm-100-disk-{n},size=1G" for n in range(8)}
    config = dict(VM_CONFIG, **disks)
    read(api, VM, config, "d0")
    for n in range(8):
        content(api, "qemu", 100, (f"local-lvm:vm-100-disk-{n}", GIB))
        resize(api, VM, {"disk": f"scsi{n}", "size": "2G", "digest": f"d{n}"})
        config = dict(config, **{f"scsi{n}": f"local-lvm:vm-100-disk-{n},size=2G"})
        read(api, VM, config, f"d{n + 1}")
    result, failed = run_module("guest_config", vm_args(config={key: {"size": "2G"} for key in disks}))
    assert not failed, result
    assert len(writes(api)) == 8
    assert [s["keys"][0] for s in result["steps"]] == list(disks)


# --- reboot: if_needed ---------------------------------------------------------------------------------------------

REBOOT_UPID = "UPID:pve1:000A1B4E:0012DA00:67A0B1E0:qmreboot:100:root@pam!ci:"


def test_reboot_if_needed_reboots_once_the_change_is_left_pending(api):
    lookup(api)  # the guest's row says it runs: no status/current before the reboot
    read(api, VM, VM_CONFIG, "d1")
    put(api, VM, {"cores": "4", "digest": "d1"})
    read(api, VM, VM_CONFIG, "d2", pending_values={"cores": "4"})
    api.post(
        url(VM + "/status/reboot"),
        json={"data": REBOOT_UPID},
        match=[matchers.urlencoded_params_matcher({"timeout": "90"})],
    )
    api.get(url(f"nodes/pve1/tasks/{REBOOT_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})
    status(api, VM, "running")
    read(api, VM, dict(VM_CONFIG, cores="4"), "d3")
    result, failed = run_module(
        "guest_config", dict(vmid=100, config={"cores": 4}, reboot="if_needed", reboot_timeout=120)
    )
    assert not failed, result
    pend = ("GET", "/" + VM + "/pending", {})
    assert requests_made(api) == [
        LOOKUP,
        pend,
        ("PUT", "/" + VM + "/config", {"cores": "4", "digest": "d1"}),
        pend,
        ("POST", "/" + VM + "/status/reboot", {"timeout": "90"}),
        ("GET", f"/nodes/pve1/tasks/{REBOOT_UPID}/status", {}),
        ("GET", "/" + VM + "/status/current", {}),
        pend,  # reboot_and_wait: running with nothing pending
        pend,  # the engine's re-read: nothing left to do
    ]
    assert result["rebooted"] is True and result["pending"] == {} and result["reboot_required"] is False
    assert result["steps"] == [{"action": "set", "keys": ["cores"]}, {"action": "reboot", "keys": ["cores"]}]
    assert result["task"] == REBOOT_UPID
    assert result["msg"] == "set cores; reboot to apply cores of QEMU VM 100 on pve1"


def test_reboot_if_needed_leaves_a_stopped_or_settled_guest_alone(api):
    read(api, VM, VM_CONFIG, "d1", pending_values={"cores": "4"})
    status(api, VM, "stopped")
    result, failed = run_module("guest_config", vm_args(config={"cores": 4}, reboot="if_needed"))
    assert not failed, result
    assert writes(api) == [] and result["rebooted"] is False and result["changed"] is False
    assert result["reboot_required"] is True  # pending from before: a stopped VM applies it at its next start


def test_reboot_never_is_the_default(api):
    lookup(api)
    read(api, VM, VM_CONFIG, "d1")
    put(api, VM, {"cores": "4", "digest": "d1"})
    read(api, VM, VM_CONFIG, "d2", pending_values={"cores": "4"})
    result, failed = run_module("guest_config", dict(vmid=100, config={"cores": 4}))
    assert not failed, result
    assert writes(api) == [("PUT", "/" + VM + "/config", {"cores": "4", "digest": "d1"})]
    assert result["rebooted"] is False and result["reboot_required"] is True and result["pending"] == {"cores": "4"}


def test_check_mode_predicts_the_reboot(api):
    lookup(api)
    read(api, VM, VM_CONFIG, "d1")
    result, failed = run_module(
        "guest_config", dict(vmid=100, config={"cores": 4, "description": "x"}, reboot="if_needed"), check=True
    )
    assert not failed, result
    assert requests_made(api) == [LOOKUP, ("GET", "/" + VM + "/pending", {})]  # status from the lookup's row
    assert result["pending_predicted"] == ["cores"] and result["reboot_required"] is True
    assert result["steps"] == [
        {"action": "set", "keys": ["cores", "description"]},
        {"action": "reboot", "keys": ["cores"]},
    ]
    assert result["rebooted"] is False


def test_a_failed_reboot_says_what_was_applied_and_where_the_guest_is(api):
    lookup(api)
    read(api, VM, VM_CONFIG, "d1")
    put(api, VM, {"cores": "4", "digest": "d1"})
    read(api, VM, VM_CONFIG, "d2", pending_values={"cores": "4"})
    api.post(url(VM + "/status/reboot"), json={"data": REBOOT_UPID})
    api.get(
        url(f"nodes/pve1/tasks/{REBOOT_UPID}/status"),
        json={"data": {"status": "stopped", "exitstatus": "VM quit/powerdown failed - got timeout"}},
    )
    api.get(url(f"nodes/pve1/tasks/{REBOOT_UPID}/log"), json={"data": [{"n": 1, "t": "got timeout"}]})
    status(api, VM, "running")
    result, failed = run_module("guest_config", dict(vmid=100, config={"cores": 4}, reboot="if_needed"))
    assert failed
    assert result["msg"].startswith("the reboot of QEMU VM 100 failed: ")
    assert "already applied: set cores" in result["msg"] and "still pending" in result["msg"]
    assert result["changed"] is True and result["guest_status"] == "running", result["msg"]


def test_a_long_plan_keeps_room_for_the_reboot_decided_after_its_writes(api):
    """Six grows and a set are seven writes (more than MAX_STEPS); the reboot, decided only once they are done, is
    the eighth and still runs."""
    disks = {f"scsi{n}": f"local-lvm:vm-100-disk-{n},size=1G" for n in range(6)}
    config = dict(VM_CONFIG, **disks)
    lookup(api)
    read(api, VM, config, "d0")
    for n in range(6):
        content(api, "qemu", 100, (f"local-lvm:vm-100-disk-{n}", GIB))
        resize(api, VM, {"disk": f"scsi{n}", "size": "2G", "digest": f"d{n}"})
        config = dict(config, **{f"scsi{n}": f"local-lvm:vm-100-disk-{n},size=2G"})
        read(api, VM, config, f"d{n + 1}")
    put(api, VM, {"cores": "4", "digest": "d6"})
    read(api, VM, config, "d7", pending_values={"cores": "4"})
    api.post(url(VM + "/status/reboot"), json={"data": REBOOT_UPID})
    api.get(url(f"nodes/pve1/tasks/{REBOOT_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})
    status(api, VM, "running")
    read(api, VM, dict(config, cores="4"), "d8")
    result, failed = run_module(
        "guest_config",
        dict(vmid=100, config=dict({key: {"size": "2G"} for key in disks}, cores=4), reboot="if_needed"),
    )
    assert not failed, result
    assert [s["action"] for s in result["steps"]] == ["grow"] * 6 + ["set", "reboot"]
    assert result["rebooted"] is True and len(writes(api)) == 8


def test_a_detach_left_pending_is_destroyed_after_the_managed_reboot(api):
    """delete -> reboot -> purge: the reboot applies the pending detach (the volume becomes unused0), then the
    same run destroys it."""
    lookup(api)
    config = dict(VM_CONFIG, scsi1=DISK1)
    read(api, VM, config, "d1")
    post(api, VM, {"delete": "scsi1", "digest": "d1"})
    read(api, VM, config, "d2", deletes=("scsi1",))
    api.post(url(VM + "/status/reboot"), json={"data": REBOOT_UPID})
    api.get(url(f"nodes/pve1/tasks/{REBOOT_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})
    status(api, VM, "running")
    rebooted = dict(VM_CONFIG, unused0="local-lvm:vm-100-disk-1")
    read(api, VM, rebooted, "d3")  # reboot_and_wait: running, nothing pending
    read(api, VM, rebooted, "d3")  # the engine's next round
    post(api, VM, {"delete": "unused0", "digest": "d3"})
    read(api, VM, VM_CONFIG, "d4")
    result, failed = run_module("guest_config", dict(vmid=100, absent=["scsi1"], purge=True, reboot="if_needed"))
    assert not failed, result
    assert writes(api) == [
        ("POST", "/" + VM + "/config", {"delete": "scsi1", "digest": "d1"}),
        ("POST", "/" + VM + "/status/reboot", {"timeout": "225"}),
        ("POST", "/" + VM + "/config", {"delete": "unused0", "digest": "d3"}),
    ]
    assert [s["action"] for s in result["steps"]] == ["delete", "reboot", "purge"]
    assert result["destroyed_volumes"] == ["local-lvm:vm-100-disk-1"] and result["rebooted"] is True


def test_a_reboot_regenerates_the_cloud_init_drive_so_no_put_follows(api):
    lookup(api)
    read(api, VM, VM_CONFIG, "d1")
    put(api, VM, {"ciuser": "deploy", "cores": "4", "digest": "d1"})
    read(api, VM, dict(VM_CONFIG, ciuser="deploy"), "d2", pending_values={"cores": "4"})
    api.post(url(VM + "/status/reboot"), json={"data": REBOOT_UPID})
    api.get(url(f"nodes/pve1/tasks/{REBOOT_UPID}/status"), json={"data": {"status": "stopped", "exitstatus": "OK"}})
    status(api, VM, "running")
    read(api, VM, dict(VM_CONFIG, ciuser="deploy", cores="4"), "d3")
    result, failed = run_module(
        "guest_config", dict(vmid=100, config={"ciuser": "deploy", "cores": 4}, reboot="if_needed")
    )
    assert not failed, result
    assert CLOUDINIT_PUT not in requests_made(api)
    assert [s["action"] for s in result["steps"]] == ["set", "reboot"]


def test_volumes_proxmox_cannot_handle_now_are_refused(api):
    """A slot whose removal is pending cannot take a new volume, and a disk only pending cannot be grown (resize_vm
    reads the current config)."""
    read(api, VM, dict(VM_CONFIG, scsi1=DISK1), deletes=("scsi1",))
    result, failed = run_module("guest_config", vm_args(config={"scsi1": {"storage": "local-lvm", "size": "4G"}}))
    assert failed and "scsi1 of QEMU VM 100 is being removed (pending until the guest reboots)" in result["msg"]
    read(api, VM, VM_CONFIG, pending_values={"scsi1": DISK1})
    content(api, "qemu", 100)
    result, failed = run_module("guest_config", vm_args(config={"scsi1": {"size": "8G"}}))
    assert failed and "is pending until the VM reboots" in result["msg"], result["msg"]
    assert result["msg"].endswith("nothing was changed") and writes(api) == []


def test_type_given_with_node_and_vmid_reads_that_kind_only(api):
    pve_error(
        api,
        "GET",
        CT.replace("lxc", "qemu") + "/pending",
        "Configuration file 'nodes/pve1/qemu-server/200.conf' does not exist",
        status=500,
    )
    result, failed = run_module("guest_config", dict(vmid=200, node="pve1", type="qemu", config={"cores": 2}))
    assert failed
    assert result["msg"].startswith("no QEMU VM 200 on node pve1") and result["msg"].endswith("nothing was changed")
    assert requests_made(api) == [("GET", "/nodes/pve1/qemu/200/pending", {})]
