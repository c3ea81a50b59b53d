# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""The Simulator: state + auth + routing + parameter verification + request log + faults.

``Simulator.handle_http(method, target, headers, body)`` is the single entry point used by
the HTTPS server and by the ``responses`` adapter.  For ``/api2/json/...`` it runs the same
pipeline as pveproxy/pvedaemon:

1. authentication (401 before anything else; ``/access/ticket`` is open),
2. routing (``501 Method 'GET /x' not implemented``),
3. URI parameters merged with query/body parameters,
4. ``proxyto => 'node'``: an unknown node fails like the hostname lookup in pveproxy (500),
5. parameter verification against the vendored schema (400 ``Parameter verification failed.``),
6. the handler (500 with the ``die`` message on errors).

Paths below ``/_sim/`` are the control API (see :mod:`pve_sim.control`).
"""

import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass, field

from . import schema
from .auth import Auth
from .errors import ApiError, FormatDie, HandlerError, NotImplementedApi, ParamError
from .faults import FaultError, Faults
from .handlers import load_all
from .seed import seed
from .state import State
from .validation import _perl_str, validate_params

DEFAULT_VERSION = {"version": "9.1.2", "release": "9.1", "repoid": "2f7c7e0d"}
REQUEST_LOG_LIMIT = 10000
PROXY_TIMEOUT = 30.0  # seconds pveproxy waits for pvedaemon (pve-http-server AnyEvent.pm proxy_request)
SECRET_PARAMS = {"password", "cipassword", "new-password", "otp", "tfa-challenge"}


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None


class CIDict(dict):
    """Case-insensitive header lookup."""

    def __init__(self, items=()):
        super().__init__()
        for k, v in items.items() if hasattr(items, "items") else items:
            self[k.lower()] = v

    def get(self, key, default=None):
        return super().get(key.lower(), default)


def decode_urlencoded(data):
    """``decode_urlencoded`` of pve-http-server: split on ``&`` and ``;``, repeated keys -> list,
    ``key`` or ``key=`` -> undefined value."""
    res = {}
    if not data:
        return res
    for kv in re.split(r"[&;]", data):
        if kv == "":
            continue
        k, sep, v = kv.partition("=")
        k = urllib.parse.unquote_plus(k)
        v = urllib.parse.unquote_plus(v) if sep and v != "" else None
        if v is not None and k in res and res[k] is not None:
            old = res[k]
            v = (old if isinstance(old, list) else [old]) + [v]
        res[k] = v
    return res


class Route:
    def __init__(self, method, template, func):
        self.method = method
        self.template = template
        self.func = func
        parts = []
        for seg in template.strip("/").split("/"):
            m = re.match(r"^\{(\w+)\}$", seg)
            if m:
                # a trailing {volume} may contain '/' (local:iso/x.iso)
                parts.append("(?P<%s>%s)" % (m.group(1), ".+" if m.group(1) == "volume" else "[^/]+"))
            else:
                parts.append(re.escape(seg))
        self.regex = re.compile("^/" + "/".join(parts) + "$")
        self.literal_segments = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
        self.info = schema.method_info(template, method)
        if self.info is None:
            raise KeyError("%s %s is not in the schema subset" % (method, template))


class Ctx:
    """What a handler sees of the request."""

    def __init__(self, sim, user, method, rel_uri):
        self.sim = sim
        self.state = sim.state
        self.hold = None  # (seconds, hidden task): a synchronous request that keeps working (slow_free)
        self.user = user
        self.method = method
        self.rel_uri = rel_uri
        self.total = None

    def after_config_read(self, guest):
        """The ``concurrent_edit`` fault: another user edits the config right after our read."""
        if self.state.faults.take_concurrent_edit(guest.vmid):
            self.sim._edit_counter += 1
            guest.config["description"] = "concurrent edit %d (pve_sim fault)" % self.sim._edit_counter


class Simulator:
    """A stateful Proxmox VE API.  Thread-safe; one instance per simulated cluster."""

    def __init__(
        self,
        token_secret=None,
        password=None,
        user="root@pam",
        token_name="pve-config",
        version=None,
        generic_auth_errors=False,
        clock=time.time,
        realism=False,
        pvestatd_interval=None,
    ):
        self.user = user
        self.token_name = token_name
        self.token_secret = token_secret or os.environ.get("PVE_SIM_TOKEN_SECRET") or str(uuid.uuid4())
        self.password = password or os.environ.get("PVE_SIM_PASSWORD") or secrets.token_urlsafe(12)
        self.version = dict(DEFAULT_VERSION, **(version or {}))
        self.clock = clock
        self.auth = Auth(
            self.token_secret,
            self.password,
            user=user,
            token_name=token_name,
            generic_errors=generic_auth_errors,
            clock=clock,
        )
        self.state = State(clock=clock)
        self._routes = [Route(m, t, f) for m, t, f in load_all()]
        self._log_lock = threading.Lock()
        self._requests = []
        self._edit_counter = 0
        self.state.realism = bool(realism)
        self.state.pvestatd_interval = pvestatd_interval
        self.proxy_timeout = PROXY_TIMEOUT
        seed(self.state)

    # -- identity -----------------------------------------------------------------------------

    @property
    def full_token_id(self):
        """``root@pam!pve-config`` (``token_name`` is the part after ``!``)."""
        return "%s!%s" % (self.user, self.token_name)

    def auth_header(self):
        """The header proxmoxer sends for token auth."""
        return {"Authorization": "PVEAPIToken=%s=%s" % (self.full_token_id, self.token_secret)}

    # -- control (Python API) -----------------------------------------------------------------

    @property
    def realism(self):
        """True: behave like the Proxmox sources where they differ from the ideal case (storage size
        rounding, pvestatd lag, partial pending writes ...; docs/simulator.md "Realism")."""
        return self.state.realism

    @realism.setter
    def realism(self, value):
        with self.state.lock:
            self.state.realism = bool(value)

    @property
    def pvestatd_interval(self):
        """With realism, pvestatd ticks by itself every that many seconds (real pvestatd: 10); None (the
        default, and what the tests use) leaves the lag until :meth:`pvestatd_tick`."""
        return self.state.pvestatd_interval

    @pvestatd_interval.setter
    def pvestatd_interval(self, seconds):
        with self.state.lock:
            self.state.pvestatd_interval = float(seconds) if seconds else None

    def pvestatd_tick(self):
        """Let pvestatd run once: ``/cluster/resources`` catches up with names and status.
        Returns the number of ticks so far."""
        return self.state.pvestatd_tick()

    def reset(self, realism=None):
        """Reseed the inventory, clear faults and the request log.  The realism setting is kept
        unless ``realism`` is given."""
        with self.state.lock:
            if realism is not None:
                self.state.realism = bool(realism)
            self.state.faults.clear()
            self.proxy_timeout = PROXY_TIMEOUT
            seed(self.state)
            self._edit_counter = 0
        self.clear_requests()

    @property
    def faults(self):
        return self.state.faults

    def add_faults(self, spec):
        """Apply a fault spec (the JSON of ``POST /_sim/faults``); raises FaultError."""
        Faults.check_spec(spec)
        if "lock" in spec:
            lock = spec["lock"]
            if not isinstance(lock, dict) or "vmid" not in lock:
                raise FaultError("'lock' needs at least 'vmid'")
            self.lock_guest(lock["vmid"], lock.get("lock", "backup"), lock.get("seconds"))
        if "concurrent_edit" in spec:
            ce = spec["concurrent_edit"]
            if not isinstance(ce, dict) or "vmid" not in ce:
                raise FaultError("'concurrent_edit' needs at least 'vmid'")
            self.concurrent_edit(ce["vmid"], ce.get("times", 1))
        if "task" in spec:
            self.faults.add_task_fault(**self.faults.parse_task(spec["task"]))
        if "latency" in spec:
            try:
                latency = float(spec["latency"])
            except (TypeError, ValueError):
                raise FaultError("'latency' must be a number of seconds") from None
            if latency < 0:
                raise FaultError("'latency' must be >= 0")
            self.set_latency(latency)
        if "http_error" in spec:
            self.faults.add_http_error(**self.faults.parse_http_error(spec["http_error"]))
        if "hotplug" in spec:
            hotplug = self.faults.parse_hotplug(spec["hotplug"])
            self._guest_or_fault(hotplug["vmid"])
            self.faults.add_hotplug_fault(**hotplug)
        if "slow_free" in spec:
            slow = self.faults.parse_slow_free(spec["slow_free"])
            if not self.state.storage_defined(slow["storage"]):
                raise FaultError("no storage %s in the simulator" % slow["storage"])
            self.faults.set_slow_free(**slow)
        if "shutdown" in spec:
            shutdown = self.faults.parse_shutdown(spec["shutdown"])
            self._guest_or_fault(shutdown["vmid"])
            self.faults.set_shutdown(**shutdown)
        return self.faults.dump()

    def _guest_or_fault(self, vmid):
        try:
            vmid = int(vmid)
        except (TypeError, ValueError):
            raise FaultError("'vmid' must be an integer") from None
        guest = self.state.guest(vmid)
        if guest is None:
            raise FaultError("no guest %s in the simulator" % vmid)
        return guest

    def lock_guest(self, vmid, lock="backup", seconds=None):
        """Set ``lock: <lock>`` in the guest config; removed after ``seconds`` if given."""
        with self.state.lock:
            guest = self._guest_or_fault(vmid)
            if seconds is not None:
                seconds = float(seconds)
            self.state.set_lock(guest.vmid, lock, seconds)

    def unlock_guest(self, vmid):
        with self.state.lock:
            self.state.set_lock(self._guest_or_fault(vmid).vmid, None)

    def concurrent_edit(self, vmid, times=1):
        self._guest_or_fault(vmid)
        self.faults.add_concurrent_edit(int(vmid), int(times))

    def task_fault(self, type="any", exitstatus="OK", seconds=0.0, times=1):
        self.faults.add_task_fault(type=type, exitstatus=exitstatus, seconds=float(seconds), times=int(times))

    def set_latency(self, seconds):
        self.faults.set_latency(float(seconds))

    def http_error(self, path, status=500, message="simulated failure", method=None, times=1):
        self.faults.add_http_error(path=path, status=status, message=message, method=method, times=times)

    def hotplug_fault(self, vmid, key=".*", message=None, times=1):
        """The next ``times`` hot-(un)plugs of an option matching ``key`` on VM ``vmid`` fail."""
        spec = {"vmid": vmid, "key": key, "times": times}
        if message is not None:
            spec["message"] = message
        self.add_faults({"hotplug": spec})

    def slow_free(self, storage, seconds):
        """``vdisk_free`` on ``storage`` takes ``seconds`` (0: normal again)."""
        self.add_faults({"slow_free": {"storage": storage, "seconds": seconds}})

    def shutdown_delay(self, vmid, seconds):
        """Guest ``vmid`` needs ``seconds`` to power off when asked to (None: it ignores the request)."""
        self.add_faults({"shutdown": {"vmid": vmid, "seconds": seconds}})

    def clear_faults(self):
        self.faults.clear()

    def set_guest_status(self, vmid, status):
        """Start/stop a guest.  Starting applies pending changes, as ``qm start`` / ``pct start`` do."""
        if status not in ("running", "stopped"):
            raise FaultError("status must be 'running' or 'stopped'")
        with self.state.lock:
            guest = self._guest_or_fault(vmid)
            if status == guest.status:
                return
            from .handlers.power import start_guest, stop_guest

            if status == "running":
                start_guest(Ctx(self, self.user, "POST", "/_sim"), guest)
            else:
                stop_guest(guest)

    def dump_state(self):
        self.state.advance()
        return self.state.dump()

    def requests(self):
        """The request log: ``[{time, method, path, params, status, reason, user, auth}]``."""
        with self._log_lock:
            return [dict(r) for r in self._requests]

    def clear_requests(self):
        with self._log_lock:
            n = len(self._requests)
            self._requests = []
            return n

    def guest_config(self, vmid):
        """Raw current config (strings), pending and pending deletes of a guest."""
        with self.state.lock:
            self.state.advance()
            g = self._guest_or_fault(vmid)
            return {
                "config": dict(g.config),
                "pending": dict(g.pending),
                "delete": dict(g.pending_delete),
                "digest": g.digest,
                "status": g.status,
                "node": g.node,
                "kind": g.kind,
            }

    # -- HTTP entry point ---------------------------------------------------------------------

    def handle_http(self, method, target, headers=None, body=b""):
        method = method.upper()
        headers = CIDict(headers or {})
        split = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(split.path)
        if path.startswith("/_sim/") or path == "/_sim":
            from .control import handle_control

            return handle_control(self, method, path, split.query, body)
        m = re.match(r"^/api2/([^/]+)(/.*)?$", path)
        if not m:
            return self._response(ApiError("Not Found", status=404, empty_body=True))
        fmt, rel_uri = m.group(1), (m.group(2) or "/").rstrip("/") or "/"
        if fmt != "json":
            return self._response(ApiError("no formatter for uri %s, %s" % (rel_uri, fmt), status=501, empty_body=True))
        started = self.clock()
        params = {}
        try:
            params = self._decode_params(method, headers, split.query, body)
        except ValueError as exc:
            resp = self._response(ApiError(str(exc), status=400))
            self._log(method, rel_uri, params, resp, None, "none", started)
            return resp
        latency = self.faults.latency
        if latency:
            time.sleep(latency)
        user, kind = None, "none"
        try:
            with self.state.lock:
                self.state.advance()
                user, kind = self.auth.authenticate(method, rel_uri, headers)
                data, total, hold = self._dispatch(method, rel_uri, params, user)
            if hold:
                self._wait_for_work(*hold)
            payload = {"data": data}
            if total:
                payload["total"] = total
            resp = HttpResponse(200, "OK", self._headers(), json.dumps(payload).encode("utf-8"))
        except ApiError as exc:
            resp = self._response(exc)
        except FormatDie as exc:  # a property string that fails to parse inside a handler
            resp = self._response(HandlerError(exc.message, errors=exc.errors))
        except Exception as exc:  # noqa: BLE001 - a simulator bug must not kill the connection
            traceback.print_exc(file=sys.stderr)
            resp = self._response(HandlerError("pve_sim internal error: %s: %s" % (type(exc).__name__, exc)))
        self._log(method, rel_uri, params, resp, user, kind, started)
        return resp

    def _decode_params(self, method, headers, query, body):
        params = {}
        if method in ("POST", "PUT") and body:
            ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            if ctype == "application/json":
                try:
                    params = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError("malformed JSON string: %s" % exc) from None
                if not isinstance(params, dict):
                    raise ValueError("JSON body must be an object")
                params = {
                    k: (v if isinstance(v, (list, dict)) or v is None else _perl_str(v)) for k, v in params.items()
                }
            else:
                params = decode_urlencoded(text)
        params.update(decode_urlencoded(query))
        params.pop("_dc", None)
        return params

    def _match(self, method, rel_uri):
        best = None
        path_found = False
        for route in self._routes:
            m = route.regex.match(rel_uri)
            if not m:
                continue
            path_found = True
            if route.method != method:
                continue
            if best is None or route.literal_segments > best[0].literal_segments:
                best = (route, m.groupdict())
        return best, path_found

    def _dispatch(self, method, rel_uri, params, user):
        fault = self.faults.take_http_error(method, rel_uri)
        if fault:
            raise ApiError(
                fault["message"] if fault["message"].endswith("\n") else fault["message"] + "\n", status=fault["status"]
            )
        found = self._match(method, rel_uri)[0]
        if not found:
            raise NotImplementedApi(method, rel_uri)
        route, uri_params = found
        for key in sorted(params):
            if key in uri_params and params[key] is not None and params[key] != uri_params[key]:
                raise ParamError({key: "duplicate parameter (already defined in URI) with conflicting values!"})
        params = dict(params)
        params.update(uri_params)
        if route.info.get("proxyto") == "node":
            node = params.get("node")
            if node not in self.state.nodes:
                raise HandlerError(
                    "hostname lookup '%s' failed - failed to get address info for: %s: "
                    "Name or service not known" % (node, node)
                )
        props, additional = schema.parameters(route.template, route.method)
        validate_params(params, props, additional)
        ctx = Ctx(self, user, method, rel_uri)
        data = route.func(ctx, params)
        return data, ctx.total, ctx.hold

    def _wait_for_work(self, seconds, work):
        """Answer a request whose work goes on for ``seconds``: pveproxy waits for pvedaemon at most
        ``proxy_timeout`` (pve-http-server src/PVE/APIServer/AnyEvent.pm proxy_request: ``timeout => 30``)
        and then answers AnyEvent::HTTP's ``596 Connection timed out`` while the work goes on; otherwise the
        answer is the work's result (its error as a 500)."""
        if seconds > self.proxy_timeout:
            time.sleep(self.proxy_timeout)
            raise ApiError("Connection timed out", status=596, empty_body=True)
        time.sleep(seconds)
        with self.state.lock:
            self.state.advance()
            if work.error is not None:
                raise work.error

    # -- responses and log --------------------------------------------------------------------

    @staticmethod
    def _headers():
        return {
            "Content-Type": "application/json;charset=UTF-8",
            "Cache-Control": "max-age=0",
            "Pragma": "no-cache",
            "Server": "pve-api-daemon/3.0",
        }

    def _response(self, exc):
        headers = self._headers()
        body = exc.body()
        if body is None:
            headers.pop("Content-Type")
            raw = b""
        else:
            raw = json.dumps(body).encode("utf-8")
        return HttpResponse(exc.status, exc.reason, headers, raw)

    def _log(self, method, rel_uri, params, resp, user, kind, started):
        clean = {}
        for key, value in params.items():
            clean[key] = "<hidden>" if key in SECRET_PARAMS else value
        entry = {
            "time": started,
            "method": method,
            "path": rel_uri,
            "params": clean,
            "status": resp.status,
            "reason": resp.reason,
            "user": user,
            "auth": kind,
        }
        with self._log_lock:
            self._requests.append(entry)
            if len(self._requests) > REQUEST_LOG_LIMIT:
                del self._requests[: len(self._requests) - REQUEST_LOG_LIMIT]
