"""validate.check against the one table of ranges and choices (option_ranges), and its one wording."""

import ast
import math

import pytest

from ansible_collections.pve.config.plugins.module_utils import validate
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import OPTIONS, SLOTS


@pytest.mark.parametrize(
    "table, key, value",
    [
        ("qemu_net", "tag", 1),
        ("qemu_net", "tag", 4094),
        ("qemu_net", "rate", 0.0),
        ("qemu_net", "mtu", 1),
        ("qemu_net", "mtu", 576),
        ("qemu_net", "mtu", 65520),
        ("qemu_net", "queues", 64),
        ("lxc_net", "mtu", 64),
        ("lxc_net", "mtu", 65535),
        ("qemu", "cores", 2000),  # the schema (qemu-server QemuServer.pm $confdesc) has no maximum
        ("qemu", "sockets", 128),
        ("qemu_net", "model", "e1000e"),
        ("qemu_scsi", "cache", "writeback"),
        ("qemu_cpu", "guest-phys-bits", 40),
        ("qemu_net", "bridge", "vmbr0"),
        ("lxc_net", "name", "eth0.100"),
        ("qemu_net", "trunks", "10;20-30"),
    ],
)
def test_allowed_values_pass_unchanged(table, key, value):
    assert validate.check(table, key, value) == value


@pytest.mark.parametrize(
    "table, key, value, message",
    [
        ("qemu_net", "tag", 0, "tag must be 1 to 4094, got 0"),
        ("qemu_net", "tag", 4095, "tag must be 1 to 4094, got 4095"),
        ("qemu_net", "rate", -0.5, "rate must be at least 0, got -0.5"),
        ("lxc_net", "rate", -1.0, "rate must be at least 0, got -1"),
        ("qemu_net", "mtu", 100, "mtu must be 1 or 576 to 65520, got 100"),
        ("qemu_net", "mtu", 65521, "mtu must be 1 or 576 to 65520, got 65521"),
        ("lxc_net", "mtu", 63, "mtu must be 64 to 65535, got 63"),
        ("qemu", "cpulimit", 129.0, "cpulimit must be 0 to 128, got 129"),
        ("qemu", "cores", 0, "cores must be at least 1, got 0"),
        ("qemu_net", "model", "virtio2", "model must be one of e1000, "),
        ("qemu_net", "tag", True, "tag must be an integer, got the boolean true"),
        ("qemu", "cores", False, "cores must be an integer, got the boolean false"),
        ("qemu", "cpulimit", True, "cpulimit must be a number, got the boolean true"),
        ("qemu", "cpulimit", math.nan, "cpulimit must be a number, got nan"),
        ("qemu_net", "rate", math.inf, "rate must be a number, got inf"),
        ("qemu", "cores", "4", "cores must be an integer, got '4'"),
        # patterns are ASCII: look-alike characters fail (issue 9.11)
        ("qemu_net", "bridge", "vmbr\uff10", "bridge must look like vmbr0 (ASCII letters, digits, - _ .), got "),
        ("lxc_net", "bridge", "vmbr\u0430", "bridge must look like vmbr0"),
        ("lxc_net", "name", "eth\u0661", "name must look like eth1"),
        ("lxc_net", "trunks", "10;\u0662\u0660", "trunks must look like 10;20;30 or 100-110"),
        ("qemu_net", "bridge", "vmbr0\n", "bridge must look like vmbr0"),
        ("qemu_cpu", "hv-vendor-id", "pve\u00e9", "hv-vendor-id must look like the pattern [a-zA-Z0-9]{1,12}"),
    ],
)
def test_refusals_share_one_wording(table, key, value, message):
    with pytest.raises(InvalidRequest) as exc:
        validate.check(table, key, value)
    assert exc.value.msg.startswith(message) and "nothing was changed" not in exc.value.msg  # outcome.tell says it


def test_name_overrides_the_key_in_messages():
    with pytest.raises(InvalidRequest, match=r"^net0 tag must be 1 to 4094, got 0"):
        validate.check("qemu_net", "tag", 0, name="net0 tag")


def test_choices_and_words_come_from_the_schema():
    assert validate.choices("qemu_net", "model")[-2:] == ["virtio", "vmxnet3"]
    assert validate.choices("qemu_scsi", "cache") == ["none", "writethrough", "writeback", "unsafe", "directsync"]
    assert validate.allowed("qemu", "cpuunits") == "1 to 262144"
    assert validate.allowed("lxc", "cpuunits") == "0 to 500000"
    assert validate.allowed("qemu_net", "bridge") is None


def test_table_records_the_source_of_rules_beyond_the_schema():
    mtu = OPTIONS["qemu_net"]["mtu"]
    assert (mtu["minimum"], mtu["maximum"], mtu["also"]) == (576, 65520, [1])
    assert "print_netdevice_full" in mtu["source"]
    assert "maximum" not in OPTIONS["qemu"]["cores"] and "maximum" not in OPTIONS["qemu"]["sockets"]
    assert OPTIONS["qemu"]["memory"] == {"default": 512, "format": "qemu_memory", "minimum": 16, "type": "integer"}
    assert SLOTS["qemu"]["net"] == SLOTS["lxc"]["net"] == 32
    assert SLOTS["qemu"]["scsi"] == 31


def test_option_ranges_is_pure_data_loadable_by_path():
    """The MCP bridge loads the file by its path, without the collection on sys.path."""
    import importlib.util
    from pathlib import Path

    path = Path(validate.__file__).with_name("option_ranges.py")
    spec = importlib.util.spec_from_file_location("option_ranges_by_path", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OPTIONS == OPTIONS
    tree = ast.parse(path.read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [node.module for node in imports] == ["__future__"]


def test_every_table_pattern_is_ascii():
    """Perl's \\d and \\w are Unicode-aware; the table spells them out so no look-alike character matches."""
    patterns = [spec["pattern"] for table in OPTIONS.values() for spec in table.values() if "pattern" in spec]
    assert patterns and all("\\d" not in p and "\\w" not in p and p.isascii() for p in patterns)
