# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Fault injection: the knobs tests turn, over HTTP (``POST /_sim/faults``) or in Python.

A fault spec is a JSON object with one or more of these keys:

``{"lock": {"vmid": 100, "lock": "backup", "seconds": 3}}``
    put ``lock: backup`` into the guest's config now; with ``seconds`` it is removed again
    after that time (like a backup job ending).  Applied by the Simulator, not stored here.
``{"concurrent_edit": {"vmid": 100, "times": 1}}``
    after the next ``times`` config reads (``GET .../config`` or ``GET .../pending``) of the
    guest, the simulator changes its ``description`` so a write with the digest just read is
    rejected like a concurrent edit by another user.
``{"task": {"type": "qmconfig", "exitstatus": "WARNINGS: 2", "seconds": 2, "times": 1}}``
    the next ``times`` tasks of that type (``any`` for all; ``qmresize`` is accepted for PVE's
    ``resize``) run ``seconds`` long and end with ``exitstatus``: ``OK``, ``WARNINGS: <n>``
    (the change is applied, n ``WARN:`` lines are logged) or any other text (the task fails with
    that error and the change is not applied).
``{"latency": 0.05}``
    every API request waits that many seconds before it is handled (0 switches it off).
``{"http_error": {"method": "PUT", "path": "/nodes/pve1/qemu/100/config", "status": 500,
"message": "...", "times": 1}}``
    the next matching API request (``path`` is a regex matched against the path below
    ``/api2/json``; ``method`` optional) is answered with that status and message.
``{"hotplug": {"vmid": 100, "key": "scsi\\d+", "message": "...", "times": 1}}``
    the next ``times`` hot-(un)plugs of a matching option (``key`` a regex matched against the
    whole option name, default any) on that running VM fail with ``message``: qemu-server's
    ``vmconfig_hotplug_pending`` records ``hotplug problem - <message>`` and the update answers
    400 with it, leaving what the update wrote to ``[PENDING]`` (and the volumes it allocated).
``{"slow_free": {"storage": "ceph-rbd", "seconds": 40}}``
    ``vdisk_free`` on that storage takes ``seconds`` (0 removes it): a synchronous
    ``PUT .../config`` with ``delete=unusedN`` works that long, and pveproxy gives up on it after
    ``Simulator.proxy_timeout`` (30 s) with ``596 Connection timed out`` while the delete goes on;
    ``POST .../config`` returns the UPID at once and the task runs that long.
``{"shutdown": {"vmid": 100, "seconds": 90}}``
    the guest needs ``seconds`` to power off after an ACPI / agent shutdown request (a reboot or a
    shutdown); ``"seconds": null`` ignores the request (only a kill stops it).  Stays until cleared.
