"""The tool table as data: names, modules, hints, schemas, argument mapping, the Jinja guard."""

from __future__ import annotations

import pytest
from _support import INJECTION, VALID, string_fields
from pydantic import ValidationError

from mcp_bridge.fields import find_template_marker, reject_template
from mcp_bridge.server import to_call_result
from mcp_bridge.tools import TOOLS, TOOLS_BY_NAME, summarize

# tool -> (module, read_only, destructive, idempotent)
EXPECTED = {
    "update_vm_resources": ("pve.config.vm_resources", False, False, True),
    "update_container_resources": ("pve.config.container_resources", False, False, True),
    "add_vm_disk": ("pve.config.vm_disk", False, False, False),
    "resize_vm_disk": ("pve.config.vm_disk", False, False, True),
    "remove_vm_disk": ("pve.config.vm_disk", False, True, True),
    "add_vm_network": ("pve.config.vm_nic", False, False, False),
    "remove_vm_network": ("pve.config.vm_nic", False, True, True),
    "add_container_network": ("pve.config.container_nic", False, False, False),
    "remove_container_network": ("pve.config.container_nic", False, True, True),
    "add_container_mountpoint": ("pve.config.container_mountpoint", False, False, False),
    "resize_container_disk": ("pve.config.container_mountpoint", False, False, True),
    "remove_container_mountpoint": ("pve.config.container_mountpoint", False, True, True),
    "plan_guest_config": ("pve.config.guest_config", True, False, True),  # check mode only: writes nothing
    "apply_guest_config": ("pve.config.guest_config", False, True, True),  # a second apply: refused by the digest
    "get_guest_config": ("pve.config.guest_info", True, False, True),
    "plan_fleet_config": ("pve.config.fleet_config", True, False, True),  # check mode only: writes nothing
    "apply_fleet_config": ("pve.config.fleet_config", False, True, True),  # again: every guest refused by its digest
}


def test_table_matches_the_issue():
    assert {spec.name: (spec.fqcn, *_hints(spec)) for spec in TOOLS} == EXPECTED


def _hints(spec):
    a = spec.annotations
    return a.read_only_hint, a.destructive_hint, a.idempotent_hint


def test_no_tool_is_open_world_and_only_info_and_plan_are_read_only():
    assert all(spec.annotations.open_world_hint is False for spec in TOOLS)
    assert [spec.name for spec in TOOLS if spec.read_only] == [
        "plan_guest_config",
        "get_guest_config",
        "plan_fleet_config",
    ]


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_schema_is_closed_and_changing_tools_take_dry_run(spec):
    schema = spec.args.model_json_schema()
    assert schema["additionalProperties"] is False
    if spec.mode in ("apply", "fleet_apply"):  # the guests are the plan's
        assert schema["required"] == ["plan_id"] and "vmid" not in schema["properties"]
    elif spec.mode == "fleet_plan":  # the guests: select or guests entries
        assert "required" not in schema and {"select", "guests"} <= set(schema["properties"])
    else:
        assert schema["required"][0] == "vmid"
        assert schema["properties"]["vmid"]["minimum"] == 100
    assert ("dry_run" in schema["properties"]) is (spec.mode == "run" and not spec.read_only)
    for name, prop in schema["properties"].items():
        assert prop.get("description") or any(v.get("description") for v in prop.get("anyOf", [])), name


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_every_string_field_publishes_the_template_guard(spec):
    for name, prop in spec.args.model_json_schema()["properties"].items():
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") == "string" and "enum" not in variant:
                assert variant["not"] == {"pattern": r"\{[{%#]"}, name


@pytest.mark.parametrize(("tool", "field"), [(spec.name, f) for spec in TOOLS for f in string_fields(spec)], ids=str)
@pytest.mark.parametrize("payload", [INJECTION, "{% if 1 %}x{% endif %}", "{# c #}", "vmbr0{{x}}"])
def test_template_markers_are_rejected_in_every_string_field(tool, field, payload):
    with pytest.raises(ValidationError) as err:
        TOOLS_BY_NAME[tool].args.model_validate({**VALID[tool], field: payload})
    assert any(e["loc"][0] == field for e in err.value.errors())


def test_guard_helpers():
    assert find_template_marker("a { b } %} #}") is None
    assert find_template_marker("x{#y") == "{#"
    assert reject_template("vm-{1}") == "vm-{1}"
    with pytest.raises(ValueError, match="template marker"):
        reject_template("{{ 7*6 }}")


