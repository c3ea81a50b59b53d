# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Start, shutdown and reboot of VMs and containers (``POST .../status/{start,shutdown,reboot}``).

Each forks a task, as the sources do: qemu-server API2/Qemu.pm vm_start (``qmstart``), vm_shutdown
(``qmshutdown``), vm_reboot (``qmreboot``); pve-container API2/LXC/Status.pm vm_start (``vzstart``),
vm_shutdown (``vzshutdown``), vm_reboot (``vzreboot``).  Starting applies the pending changes
(QemuServer.pm vm_start_nolock: ``vmconfig_apply_pending``, then ``apply_cloudinit_config``; pve-container
LXC.pm vm_start: ``vmconfig_apply_pending``).

A shutdown takes as long as the guest needs to power off (0 s unless the ``shutdown`` fault says otherwise).

The two reboots differ:

- QEMU (QemuServer.pm vm_reboot -> ``_do_vm_stop($storecfg, $vmid, undef, undef, $timeout, 1)``): under the
  config lock, ``check_lock``, then a graceful shutdown waiting ``timeout`` seconds (default 60, or the
  ``down`` of ``startup``), never forced: a guest still running then fails the task with
  ``VM quit/powerdown failed - got timeout`` and keeps running.  The task ends when the VM is off; qmeventd
  sees the reboot request and starts it again right after (``qm cleanup`` -> ``qm start``), so for a moment
  the VM is stopped with its task already ``OK``.  The simulator starts it again ``QMEVENTD_RESTART``
  seconds after the task (with realism; at once without).
- LXC (LXC.pm vm_reboot -> ``vm_stop($vmid, 0, $timeout, 1)``, then ``vm_start``): no ``check_lock``;
  ``lxc-stop --timeout`` kills the container when it is not down in time (``$kill_after_timeout``), and the
  same task starts it again: when the task ends the container runs with its pending changes applied.

Neither reboot asks HA: unlike vm_start/vm_shutdown (``ha-manager set/crm-command``) vm_reboot has no
``vm_is_ha_managed`` branch.  The simulator has no HA and no paused VMs.
"""

from ..errors import HandlerError, ParamError
from ..validation import parse_property_string
from . import cloudinit, route
from .common import check_lock, true

QMEVENTD_RESTART = 1.0
DEFAULT_SHUTDOWN_TIMEOUT = 60  # _do_vm_stop: "$timeout = 60 if !defined($timeout)"; lxc-stop's default


def start_guest(ctx, guest):
    """``vm_start``: apply the pending changes (and, for a VM, generate the cloud-init drive), then run."""
    state = ctx.state
    with state.transaction(vmids=(guest.vmid,)):
        if guest.kind == "qemu":
            from .qemu import QemuUpdate

            upd = QemuUpdate.__new__(QemuUpdate)
            upd.ctx, upd.state, upd.node, upd.vmid = ctx, state, guest.node, guest.vmid
            upd.apply_pending(guest, {}, [])
            upd.write_cleanup(guest)
            cloudinit.apply_config(guest)
            cloudinit.drop_unwritten_section(guest)
        else:
            from .lxc import LxcUpdate

            LxcUpdate(ctx, guest.node, guest.vmid).apply_pending(guest, set(), {})
    guest.pid = 0x3000 + guest.vmid
    guest.started_at = state.now()
    guest.status = "running"


def stop_guest(guest):
    guest.pid = 0
    guest.status = "stopped"


def _guest(ctx, params, kind):
    return ctx.state.load_config(params["node"], params["vmid"], kind)


def _now(ctx, guest):
    """The guest as it is when a task's work runs (a rolled back transaction replaces the object)."""
    return ctx.state.guest(guest.vmid)


def _not_running(guest):
    # qemu-server API2/Qemu.pm vm_reboot/vm_shutdown and pve-container API2/LXC/Status.pm vm_reboot all say
    # "VM $vmid not running" (LXC's shutdown/stop say "CT $vmid not running")
    return HandlerError("VM %d not running" % guest.vmid)


def _shutdown_timeout(guest, timeout):
    """QemuServer.pm _do_vm_stop: ``timeout``, else the ``down`` of ``startup``, else 60."""
    if timeout is not None:
        return int(timeout)
    startup = guest.config.get("startup")
    if startup:
        down = parse_property_string(_STARTUP_FORMAT, startup).get("down")
        if down:
            return int(down)
    return DEFAULT_SHUTDOWN_TIMEOUT


# pve-common JSONSchema.pm pve-startup-order: [[order=]\d+] [,up=\d+] [,down=\d+]
_STARTUP_FORMAT = {
    "order": {"type": "integer", "optional": 1, "default_key": 1},
    "up": {"type": "integer", "optional": 1},
    "down": {"type": "integer", "optional": 1},
}


def _check_skiplock(ctx, params):
    if true(params.get("skiplock")) and ctx.user != "root@pam":
        raise ParamError({"skiplock": "Only root may use this option."})
    return true(params.get("skiplock"))


def _fail(message):
    def action(task):
        raise HandlerError(message)

    return action


# -- QEMU -----------------------------------------------------------------------------------------


@route("POST", "/nodes/{node}/qemu/{vmid}/status/start")
def vm_start(ctx, params):
    guest = _guest(ctx, params, "qemu")
    skiplock = _check_skiplock(ctx, params)

    def action(task):
        # QemuServer.pm vm_start: check_lock unless skiplock, then "VM $vmid already running"
        now = _now(ctx, guest)
        if not skiplock:
            check_lock(now)
        if now.status == "running":
            raise HandlerError("VM %d already running" % now.vmid)
        start_guest(ctx, now)

    return ctx.state.new_task(guest.node, "qmstart", guest.vmid, ctx.user, action=action, vmids=(guest.vmid,)).upid


