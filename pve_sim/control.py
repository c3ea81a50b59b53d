# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""The control API below ``/_sim/`` (no authentication; the server listens on loopback only).

| method | path | body / answer |
|---|---|---|
| POST | ``/_sim/reset`` | reseed inventory, clear faults and request log -> ``{"reset": true, "realism": bool}``; |
|  |  | optional body ``{"realism": true|false}`` (else the setting is kept) |
| GET / POST | ``/_sim/realism`` | ``{"realism": bool}`` / set it with that body |
| POST | ``/_sim/pvestatd/tick`` | one pvestatd round: ``/cluster/resources`` catches up -> ``{"ticks": n}`` |
| GET | ``/_sim/state`` | dump of nodes, storages, volumes, guests (config, pending, digest), tasks, faults |
| GET | ``/_sim/requests`` | request log ``[{time, method, path, params, status, reason, user, auth}]`` |
| DELETE | ``/_sim/requests`` | clear it -> ``{"cleared": n}`` |
| GET | ``/_sim/faults`` | active faults |
| POST | ``/_sim/faults`` | a fault spec (see :mod:`pve_sim.faults`) -> ``{"faults": {...}}`` |
| DELETE | ``/_sim/faults`` | clear all faults |
| POST | ``/_sim/guests/<vmid>/status`` | ``{"status": "running"|"stopped"}`` (start applies pending) |
| POST | ``/_sim/guests/<vmid>/unlock`` | remove a config lock |

Errors: ``400 {"error": "..."}`` for a bad spec, ``404`` for anything else.
"""

import json
import re

from .faults import FaultError


def _json(status, obj, reason=None):
    from .simulator import HttpResponse

    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
    return HttpResponse(
        status,
        reason or reasons.get(status, "Error"),
        {"Content-Type": "application/json"},
        json.dumps(obj).encode("utf-8"),
    )


def _body(body):
    if not body:
        return {}
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaultError("body is not JSON: %s" % exc) from None


def _realism(body, required):
    """The ``realism`` flag of a control body: a JSON boolean (or 0/1)."""
    if not isinstance(body, dict):
        raise FaultError("body must be a JSON object")
    if "realism" not in body:
        if required:
            raise FaultError("'realism' (true or false) is required")
        return None
    value = body["realism"]
    if value not in (True, False, 0, 1):
        raise FaultError("'realism' must be true or false")
    return bool(value)


def handle_control(sim, method, path, query, body):
    path = path.rstrip("/")
    try:
        if path == "/_sim/reset" and method == "POST":
            sim.reset(realism=_realism(_body(body), required=False))
            return _json(200, {"reset": True, "realism": sim.realism})
        if path == "/_sim/realism":
            if method == "POST":
                sim.realism = _realism(_body(body), required=True)
            if method in ("GET", "POST"):
                return _json(200, {"realism": sim.realism})
        if path == "/_sim/pvestatd/tick" and method == "POST":
            return _json(200, {"ticks": sim.pvestatd_tick()})
        if path == "/_sim/state" and method == "GET":
            return _json(200, sim.dump_state())
        if path == "/_sim/requests":
            if method == "GET":
                return _json(200, sim.requests())
            if method == "DELETE":
                return _json(200, {"cleared": sim.clear_requests()})
        if path == "/_sim/faults":
            if method == "GET":
                return _json(200, sim.faults.dump())
            if method == "POST":
                return _json(200, {"faults": sim.add_faults(_body(body))})
            if method == "DELETE":
                sim.clear_faults()
                return _json(200, {"faults": sim.faults.dump()})
        m = re.match(r"^/_sim/guests/(\d+)/(status|unlock)$", path)
        if m and method == "POST":
            if m.group(2) == "status":
                sim.set_guest_status(int(m.group(1)), _body(body).get("status"))
            else:
                sim.unlock_guest(int(m.group(1)))
            return _json(200, sim.guest_config(int(m.group(1))))
    except FaultError as exc:
        return _json(400, {"error": str(exc)})
    return _json(404, {"error": "no control endpoint %s %s" % (method, path)})