@pytest.mark.parametrize("tool", list(VALID))
def test_valid_calls_validate(tool):
    TOOLS_BY_NAME[tool].args.model_validate(VALID[tool])


@pytest.mark.parametrize(
    ("tool", "bad"),
    [
        ("update_vm_resources", {"memory": None}),  # no option at all
        ("update_vm_resources", {"memory": 8}),  # below 16 MiB
        ("update_vm_resources", {"memory": "4 GB"}),
        ("update_vm_resources", {"cpulimit": 129}),
        ("update_vm_resources", {"cpuunits": 0}),
        ("update_vm_resources", {"cores": 0}),
        ("update_vm_resources", {"cpu": "host,flags=+aes"}),
        ("update_vm_resources", {"vmid": 99}),
        ("update_vm_resources", {"vmid": "abc"}),
        ("update_vm_resources", {"api_token_secret": "x"}),  # credentials are never tool arguments
        ("update_container_resources", {"swap": -1}),
        ("add_vm_disk", {"size": "0G"}),
        ("add_vm_disk", {"size": "32GB"}),
        ("add_vm_disk", {"size": -5}),
        ("add_vm_disk", {"type": "nvme"}),
        ("add_vm_disk", {"disk_id": "scsi31"}),
        ("add_vm_disk", {"disk_id": "virtio1", "type": "scsi"}),
        ("add_vm_disk", {"storage": "local lvm"}),
        ("add_vm_disk", {"cache": "fast"}),
        ("resize_vm_disk", {"disk_id": "net0"}),
        ("remove_vm_disk", {"disk_id": "scsi1;rm -rf /"}),
        ("add_container_mountpoint", {"mountpoint_id": "mp256"}),
        ("add_container_mountpoint", {"path": "srv/data"}),  # not absolute
        ("add_container_mountpoint", {"path": "/srv,backup=1"}),  # a smuggled sub-key
        ("add_container_mountpoint", {"volume": "/srv/media"}),  # no bind mounts through the bridge
        ("add_container_mountpoint", {"size": "0G"}),
        ("resize_container_disk", {"disk_id": "scsi0"}),
        ("resize_container_disk", {"disk_id": "unused0"}),
        ("remove_container_mountpoint", {"mountpoint_id": "rootfs"}),
        ("add_vm_network", {"model": "virtio2"}),
        ("add_vm_network", {"tag": 4095}),
        ("add_vm_network", {"macaddr": "BC:24:11"}),
        ("add_vm_network", {"interface_id": "net32"}),
        ("add_vm_network", {"trunks": "10;abc"}),
        ("remove_vm_network", {"interface_id": "eth0"}),
        ("add_container_network", {"ip": "10.0.0.5"}),  # no prefix length
        ("add_container_network", {"name": "eth 0"}),
        ("add_container_network", {"mtu": 63}),
        ("get_guest_config", {"dry_run": True}),  # read-only tool: no dry_run
        ("plan_guest_config", {"config": {}}),  # nothing to plan
        ("plan_guest_config", {"config": {"Memory": 1}}),  # config keys are lower case
        ("plan_guest_config", {"config": {"net0": {"tag": {"x": 1}}}}),  # sub-key values are scalars
        ("plan_guest_config", {"config": {"cipassword": "s3cret"}}),  # never a secret in a plan
        ("plan_guest_config", {"config": {"password": "s3cret"}}),
        ("plan_guest_config", {"config": {"description": "{{ lookup('pipe', 'id') }}"}}),
        ("plan_guest_config", {"config": {"net0": {"bridge": "{% raw %}"}}}),
        ("plan_guest_config", {"config": {"tags": ["{# c #}"]}}),
        ("plan_guest_config", {"absent": ["scsi1;rm"]}),
        ("plan_guest_config", {"purge": 1}),
        ("plan_guest_config", {"dry_run": True}),  # a plan never writes
        ("apply_guest_config", {"plan_id": "plan-1"}),
        ("apply_guest_config", {"vmid": 100}),  # the guest comes from the plan
        ("apply_guest_config", {"confirm": "yes"}),
        # Strict types (issue 9.8): a JSON boolean is no integer, a string no number or boolean.
        ("update_vm_resources", {"cores": True}),
        ("update_vm_resources", {"sockets": False}),
        ("update_vm_resources", {"vmid": True}),
        ("update_vm_resources", {"cpulimit": True}),
        ("update_vm_resources", {"cores": "4"}),
        ("update_vm_resources", {"memory": 512.0}),
        ("add_vm_disk", {"size": True}),
        ("add_vm_disk", {"discard": 1}),
        ("remove_vm_disk", {"delete_volume": "true"}),
        ("add_vm_network", {"tag": True}),
        ("add_vm_network", {"dry_run": "false"}),
        # Size strings must be whole MiB within the option's range (they are converted, issue 9.9).
        ("update_vm_resources", {"memory": "8M"}),
        ("update_vm_resources", {"balloon": "1536K"}),
        ("update_container_resources", {"memory": "15M"}),
    ],
)
def test_bad_input_is_rejected(tool, bad):
    with pytest.raises(ValidationError):
        TOOLS_BY_NAME[tool].args.model_validate({**VALID[tool], **bad})


