"""Tasks: list, status, log (pve-manager ``API2/Tasks.pm``)."""

import re

from ..errors import ParamError
from ..state import split_user
from ..validation import split_list
from . import route

_UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


def _status_type(status):
    if not status:
        return "unknown"
    if status == "OK":
        return "ok"
    if re.match(r"^WARNINGS: \d+$", status):
        return "warning"
    if status == "unexpected status":
        return "unknown"
    return "error"


def _task(ctx, params):
    upid = params["upid"]
    if not _UPID_RE.match(upid):
        raise ParamError({"upid": "unable to parse worker upid"})
    task = ctx.state.tasks.get(upid)
    if task is None or task.node != params["node"]:
        raise ParamError({"upid": "no such task"})
    return task


@route("GET", "/nodes/{node}/tasks/{upid}/status")
def read_task_status(ctx, params):
    return _task(ctx, params).to_status()


@route("GET", "/nodes/{node}/tasks/{upid}/log")
def read_task_log(ctx, params):
    upid = params["upid"]
    if not _UPID_RE.match(upid):
        raise ParamError({"upid": "unable to parse worker upid"})
    task = ctx.state.tasks.get(upid)
    start = int(params.get("start") or 0)
    limit = int(params.get("limit") if params.get("limit") is not None else 50)
    if task is None or task.node != params["node"]:
        ctx.total = 1
        return [{"n": 1, "t": "unable to open file - No such file or directory"}]
    lines = []
    count = 0
    for text in task.log:
        count += 1
        if count <= start:
            continue
        if limit != 0:
            if len(lines) >= limit:
                continue
        lines.append({"n": count, "t": text})
    if not count:
        count = 1
        lines.append({"n": 1, "t": "no content"})
    ctx.total = count
    return lines


@route("GET", "/nodes/{node}/tasks")
def node_tasks(ctx, params):
    node = params["node"]
    start = int(params.get("start") or 0)
    limit = int(params.get("limit") if params.get("limit") is not None else 50)
    source = params.get("source") or "archive"
    errors = params.get("errors") == "1"
    statusfilter = {"ok": True, "warning": True, "error": True, "unknown": True}
    if params.get("statusfilter") is not None and not errors:
        statusfilter = {k: False for k in statusfilter}
        for f in split_list(params["statusfilter"]):
            statusfilter[f.lower()] = True
    elif errors:
        statusfilter["ok"] = False
    count = 0
    res = []

    def accept(item, status):
        nonlocal count
        if params.get("userfilter") and params["userfilter"].lower() not in item["user"].lower():
            return False
        if params.get("typefilter") and item["type"] != params["typefilter"]:
            return False
        if params.get("vmid") and item["id"] != str(params["vmid"]):
            return False
        if params.get("since") is not None and item["starttime"] < int(params["since"]):
            return False
        if params.get("until") is not None and item["starttime"] > int(params["until"]):
            return False
        if not statusfilter.get(_status_type(status), False):
            return False
        count += 1
        if count <= start or len(res) >= limit:
            return False
        return True

    tasks = sorted(
        (t for t in ctx.state.tasks.values() if t.node == node), key=lambda t: (t.starttime, t.pid), reverse=True
    )
    for task in tasks:
        user, tokenid = split_user(task.user)
        item = {
            "upid": task.upid,
            "node": task.node,
            "pid": task.pid,
            "pstart": task.pstart,
            "starttime": task.starttime,
            "type": task.type,
            "id": task.id,
            "user": user,
        }
        if tokenid:
            item["tokenid"] = tokenid
        if task.status == "running":
            if source in ("active", "all") and accept(item, None):
                item["status"] = "RUNNING"
                res.append(item)
        elif source != "active":
            item["endtime"] = task.endtime
            item["status"] = task.exitstatus
            if accept(item, task.exitstatus):
                res.append(item)
    ctx.total = count
    return res
