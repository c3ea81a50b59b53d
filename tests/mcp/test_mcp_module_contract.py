"""The tool table agrees with the real modules' documentation (ansible-doc): options, choices, return keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from mcp_bridge.collection import collections_root
from mcp_bridge.fleet_plan import apply_args
from mcp_bridge.fleet_tools import FleetGuest
from mcp_bridge.plans import PlanSigner
from mcp_bridge.tools import TOOLS, ChangeResult

# changed and warnings: Ansible's common return keys (every module's result may carry them; no RETURN lists them).
# plan_id, expires_at, destroys: what the bridge adds to a plan (plans.py).
BRIDGE_ONLY_RESULT_KEYS = {"summary", "dry_run", "changed", "warnings", "plan_id", "expires_at", "destroys"}
# The options apply_guest_config sends: those of a verified plan (its only arguments are plan_id and confirm).
PLAN_OPTIONS = (
    PlanSigner(None, 60)
    .sign(vmid=100, guest_type="qemu", config={}, absent=[], destroys=["scsi1"], digest="0" * 40)[1]
    .module_args()
)


@pytest.fixture(scope="module")
def docs() -> dict[str, dict]:
    modules = sorted({spec.fqcn for spec in TOOLS})
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections_root())}
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    out = subprocess.run(
        [str(ansible_doc), "--json", *modules], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return json.loads(out)


def literal_choices(annotation) -> list[str] | None:
    for arg in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(arg) is typing.Literal:
            return list(typing.get_args(arg))
    return None


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_every_module_option_the_tool_sends_exists_with_the_same_choices(spec, docs):
    options = docs[spec.fqcn]["doc"]["options"]
    if spec.mode == "fleet_apply":
        sent = apply_args({"changes": [{"config": {}, "absent": []}], "guests": [[100, "0" * 40, 0]], "purge": True,
                           "parallel": 10, "per_node": 4})  # fmt: skip
        assert set(sent) <= set(options)
        assert set(sent["guests"][0]) <= set(options["guests"]["suboptions"])
        return
    if spec.mode == "apply":
        assert set(PLAN_OPTIONS) <= set(options)
        assert PLAN_OPTIONS["type"] in options["type"]["choices"]
        return
    for name, field in spec.args.model_fields.items():
        if name in ("dry_run", "confirm"):
            continue
        option = spec.renames.get(name, name)
        assert option in options, f"{spec.name}.{name} -> {spec.fqcn} has no option {option}"
        choices = literal_choices(field.annotation)
        if choices is not None:
            assert sorted(choices) == sorted(options[option]["choices"]), (spec.name, name)
    for option, value in spec.fixed.items():
        assert value in options[option]["choices"]


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_result_fields_are_module_return_keys(spec, docs):
    """A tool's own result fields are documented return keys of its module (the shared ones: see below)."""
    if spec.module == "fleet_config":  # the bridge's own totals/plan around the module's per-guest results
        per_guest = set(FleetGuest.model_fields) - BRIDGE_ONLY_RESULT_KEYS
        assert per_guest <= set(docs[spec.fqcn]["return"]["guests"]["contains"])
        return
    own = set(spec.result.model_fields) - set(ChangeResult.model_fields) - BRIDGE_ONLY_RESULT_KEYS
    assert own <= set(docs[spec.fqcn]["return"])


def test_shared_result_fields_are_return_keys_of_the_changing_modules(docs):
    returned = set().union(*(docs[spec.fqcn]["return"] for spec in TOOLS if not spec.read_only))
    assert set(ChangeResult.model_fields) - BRIDGE_ONLY_RESULT_KEYS <= returned


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_the_tool_sends_no_connection_option(spec):
    sent = {spec.renames.get(n, n) for n in spec.args.model_fields} | set(spec.fixed)
    assert not {o for o in sent if o.startswith("api_") or o in ("validate_certs", "ca_path")}


# --------------------------------------------------------------------------------- ranges and choices (issue 13.9)

# tool argument -> (table, key) of option_ranges.OPTIONS that the module checks it against (validate.check).
CHECKED = {
    ("update_vm_resources", "memory"): ("qemu", "memory"),
    ("update_vm_resources", "balloon"): ("qemu", "balloon"),
    ("update_vm_resources", "cores"): ("qemu", "cores"),
    ("update_vm_resources", "sockets"): ("qemu", "sockets"),
    ("update_vm_resources", "vcpus"): ("qemu", "vcpus"),
    ("update_vm_resources", "cpulimit"): ("qemu", "cpulimit"),
    ("update_vm_resources", "cpuunits"): ("qemu", "cpuunits"),
    ("update_container_resources", "memory"): ("lxc", "memory"),
    ("update_container_resources", "swap"): ("lxc", "swap"),
    ("update_container_resources", "cores"): ("lxc", "cores"),
    ("update_container_resources", "cpulimit"): ("lxc", "cpulimit"),
    ("update_container_resources", "cpuunits"): ("lxc", "cpuunits"),
    ("add_vm_network", "tag"): ("qemu_net", "tag"),
    ("add_vm_network", "rate"): ("qemu_net", "rate"),
    ("add_vm_network", "mtu"): ("qemu_net", "mtu"),
    ("add_vm_network", "queues"): ("qemu_net", "queues"),
    ("add_vm_network", "model"): ("qemu_net", "model"),
    ("add_container_network", "tag"): ("lxc_net", "tag"),
    ("add_container_network", "rate"): ("lxc_net", "rate"),
    ("add_container_network", "mtu"): ("lxc_net", "mtu"),
    ("add_vm_disk", "cache"): ("qemu_scsi", "cache"),
}
# The drift issue 13.9 found: the bridge and the module disagreed on these.
KNOWN_DRIFT = [
    ("update_vm_resources", "cores", 2000),
    ("update_vm_resources", "sockets", 128),
    ("add_vm_network", "mtu", 100),
]