@pytest.mark.parametrize(
    ("tool", "args", "module_args"),
    [
        (
            "update_vm_resources",
            {"vmid": 100, "memory": "4G", "cores": 2, "dry_run": True},
            {"vmid": 100, "memory": 4096, "cores": 2},
        ),
        (  # every documented size string becomes the MiB integer the module takes (issue 9.9)
            "update_vm_resources",
            {"vmid": 100, "balloon": "8G", "memory": "1T"},
            {"vmid": 100, "balloon": 8192, "memory": 1048576},
        ),
        ("update_vm_resources", {"vmid": 100, "balloon": "2048K"}, {"vmid": 100, "balloon": 2}),
        (
            "update_container_resources",
            {"vmid": 200, "memory": "512M", "swap": "1G"},
            {"vmid": 200, "memory": 512, "swap": 1024},
        ),
        (
            "add_vm_disk",
            {"vmid": 100, "storage": "local-lvm", "size": 32, "type": "virtio", "ssd": False},
            {
                "vmid": 100,
                "storage": "local-lvm",
                "size": 32,
                "bus": "virtio",
                "ssd": False,
                "state": "present",
                "if_exists": "fail",
            },
        ),
        (
            "add_vm_disk",
            {"vmid": 100, "storage": "local-lvm", "size": "1T", "disk_id": "sata2"},
            {
                "vmid": 100,
                "storage": "local-lvm",
                "size": "1T",
                "disk": "sata2",
                "state": "present",
                "if_exists": "fail",
            },
        ),
        (
            "resize_vm_disk",
            {"vmid": 100, "disk_id": "scsi0", "size": "64G"},
            {"vmid": 100, "disk": "scsi0", "size": "64G", "state": "present"},
        ),
        (
            "remove_vm_disk",
            {"vmid": 100, "disk_id": "scsi1", "delete_volume": True, "confirm": True},
            {"vmid": 100, "disk": "scsi1", "purge": True, "state": "absent"},
        ),
        (
            "add_vm_network",
            {"vmid": 100, "tag": 20},
            {"vmid": 100, "bridge": "vmbr0", "model": "virtio", "tag": 20, "state": "present", "if_exists": "fail"},
        ),
        (
            "remove_vm_network",
            {"vmid": 100, "interface_id": "net2"},
            {"vmid": 100, "interface": "net2", "state": "absent"},
        ),
        (
            "add_container_network",
            {"vmid": 200, "ip": "10.1.2.3/24", "gw": "10.1.2.1"},
            {
                "vmid": 200,
                "bridge": "vmbr0",
                "ip": "10.1.2.3/24",
                "gw": "10.1.2.1",
                "state": "present",
                "if_exists": "fail",
            },
        ),
        (
            "add_container_mountpoint",
            {"vmid": 200, "storage": "local-lvm", "size": "8G", "path": "/srv/data", "backup": True},
            {
                "vmid": 200,
                "storage": "local-lvm",
                "size": "8G",
                "path": "/srv/data",
                "backup": True,
                "state": "present",
                "if_exists": "fail",
            },
        ),
        (
            "add_container_mountpoint",
            {"vmid": 200, "storage": "local-lvm", "size": 2, "path": "/x", "mountpoint_id": "mp3"},
            {
                "vmid": 200,
                "storage": "local-lvm",
                "size": 2,
                "path": "/x",
                "mountpoint": "mp3",
                "state": "present",
                "if_exists": "fail",
            },
        ),
        (
            "resize_container_disk",
            {"vmid": 200, "disk_id": "rootfs", "size": "16G"},
            {"vmid": 200, "mountpoint": "rootfs", "size": "16G", "state": "present"},
        ),
        (
            "remove_container_mountpoint",
            {"vmid": 200, "mountpoint_id": "mp0", "delete_volume": True, "confirm": True},
            {"vmid": 200, "mountpoint": "mp0", "purge": True, "state": "absent"},
        ),
        ("get_guest_config", {"vmid": 100}, {"vmid": 100}),
        (  # a sub-key set to null (removed) reaches the module as null
            "plan_guest_config",
            {"vmid": 100, "config": {"net0": {"tag": None, "firewall": True}, "tags": ["a"]}, "absent": ["ide2"]},
            {
                "vmid": 100,
                "config": {"net0": {"tag": None, "firewall": True}, "tags": ["a"]},
                "absent": ["ide2"],
                "purge": False,
            },
        ),
    ],
)
def test_to_module_args(tool, args, module_args):
    spec = TOOLS_BY_NAME[tool]
    assert spec.to_module_args(spec.args.model_validate(args)) == module_args


