"""The generated tables (schema_formats.py, option_ranges.py) are what tools/ makes from the API schema today."""

import subprocess
import sys
from pathlib import Path

import pytest
from collection_path import REPO

SCHEMA = REPO.parent.parent / "shared" / "pve-api" / "apidoc.json"
if not SCHEMA.exists():
    SCHEMA = Path("/work/shared/pve-api/apidoc.json")
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.skipif(not SCHEMA.exists() or not RUFF.exists(), reason="needs ../shared/pve-api/apidoc.json and ruff")
@pytest.mark.parametrize("table", ["schema_formats", "option_ranges"])
def test_generated_table_is_up_to_date(table):
    generated = subprocess.run(
        [sys.executable, str(REPO / "tools" / f"gen_{table}.py"), str(SCHEMA)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    formatted = subprocess.run(
        [str(RUFF), "format", "--config", str(REPO / "pyproject.toml"), "-"],
        input=generated,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert formatted == (REPO / "plugins" / "module_utils" / f"{table}.py").read_text()


def test_typetext_formats_of_named_formats():
    """The sub-keys of the named formats the dump does not expand, read from their typetext (tools/pve_schema.py)."""
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from pve_schema import typetext_format
    finally:
        sys.path.remove(str(REPO / "tools"))
    assert typetext_format("[[legacy=]<[acdn]{1,4}>] [,order=<device[;device...]>]") == {
        "legacy": {"type": "string", "default_key": 1},
        "order": {"type": "string"},
    }
    assert typetext_format(r"[[order=]\d+] [,up=\d+] [,down=\d+] ") == {
        "order": {"type": "integer", "default_key": 1},
        "up": {"type": "integer"},
        "down": {"type": "integer"},
    }
    assert typetext_format("[[model=]<i6300esb|ib700>] [,action=<enum>]") == {
        "model": {"type": "string", "enum": ["i6300esb", "ib700"], "default_key": 1},
        "action": {"type": "string"},
    }
    assert typetext_format("[type=]<tdx-type> ,attestation=<1|0> [,vsock-cid=<integer>]") == {
        "type": {"type": "string", "default_key": 1},
        "attestation": {"type": "boolean"},
        "vsock-cid": {"type": "integer"},
    }
    assert typetext_format("<string>") == {}
