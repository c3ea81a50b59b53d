"""The cycle every module goes through, and what it asserts on the counting forwarder's request log (proxy.py).

A step is three tasks in one playbook: ``check <step>`` (check mode, with --diff), ``<step>`` (the change) and
``rerun <step>`` (the same task again). ``assert_step`` checks that

* the check run wrote nothing and predicted exactly the diff the change then made (keys and values; the order
  of sub-keys in a property string aside, see sub_keys),
* the change changed the guest and wrote,
* the re-run is a no-op: ``changed: false``, no write, at most two GETs (design.md, request sequence).

A task's requests are those that arrived while it ran (runner.TaskResult.requests; tasks run one at a time).
With password auth each module run starts with ``POST /access/ticket``: a login, not a write.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from integration.runner import PlaybookRun, TaskResult, as_text

LOGIN = ("POST", "/access/ticket")
MAX_NOOP_GETS = 2
Log = list[dict[str, Any]]
Diff = dict[str, dict[str, Any]]


def plays(*steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One play on localhost with the tasks of ``steps`` in order."""
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [task for step in steps for task in step]}]


def task(name: str, module: str, args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    found = {"name": name, f"pve.config.{module}": dict(args)}
    if check:
        found["check_mode"] = True
    return found


def step(name: str, module: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    """check, change, re-run of one module call."""
    return [
        task(f"check {name}", module, args, check=True),
        task(name, module, args),
        task(f"rerun {name}", module, args),
    ]


def writes(result: TaskResult, log: Log) -> list[tuple[str, str]]:
    return [call for call in result.writes(log) if call != LOGIN]


def gets(result: TaskResult, log: Log) -> list[tuple[str, str]]:
    return [call for call in result.calls(log) if call[0] == "GET"]


def assert_config_writes_are_tasks(result: TaskResult, log: Log) -> None:
    """QEMU writes that touch a drive, ``unusedN`` or ``netN`` go through ``POST .../config`` and its task:
    qemu-server hot-plugs and frees volumes inside the request, which can outlive pveproxy's 30 s (issue 13.3)."""
    synchronous = [call for call in writes(result, log) if call[1].endswith("/config") and call[0] != "POST"]
    assert not synchronous, f"{result.task}: synchronous config writes {synchronous}"


def assert_changed(result: TaskResult, log: Log) -> None:
    assert not result.failed, f"{result.task}: {result.msg}"
    assert result.changed, f"{result.task}: expected a change, got {result.res}"
    assert writes(result, log), f"{result.task}: changed without a write: {result.calls(log)}"


def assert_noop(result: TaskResult, log: Log) -> None:
    assert not result.failed, f"{result.task}: {result.msg}"
    assert not result.changed, f"{result.task}: a re-run changed something: {result.get('diff')} ({result.msg})"
    assert writes(result, log) == [], f"{result.task}: a re-run wrote: {writes(result, log)}"
    assert len(gets(result, log)) <= MAX_NOOP_GETS, f"{result.task}: a no-op sent {gets(result, log)}"


def sub_keys(value: Any) -> Any:
    """A config value as the set of its parts, numbers as text. Proxmox prints sub-keys in its own order (the
    default key, then required keys, then the rest sorted: pve-common PVE::JSONSchema print_property_string) and
    answers ``cores`` as 4 where the request sent "4"; neither is part of the change a prediction must get right."""
    value = as_text(value)
    return tuple(sorted(value.split(","))) if isinstance(value, str) else value


def same_diff(predicted: Diff, real: Diff) -> bool:
    """The same keys change, from and to the same values (sub-keys in any order)."""
    return all(
        {k: sub_keys(v) for k, v in predicted.get(side, {}).items()}
        == {k: sub_keys(v) for k, v in real.get(side, {}).items()}
        for side in ("before", "after")
    ) and set(predicted) == set(real)


def assert_predicted(check: TaskResult, real: TaskResult, log: Log, same: Callable[[Diff, Diff], bool] = same_diff):
    assert not check.failed, f"{check.task}: {check.msg}"
    assert writes(check, log) == [], f"{check.task}: check mode wrote: {writes(check, log)}"
    assert check.changed == real.changed, f"{check.task}: predicted changed={check.changed}, was {real.changed}"
    assert same(check.get("diff"), real.get("diff")), (
        f"{check.task}: predicted diff {check.get('diff')}, the change made {real.get('diff')}"
    )


def assert_step(run: PlaybookRun, log: Log, name: str, same: Callable[[Diff, Diff], bool] = same_diff) -> TaskResult:
    """The step ``name`` went through the cycle; returns the changing task's result."""
    change = run[name]
    assert_changed(change, log)
    assert_predicted(run[f"check {name}"], change, log, same)
    assert_noop(run[f"rerun {name}"], log)
    assert change.get("reboot_required") == bool(change.get("pending")), f"{name}: {change.res}"
    return change


def effective(result: TaskResult) -> dict[str, str]:
    """The resulting config a changing module reports (pending values applied), numbers as text."""
    return {key: str(value) for key, value in result["config"].items()}


# -- disks: the volume id of a new disk and the storage's rounding of sizes cannot be predicted ----------------

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
ALLOCATION = re.compile(r"^(?P<storage>[^:,]+):(?P<gib>\d+(?:\.\d+)?)$")
# how far a storage may round a size up: LVM extents (4 MiB by default, pve-storage LVMPlugin/LvmThinPlugin),
# ZFS volblocksize, RBD objects; a volume group created with larger extents rounds further
ROUNDING_SLACK = 64 * UNITS["M"]


def size_bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", text)
    assert match, f"not a Proxmox size: {text!r}"
    return int(float(match.group(1)) * UNITS.get(match.group(2) or "G"))


def drive(value: str) -> tuple[str, int | None, dict[str, str]]:
    """(storage, size in bytes, other options) of a drive string or of a ``STORAGE:SIZE_GiB`` allocation."""
    head, *rest = value.split(",")
    options = dict(part.split("=", 1) for part in rest)
    allocation = ALLOCATION.match(head)
    if allocation:
        return allocation["storage"], int(float(allocation["gib"]) * UNITS["G"]), options
    size = options.pop("size", None)
    return head.split(":", 1)[0], size_bytes(size) if size else None, options


def same_drive(predicted: str, real: str) -> bool:
    """Same storage and options; the real size is the predicted one, or that rounded up by the storage."""
    p_storage, p_size, p_options = drive(predicted)
    r_storage, r_size, r_options = drive(real)
    if (p_storage, p_options) != (r_storage, r_options):
        return False
    if p_size is None or r_size is None:
        return p_size == r_size
    return 0 <= r_size - p_size < ROUNDING_SLACK


def same_disk_diff(predicted: Diff, real: Diff) -> bool:
    """Diffs of vm_disk: the same keys; drive values compared with same_drive, the others exactly."""
    for side in ("before", "after"):
        p, r = predicted.get(side, {}), real.get(side, {})
        if p.keys() != r.keys():
            return False
        for key in p:
            if p[key] != r[key] and not (isinstance(p[key], str) and same_drive(p[key], r[key])):
                return False
    return True


def mib(value: str | None, default: int) -> int:
    """A VM's memory (``2048`` or, since qemu-server 8.1, ``current=2048,...``) in MiB."""
    if value is None:
        return default
    return int(value.split(",")[0].rsplit("=", 1)[-1])