def test_summary_is_one_line_and_marks_dry_runs():
    spec = TOOLS_BY_NAME["update_vm_resources"]
    line = summarize(spec, {"vmid": 100, "guest_type": "qemu", "msg": "set memory of VM 100\n(reboot)"}, dry_run=True)
    assert line == "[dry run, nothing written] set memory of VM 100 (reboot)"
    assert summarize(spec, {"vmid": 7, "guest_type": "lxc", "changed": False}, dry_run=False) == "CT 7: no change"
    info = TOOLS_BY_NAME["get_guest_config"]
    assert summarize(
        info, {"vmid": 100, "guest_type": "qemu", "name": "web01", "status": "running"}, dry_run=False
    ) == ("VM 100: web01 running")


V2_NOTE = "cpuunits 20000 is stored as 10000: node pve1 uses cgroup v2, where Proxmox clamps cpuunits to at most 10000"


@pytest.mark.parametrize(
    "warnings",
    [[V2_NOTE], [{"msg": V2_NOTE}], [{"event": {"msg": V2_NOTE}}]],
    ids=["string", "summary", "event"],
)
def test_warnings_and_normalised_reach_the_result_and_the_summary_once(warnings):
    """Issue 13.8: a clamped value is warned about "in the bridge's result"; each note once in the summary."""
    spec = TOOLS_BY_NAME["update_vm_resources"]
    module_result = {
        "changed": True,
        "vmid": 100,
        "msg": "set cpuunits of QEMU VM 100 on pve1",
        "normalised": [V2_NOTE],
        "warnings": warnings,
    }
    result = to_call_result(spec, module_result, dry_run=False)
    data = result.structured_content
    assert data["warnings"] == [V2_NOTE] and data["normalised"] == [V2_NOTE]
    assert data["summary"] == f"set cpuunits of QEMU VM 100 on pve1 [warning: {V2_NOTE}]"
    assert result.content[0].text == data["summary"]
    schema = spec.result.model_json_schema()["properties"]
    assert schema["warnings"]["items"] == {"type": "string"} and schema["normalised"]["items"] == {"type": "string"}


def test_disk_results_keep_volume_size_rounded_and_unused():
    spec = TOOLS_BY_NAME["remove_vm_disk"]
    module_result = {
        "changed": False,
        "vmid": 100,
        "disk": "scsi3",
        "msg": "scsi3 of QEMU VM 100 on pve1 is empty; unused volumes: unused0 (local-lvm:vm-100-disk-3)",
        "unused": {"unused0": "local-lvm:vm-100-disk-3"},
    }
    data = to_call_result(spec, module_result, dry_run=True).structured_content
    assert data["unused"] == {"unused0": "local-lvm:vm-100-disk-3"} and data["warnings"] == []
    grown = {
        "changed": False,
        "vmid": 100,
        "guest_type": "qemu",
        "disk": "scsi0",
        "volume": "local-lvm:vm-100-disk-0",
        "size": "32G",
    }
    data = to_call_result(TOOLS_BY_NAME["resize_vm_disk"], dict(grown, size_rounded=True), dry_run=False)
    assert data.structured_content["size_rounded"] is True
    assert data.structured_content["volume"] == "local-lvm:vm-100-disk-0"
    assert data.structured_content["summary"] == (
        "VM 100: no change [size rounded: the disk is 32G, larger than asked only by rounding]"
    )
    plain = to_call_result(TOOLS_BY_NAME["resize_vm_disk"], grown, dry_run=False).structured_content
    assert plain["size_rounded"] is None and plain["summary"] == "VM 100: no change"
    failed_destroy = dict(grown, unused="unused0")  # the unusedN a volume was left as
    assert to_call_result(spec, failed_destroy, dry_run=False).structured_content["unused"] == "unused0"
