"""Types, ranges and choices of the tool arguments, from the collection's own table (issue 13.9).

The modules check their options against ``plugins/module_utils/option_ranges.py`` (``validate.check``); the
tool schemas are built from the same file, loaded by its path from the collection the bridge runs (the wheel's
``site-packages/ansible_collections/pve/config`` or the checkout), never from a copy, so a value the schema
accepts is one the module accepts. tests/mcp/test_mcp_module_contract.py probes both at the edges of every
range and with every choice.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal

from pydantic import Field

from .collection import collection_dir


def load_table(path: Path | None = None) -> ModuleType:
    """option_ranges.py as a module of its own (it is pure data: no imports to resolve)."""
    path = path or collection_dir() / "plugins" / "module_utils" / "option_ranges.py"
    spec = importlib.util.spec_from_file_location("pve_config_option_ranges", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    return table


TABLE = load_table()
OPTIONS: dict[str, dict[str, dict[str, Any]]] = TABLE.OPTIONS
SLOTS: dict[str, dict[str, int]] = TABLE.SLOTS


def check_same_table(collections_root: Path) -> None:
    """Refuse a configured collection whose table differs from the one the tool schemas were built from (a
    ``collections_path`` holding another version of pve.config): its modules would check other ranges."""
    other = (
        collections_root / "ansible_collections" / "pve" / "config" / "plugins" / "module_utils" / "option_ranges.py"
    )
    if other.is_file() and other.read_bytes() != Path(TABLE.__file__).read_bytes():
        raise ValueError(
            f"{other} differs from {TABLE.__file__}, which the tool schemas come from: run the bridge that comes "
            "with that collection, or point collections_path at the same version"
        )


def option(table: str, key: str) -> dict[str, Any]:
    return OPTIONS[table][key]


def bounded(kind: type, table: str, key: str, description: str) -> Any:
    """An integer or number argument with the table's range; an ``also`` value (QEMU NIC mtu 1) is a one-value
    range of its own (a Literal would accept ``true`` for 1)."""
    spec = option(table, key)
    ranged = Annotated[kind, Field(ge=spec.get("minimum"), le=spec.get("maximum"))]
    extra = [Annotated[kind, Field(ge=value, le=value)] for value in spec.get("also", ())]
    union = ranged
    for alternative in extra:
        union = alternative | union
    return Annotated[union, Field(description=description)]


def integer(table: str, key: str, description: str) -> Any:
    assert option(table, key)["type"] == "integer", (table, key)
    return bounded(int, table, key, description)


def number(table: str, key: str, description: str) -> Any:
    assert option(table, key)["type"] == "number", (table, key)
    return bounded(float, table, key, description)


def choice(table: str, key: str) -> Any:
    """The table's enum of an option as a Literal type."""
    return Literal[tuple(option(table, key)["enum"])]


def minimum(table: str, key: str) -> int:
    return option(table, key)["minimum"]


def slot_pattern(kind: str, *prefixes: str) -> str:
    """``^(scsi([0-9]|[1-9][0-9])|...)$`` for the slots the table counts (SLOTS[kind][prefix] slots each)."""

    def numbers(count: int) -> str:
        return "|".join(str(n) for n in range(count))

    return "^(" + "|".join(f"{p}({numbers(SLOTS[kind][p])})" for p in prefixes) + ")$"
