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
from mcp_bridge.tools import TOOLS, ChangeResult

BRIDGE_ONLY_RESULT_KEYS = {"summary", "dry_run", "changed"}  # changed: every module returns it


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
    own = set(spec.result.model_fields) - set(ChangeResult.model_fields) - BRIDGE_ONLY_RESULT_KEYS
    assert own <= set(docs[spec.fqcn]["return"])


def test_shared_result_fields_are_return_keys_of_the_changing_modules(docs):
    returned = set().union(*(docs[spec.fqcn]["return"] for spec in TOOLS if not spec.read_only))
    assert set(ChangeResult.model_fields) - BRIDGE_ONLY_RESULT_KEYS <= returned


@pytest.mark.parametrize("spec", TOOLS, ids=lambda s: s.name)
def test_the_tool_sends_no_connection_option(spec):
    sent = {spec.renames.get(n, n) for n in spec.args.model_fields} | set(spec.fixed)
    assert not {o for o in sent if o.startswith("api_") or o in ("validate_certs", "ca_path")}
