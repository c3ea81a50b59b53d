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