"""

import re
import threading

TASK_TYPE_ALIASES = {"qmresize": "resize", "vzresize": "resize"}
_WARN_RE = re.compile(r"^WARNINGS: \d+$")


class FaultError(ValueError):
    """A malformed fault spec (answered with 400 by the control API)."""


def _int(spec, key, default=None, minimum=None):
    value = spec.get(key, default)
    if value is None:
        raise FaultError("'%s' is required" % key)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise FaultError("'%s' must be an integer" % key) from None
    if minimum is not None and value < minimum:
        raise FaultError("'%s' must be >= %d" % (key, minimum))
    return value


def _float(spec, key, default=0.0):
    value = spec.get(key, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise FaultError("'%s' must be a number" % key) from None
    if value < 0:
        raise FaultError("'%s' must be >= 0" % key)
    return value


class Faults:
    KNOWN = ("lock", "concurrent_edit", "task", "latency", "http_error", "hotplug", "slow_free", "shutdown")

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        with self._lock:
            self.latency = 0.0
            self.concurrent_edits = {}
            self.task_faults = []
            self.http_errors = []
            self.hotplug_faults = []
            self.slow_free = {}  # storage id -> seconds
            self.shutdown = {}  # vmid -> seconds the guest needs to power off (None: it never does)

    # -- registration ------------------------------------------------------------------------

    @staticmethod
    def check_spec(spec):
        if not isinstance(spec, dict) or not spec:
            raise FaultError("a fault spec is a non-empty JSON object")
        unknown = sorted(set(spec) - set(Faults.KNOWN))
        if unknown:
            raise FaultError("unknown fault(s): %s (known: %s)" % (", ".join(unknown), ", ".join(Faults.KNOWN)))

    def add_concurrent_edit(self, vmid, times=1):
        with self._lock:
            self.concurrent_edits[int(vmid)] = self.concurrent_edits.get(int(vmid), 0) + int(times)

    def add_task_fault(self, type="any", exitstatus="OK", seconds=0.0, times=1):
        if not isinstance(exitstatus, str) or not exitstatus or "\n" in exitstatus:
            raise FaultError("'exitstatus' must be a one-line string")
        with self._lock:
            self.task_faults.append(
                {
                    "type": TASK_TYPE_ALIASES.get(type, type),
                    "exitstatus": exitstatus,
                    "seconds": float(seconds),
                    "times": int(times),
                }
            )

    def set_latency(self, seconds):
        with self._lock:
            self.latency = float(seconds)

    def add_http_error(self, path, status=500, message="simulated failure", method=None, times=1):
        try:
            regex = re.compile(path)
        except re.error as exc:
            raise FaultError("'path' is not a valid regex: %s" % exc) from None
        if not 400 <= int(status) <= 599:
            raise FaultError("'status' must be 400..599")
        with self._lock:
            self.http_errors.append(
                {
                    "method": method.upper() if method else None,
                    "path": path,
                    "regex": regex,
                    "status": int(status),
                    "message": str(message),
                    "times": int(times),
                }
            )

    def parse_task(self, spec):
        if not isinstance(spec, dict):
            raise FaultError("'task' must be an object")
        return dict(
            type=str(spec.get("type", "any")),
            exitstatus=spec.get("exitstatus", "OK"),
            seconds=_float(spec, "seconds"),
            times=_int(spec, "times", 1, 1),
        )

    def parse_http_error(self, spec):
        if not isinstance(spec, dict) or "path" not in spec:
            raise FaultError("'http_error' needs at least 'path'")
        return dict(
            path=str(spec["path"]),
            status=_int(spec, "status", 500),
            message=spec.get("message", "simulated failure"),
            method=spec.get("method"),
            times=_int(spec, "times", 1, 1),
        )

    def parse_hotplug(self, spec):
        if not isinstance(spec, dict) or "vmid" not in spec:
            raise FaultError("'hotplug' needs at least 'vmid'")
        key = str(spec.get("key", ".*"))
        try:
            re.compile(key)
        except re.error as exc:
            raise FaultError("'key' is not a valid regex: %s" % exc) from None
        message = spec.get("message", "VM %s qmp command 'device_add' failed - simulated (pve_sim fault)")
        if not isinstance(message, str) or not message or "\n" in message:
            raise FaultError("'message' must be a one-line string")
        return dict(vmid=_int(spec, "vmid"), key=key, message=message, times=_int(spec, "times", 1, 1))

    def add_hotplug_fault(self, vmid, key=".*", message="hot-plug failed (pve_sim fault)", times=1):
        with self._lock:
            self.hotplug_faults.append(
                {
                    "vmid": int(vmid),
                    "key": key,
                    "message": message % vmid if "%s" in message else message,
                    "times": int(times),
                }
            )

    def parse_slow_free(self, spec):
        if not isinstance(spec, dict) or "storage" not in spec:
            raise FaultError("'slow_free' needs 'storage' and 'seconds'")
        return dict(storage=str(spec["storage"]), seconds=_float(spec, "seconds"))

    def set_slow_free(self, storage, seconds):
        with self._lock:
            if seconds:
                self.slow_free[storage] = float(seconds)
            else:
                self.slow_free.pop(storage, None)

    def parse_shutdown(self, spec):
        if not isinstance(spec, dict) or "vmid" not in spec or "seconds" not in spec:
            raise FaultError("'shutdown' needs 'vmid' and 'seconds' (a number, or null: never)")
        seconds = None if spec["seconds"] is None else _float(spec, "seconds")
        return dict(vmid=_int(spec, "vmid"), seconds=seconds)

    def set_shutdown(self, vmid, seconds):
        with self._lock:
            self.shutdown[int(vmid)] = seconds

    def shutdown_seconds(self, vmid):
        """How long guest ``vmid`` takes to power off when asked to (0 by default, None: never)."""
        with self._lock:
            return self.shutdown.get(int(vmid), 0.0)

    # -- consumption -------------------------------------------------------------------------

    def take_task_fault(self, task_type):
        with self._lock:
            for fault in self.task_faults:
                if fault["type"] in ("any", task_type):
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.task_faults.remove(fault)
                    return dict(fault)
        return None

    def take_concurrent_edit(self, vmid):
        with self._lock:
            left = self.concurrent_edits.get(vmid, 0)
            if left <= 0:
                return False
            if left == 1:
                del self.concurrent_edits[vmid]
            else:
                self.concurrent_edits[vmid] = left - 1
            return True

    def take_http_error(self, method, path):
        with self._lock:
            for fault in self.http_errors:
                if fault["method"] and fault["method"] != method:
                    continue
                if not fault["regex"].search(path):
                    continue
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.http_errors.remove(fault)
                return dict(fault)
        return None

    def take_hotplug_fault(self, vmid, opt):
        with self._lock:
            for fault in self.hotplug_faults:
                if fault["vmid"] == int(vmid) and re.fullmatch(fault["key"], opt):
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.hotplug_faults.remove(fault)
                    return fault["message"]
        return None

    def dump(self):
        with self._lock:
            return {
                "latency": self.latency,
                "concurrent_edit": {str(k): v for k, v in sorted(self.concurrent_edits.items())},
                "task": [dict(f) for f in self.task_faults],
                "http_error": [{k: v for k, v in f.items() if k != "regex"} for f in self.http_errors],
                "hotplug": [dict(f) for f in self.hotplug_faults],
                "slow_free": dict(self.slow_free),
                "shutdown": {str(k): v for k, v in sorted(self.shutdown.items())},
            }


def is_ok_status(exitstatus):
    return exitstatus == "OK" or bool(_WARN_RE.match(exitstatus or ""))
