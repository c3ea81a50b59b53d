"""Shared argument types for the tool schemas.

Every string a client can send goes through `SafeStr`: ansible templates ad-hoc module arguments, so a
value containing a Jinja marker (``{{``, ``{%``, ``{#``) is refused here, before anything runs. The runner
additionally hands every string to ansible marked unsafe (see `runner.encode_module_args`), so a value that
slipped past this check would still reach the module literally.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

TEMPLATE_MARKERS = ("{{", "{%", "{#")
_TEMPLATE_RE = re.compile(r"\{[{%#]")


def find_template_marker(value: str) -> str | None:
    """The first Jinja marker in `value`, or None."""
    match = _TEMPLATE_RE.search(value)
    return match.group(0) if match else None


def reject_template(value: str) -> str:
    marker = find_template_marker(value)
    if marker is not None:
        raise ValueError(f"must not contain the template marker {marker!r}; values are passed to the module literally")
    return value


class _NoTemplateInSchema:
    """Publishes the guard in the JSON schema (`not: {pattern: ...}`) so clients reject such values too."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["not"] = {"pattern": _TEMPLATE_RE.pattern}
        return json_schema


_GUARD = (AfterValidator(reject_template), _NoTemplateInSchema())

SafeStr = Annotated[str, *_GUARD]
"""The one string type of every tool argument."""


def safe_str(pattern: str, description: str | None = None) -> Any:
    """A `SafeStr` that must also match `pattern` (the pattern is applied first, so it shows in the schema)."""
    return Annotated[str, StringConstraints(pattern=pattern), *_GUARD, Field(description=description)]


VMID = Annotated[int, Field(ge=100, le=999_999_999, description="Proxmox guest ID (VMID), e.g. 100.")]

SIZE_PATTERN = r"^[1-9][0-9]{0,9}[KMGT]$"
Size = Annotated[
    Annotated[int, Field(ge=1, le=1_048_576)] | safe_str(SIZE_PATTERN),
    Field(description="Disk size: a string such as '32G', '512M', '1T', '1024K', or a number of GiB (32)."),
]


_KIB = {"K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}


def mebibytes_of(size: str) -> int:
    """'4G' -> 4096: a SIZE_PATTERN string as whole MiB (the unit Proxmox stores memory, balloon and swap in)."""
    kib = int(size[:-1]) * _KIB[size[-1]]
    if kib % 1024:
        raise ValueError(f"{size} is not a whole number of MiB")
    return kib // 1024


def mebibytes(minimum: int, description: str) -> Any:
    """Memory in MiB: an integer, or a size string such as '4G' / '512M' that is converted to MiB here, so the
    module always gets the integer it takes (issue 9.9: balloon '8G' passed the schema and failed in the module)."""

    def to_mebibytes(size: str) -> int:
        mib = mebibytes_of(size)
        if mib < minimum:
            raise ValueError(f"{size} is {mib} MiB, less than the minimum of {minimum} MiB")
        return mib

    size_string = Annotated[str, StringConstraints(pattern=SIZE_PATTERN), *_GUARD, AfterValidator(to_mebibytes)]
    return Annotated[
        Annotated[int, Field(ge=minimum)] | size_string,
        Field(description=f"{description} MiB as an integer, or a size string such as '4G' or '512M'."),
    ]


BRIDGE = safe_str(r"^[A-Za-z][A-Za-z0-9_.-]{0,15}$", "Host bridge to attach to, e.g. 'vmbr0'.")
MAC = safe_str(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$", "MAC address XX:XX:XX:XX:XX:XX.")
STORAGE = safe_str(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$", "Storage ID that holds the volume, e.g. 'local-lvm'.")