def probes(spec: dict) -> list:
    """Values at and beyond the edges of an option's range, its `also` values, every choice and a wrong one."""
    if "enum" in spec:
        return [*spec["enum"], "no-such-choice"]
    step = 1 if spec["type"] == "integer" else 0.5
    values = [True, False]
    for edge in ("minimum", "maximum"):
        if edge in spec:
            values += [spec[edge] - step, spec[edge], spec[edge] + step]
    if "maximum" not in spec:
        values.append(10**7)
    for also in spec.get("also", ()):
        values += [also - step, also, also + step]
    return values


def module_accepts(table: str, key: str, value) -> bool:
    from ansible_collections.pve.config.plugins.module_utils import validate
    from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest

    try:
        validate.check(table, key, value)
    except InvalidRequest:
        return False
    return True


def tool_accepts(tool: str, argument: str, value) -> bool:
    from _support import VALID
    from pydantic import ValidationError

    from mcp_bridge.tools import TOOLS_BY_NAME

    try:
        TOOLS_BY_NAME[tool].args.model_validate({**VALID[tool], argument: value})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("tool", "argument"), list(CHECKED), ids="-".join)
def test_the_tool_accepts_exactly_what_the_module_accepts(tool, argument):
    from ansible_collections.pve.config.plugins.module_utils.option_ranges import OPTIONS

    table, key = CHECKED[(tool, argument)]
    spec = OPTIONS[table][key]
    disagree = [v for v in probes(spec) if tool_accepts(tool, argument, v) != module_accepts(table, key, v)]
    assert disagree == [], f"{tool}.{argument} vs {table}.{key} ({spec})"


@pytest.mark.parametrize(("tool", "argument", "value"), KNOWN_DRIFT, ids=str)
def test_the_known_drift_is_gone(tool, argument, value):
    table, key = CHECKED[(tool, argument)]
    assert tool_accepts(tool, argument, value) == module_accepts(table, key, value)


def test_every_tabled_option_of_the_modules_is_checked_here():
    """Every numeric or enum argument of a tool that names a tabled option is in CHECKED (no silent copy)."""
    from mcp_bridge.ranges import OPTIONS

    tables = {"vm_resources": "qemu", "container_resources": "lxc", "vm_nic": "qemu_net", "container_nic": "lxc_net"}
    for spec in TOOLS:
        table = tables.get(spec.module)
        for name in spec.args.model_fields:
            option = spec.renames.get(name, name)
            tabled = table is not None and option in OPTIONS[table]
            if tabled and (OPTIONS[table][option]["type"] in ("integer", "number") or "enum" in OPTIONS[table][option]):
                assert (spec.name, name) in CHECKED, (spec.name, name)


def test_the_schemas_come_from_the_collections_own_table():
    from mcp_bridge import ranges
    from mcp_bridge.collection import collection_dir

    assert Path(ranges.TABLE.__file__) == collection_dir() / "plugins" / "module_utils" / "option_ranges.py"


def test_a_collections_path_with_another_table_is_refused(tmp_path):
    """The schemas come from the bridge's own collection; a configured collection whose option_ranges.py differs
    (another version of pve.config) would check other ranges, so the bridge does not start with it."""
    import shutil

    from mcp_bridge import ranges
    from mcp_bridge.config import load
    from mcp_bridge.server import Bridge

    utils = tmp_path / "ansible_collections" / "pve" / "config" / "plugins" / "module_utils"
    utils.mkdir(parents=True)
    shutil.copy(collections_root() / "ansible_collections/pve/config/galaxy.yml", utils.parents[1] / "galaxy.yml")
    table = Path(ranges.TABLE.__file__).read_text()
    (utils / "option_ranges.py").write_text(table)
    settings = {"bridge": {"collections_path": str(tmp_path), "audit_log": "off"}}
    Bridge(load(None, environ={}, overrides=settings))  # the same table: fine
    (utils / "option_ranges.py").write_text(table.replace('"maximum": 4094', '"maximum": 4000'))
    with pytest.raises(ValueError, match="differs from"):
        Bridge(load(None, environ={}, overrides=settings))