@route("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown")
def vm_shutdown(ctx, params):
    guest = _guest(ctx, params, "qemu")
    skiplock = _check_skiplock(ctx, params)
    force = true(params.get("forceStop"))
    return _qemu_stop_task(ctx, guest, "qmshutdown", params.get("timeout"), skiplock, force).upid


@route("POST", "/nodes/{node}/qemu/{vmid}/status/reboot")
def vm_reboot(ctx, params):
    guest = _guest(ctx, params, "qemu")
    if guest.status != "running":
        raise _not_running(guest)
    state = ctx.state

    def restart(task):  # qmeventd: the reboot request file is there, so it starts the VM again
        now = _now(ctx, guest)
        if now.status == "stopped":
            start_guest(ctx, now)

    def after_stop():
        state.new_task(
            guest.node,
            "qmstart",
            guest.vmid,
            "root@pam",
            action=restart,
            vmids=(guest.vmid,),
            duration=QMEVENTD_RESTART if state.realism else 0.0,
            hidden=True,
        )

    return _qemu_stop_task(ctx, guest, "qmreboot", params.get("timeout"), False, False, after_stop).upid


def _qemu_stop_task(ctx, guest, type_, timeout, skiplock, force, after_stop=None):
    """The task of QemuServer.pm _do_vm_stop with ``$shutdown`` set: nothing when the VM is not running,
    ``check_lock`` unless ``skiplock``, then wait up to the timeout for the VM to power off; past it
    ``forceStop`` kills it, otherwise the task fails and the VM runs on."""
    state = ctx.state
    if guest.status != "running":
        return state.new_task(guest.node, type_, guest.vmid, ctx.user)
    if not skiplock and guest.lock:
        return state.new_task(guest.node, type_, guest.vmid, ctx.user, action=_fail("VM is locked (%s)" % guest.lock))
    timeout = _shutdown_timeout(guest, timeout)
    needs = state.faults.shutdown_seconds(guest.vmid)
    if needs is not None and needs <= timeout:
        duration, failure = needs, None
    elif force:
        duration, failure = timeout, None  # "VM still running - terminating now with SIGTERM"
    else:
        duration, failure = timeout, "VM quit/powerdown failed - got timeout"

    def action(task):
        if failure:
            raise HandlerError(failure)
        now = _now(ctx, guest)
        if now.status == "running":
            stop_guest(now)
            if after_stop:
                after_stop()

    return state.new_task(
        guest.node, type_, guest.vmid, ctx.user, action=action, vmids=(guest.vmid,), duration=duration
    )


# -- LXC ------------------------------------------------------------------------------------------


def _lxc_stop_times(state, guest, params):
    """``(timeout, needs, in_time)`` of an ``lxc-stop --timeout``: the timeout (default 60), the seconds the
    container needs to go down, and whether it does within the timeout."""
    timeout = int(params["timeout"]) if params.get("timeout") is not None else DEFAULT_SHUTDOWN_TIMEOUT
    needs = state.faults.shutdown_seconds(guest.vmid)
    return timeout, needs, needs is not None and needs <= timeout


@route("POST", "/nodes/{node}/lxc/{vmid}/status/start")
def ct_start(ctx, params):
    guest = _guest(ctx, params, "lxc")
    skiplock = _check_skiplock(ctx, params)
    if guest.status == "running":
        raise HandlerError("CT %d already running" % guest.vmid)

    def action(task):
        now = _now(ctx, guest)
        if not skiplock:
            check_lock(now)
        start_guest(ctx, now)

    return ctx.state.new_task(guest.node, "vzstart", guest.vmid, ctx.user, action=action, vmids=(guest.vmid,)).upid


@route("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown")
def ct_shutdown(ctx, params):
    """pve-container API2/LXC/Status.pm vm_shutdown: ``check_lock``, ``lxc-stop --timeout`` (default 60),
    killing after it only with ``forceStop``; else the task fails ``container did not stop``."""
    guest = _guest(ctx, params, "lxc")
    if guest.status != "running":
        raise HandlerError("CT %d not running" % guest.vmid)
    state = ctx.state
    timeout, needs, in_time = _lxc_stop_times(state, guest, params)
    force = true(params.get("forceStop"))

    def action(task):
        now = _now(ctx, guest)
        check_lock(now)
        if not in_time and not force:
            raise HandlerError("container did not stop")
        stop_guest(now)

    duration = needs if in_time else timeout
    return state.new_task(guest.node, "vzshutdown", guest.vmid, ctx.user, action=action, duration=duration).upid


@route("POST", "/nodes/{node}/lxc/{vmid}/status/reboot")
def ct_reboot(ctx, params):
    guest = _guest(ctx, params, "lxc")
    if guest.status != "running":
        raise _not_running(guest)
    state = ctx.state
    timeout, needs, in_time = _lxc_stop_times(state, guest, params)
    duration = needs if in_time else timeout  # killed after the timeout

    def action(task):
        now = _now(ctx, guest)
        if now.status != "running":  # "return if !check_running($vmid)"
            return
        stop_guest(now)
        start_guest(ctx, now)

    return state.new_task(
        guest.node, "vzreboot", guest.vmid, ctx.user, action=action, vmids=(guest.vmid,), duration=duration
    ).upid
