"""Every module in plugins/modules renders with ansible-doc, states check/diff support, and documents exactly
its argument spec (names, types, defaults, choices, required, aliases, elements)."""

import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from collection_path import REPO, collection_root

from ansible_collections.pve.config.plugins.module_utils.apply import GUEST_ARGSPEC
from ansible_collections.pve.config.plugins.module_utils.client import AUTH_ARGSPEC

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")
if not ANSIBLE_DOC.exists():
    ANSIBLE_DOC = Path(shutil.which("ansible-doc") or "ansible-doc")


@pytest.fixture(scope="module")
def docs():
    """All modules in one ansible-doc run: {module: doc}."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_root()), ANSIBLE_NOCOLOR="1")
    names = [f"pve.config.{m}" for m in MODULES]
    proc = subprocess.run(
        [str(ANSIBLE_DOC), "--json", *names], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    missing = [n for n in names if n not in data]
    assert not missing, f"ansible-doc did not render {missing}: {proc.stderr}"
    return {name.split(".")[-1]: entry["doc"] for name, entry in data.items()}


class _Captured(Exception):
    pass


def argument_spec(module_name):
    """The argument spec the module really builds: main() runs until AnsibleModule() is called, then stops."""
    module = importlib.import_module(f"ansible_collections.pve.config.plugins.modules.{module_name}")
    captured = {}

    def capture(self, argument_spec, **kwargs):
        captured.update(argument_spec)
        raise _Captured()

    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        with patch_module_args({}), contextlib.suppress(_Captured):
            module.main()
    finally:
        basic.AnsibleModule.__init__ = original
    assert captured, f"{module_name}.main() did not build an AnsibleModule"
    return captured


def test_every_module_file_is_checked():
    assert {"vm_resources", "container_resources", "guest_info"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_attributes(docs, module):
    attributes = docs[module].get("attributes", {})
    for name in ("check_mode", "diff_mode"):
        assert name in attributes, f"{module} does not document the {name} attribute"
        assert attributes[name]["support"] in ("full", "partial", "none", "N/A")
    if attributes["check_mode"]["support"] == "partial" or attributes["diff_mode"]["support"] == "partial":
        assert attributes["check_mode"].get("details") or attributes["diff_mode"].get("details")


@pytest.mark.parametrize("module", MODULES)
def test_short_description_examples_and_return(docs, module):
    assert docs[module].get("short_description")
    mod = importlib.import_module(f"ansible_collections.pve.config.plugins.modules.{module}")
    assert mod.EXAMPLES.strip() and f"pve.config.{module}" in mod.EXAMPLES
    assert mod.RETURN.strip()


@pytest.mark.parametrize("module", MODULES)
def test_documented_options_match_the_argument_spec(docs, module):
    spec = argument_spec(module)
    documented = docs[module].get("options", {})
    assert set(AUTH_ARGSPEC) <= set(spec), f"{module} lacks connection options"
    mod = importlib.import_module(f"ansible_collections.pve.config.plugins.modules.{module}")
    if hasattr(mod, "OPTIONS"):  # a module's own options table is what it passes on
        assert set(mod.OPTIONS) <= set(spec)
    if "lock_timeout" in spec and "select" not in spec:  # changing modules take the whole guest selection
        # (apply.GUEST_ARGSPEC); fleet_config chooses its guests with select/guests instead
        assert set(GUEST_ARGSPEC) <= set(spec)
    assert sorted(set(spec) - set(documented)) == [], "options in the argument spec but not documented"
    assert sorted(set(documented) - set(spec)) == [], "options documented but not in the argument spec"
    problems = []
    for name, arg in spec.items():
        doc = documented[name]
        pairs = [
            ("type", arg.get("type", "str"), doc.get("type", "str")),
            ("default", arg.get("default"), doc.get("default")),
            ("choices", _sorted(arg.get("choices")), _sorted(doc.get("choices"))),
            ("required", bool(arg.get("required")), bool(doc.get("required"))),
            ("aliases", sorted(arg.get("aliases") or []), sorted(doc.get("aliases") or [])),
            ("elements", arg.get("elements"), doc.get("elements")),
        ]
        for what, in_spec, in_doc in pairs:
            if in_spec != in_doc:
                problems.append(f"{name}.{what}: argument spec says {in_spec!r}, documentation says {in_doc!r}")
        if not doc.get("description"):
            problems.append(f"{name} has no description")
    assert problems == []


def _sorted(choices):
    return None if choices is None else sorted(choices, key=str)


@pytest.mark.parametrize("module", MODULES)
def test_secrets_are_no_log(module):
    spec = argument_spec(module)
    for name in ("api_password", "api_token_secret"):
        assert spec[name].get("no_log") is True
