# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed reboot: ``POST .../status/reboot``, then wait until the guest runs again with nothing pending.

PRIVATE to the pve.config collection.

What Proxmox does (the reboot is the only power action used, never a stop):

- QEMU, qemu-server ``src/PVE/API2/Qemu.pm`` vm_reboot: refuses a VM that is not running (``VM <vmid> not
  running``) or paused, then forks a ``qmreboot`` task: ``PVE::QemuServer::vm_reboot`` checks the config lock and
  asks the guest to shut down (``_do_vm_stop`` with ``$shutdown``: ACPI, or the guest agent), waiting ``timeout``
  seconds (default 60, or the ``down`` of ``startup``). It never forces: past the timeout the task fails
  ``VM quit/powerdown failed - got timeout`` and the VM runs on. The task ends when the VM is off; qmeventd then
  starts it again (``vm_start`` applies ``[PENDING]`` and regenerates the cloud-init drive), so right after the
  task the VM can still be ``stopped``.
- LXC, pve-container ``src/PVE/API2/LXC/Status.pm`` vm_reboot: refuses a container that is not running (also
  ``VM <vmid> not running``), then a ``vzreboot`` task runs ``PVE::LXC::vm_reboot``: ``lxc-stop --timeout`` and
  ``vm_start`` (which applies ``[PENDING]``) in the same task. pve-container kills a container that is not down
  after ``timeout`` (``vm_stop($vmid, 0, $timeout, 1)``): the module cannot change that, only give it the whole
  ``reboot_timeout``.
- Neither reboot goes through HA (vm_reboot has no ``vm_is_ha_managed`` branch, unlike start/shutdown, which call
  ``ha-manager``), and ``protection`` does not guard power actions: an HA-managed or protected guest is rebooted
  by the same request.
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils.errors import (
    GuestLocked,
    InvalidRequest,
    PveError,
    RebootFailed,
    TaskFailed,
    TaskTimeout,
)
from ansible_collections.pve.config.plugins.module_utils.guest import read_state
from ansible_collections.pve.config.plugins.module_utils.tasks import Backoff, Clock, is_upid, wait_task


def reboot_and_wait(api, guest, timeout, clock=None):
    """Reboot ``guest`` through the API and wait, ``timeout`` seconds in all, until it runs with nothing pending.

    Proxmox gets ``shutdown_timeout(timeout)`` for the shutdown. Returns ``dict(rebooted=True, task=UPID,
    status="running", pending=[])``; raises ``RebootFailed`` (details: ``task``, ``guest_status``, ``pending``)
    saying what state the guest was left in.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise InvalidRequest("reboot_timeout must be a whole number of seconds, at least 1 (got %r)" % (timeout,))
    clock = clock or Clock()
    deadline = clock.now() + timeout
    try:
        upid = api.post(guest.path + "/status/reboot", timeout=shutdown_timeout(timeout))
    except PveError as exc:
        raise _failed(api, guest, None, "Proxmox refused to reboot %s: %s" % (guest.label, exc.msg)) from None
    if not is_upid(upid):
        raise _failed(api, guest, None, "Proxmox answered the reboot of %s without a task id: %r" % (guest.label, upid))
    try:
        wait_task(api, upid, timeout=max(deadline - clock.now(), 0), what="reboot of %s" % guest.label, clock=clock)
    except TaskTimeout:
        raise _failed(
            api, guest, upid, "the reboot task of %s was still running after %ss" % (guest.label, timeout)
        ) from None
    except (TaskFailed, GuestLocked) as exc:
        raise _failed(api, guest, upid, "the reboot of %s failed: %s" % (guest.label, exc.msg)) from None
    status, pending = _wait_running_applied(api, guest, deadline, clock)
    if status != "running" or pending:
        raise _failed(
            api,
            guest,
            upid,
            "the reboot task of %s ended OK but after %ss the guest %s"
            % (guest.label, timeout, _left_in(status, pending)),
            status,
            pending,
        )
    return dict(rebooted=True, task=upid, status=status, pending=[])


def shutdown_timeout(timeout):
    """The ``timeout`` given to Proxmox for the shutdown: three quarters of the whole (at least 1 s), so a guest
    that does not power off makes the task fail with Proxmox's own message while the module still waits, and
    the rest is left for the start."""
    return max(1, timeout * 3 // 4)


def _wait_running_applied(api, guest, deadline, clock):
    """Poll ``status/current`` and ``pending`` until the guest runs with nothing pending, or the deadline."""
    backoff = Backoff(max(deadline - clock.now(), 0), first=0.5, cap=5.0, clock=clock)
    while True:
        status, pending = _guest_now(api, guest)
        if status == "running" and not pending:
            return status, pending
        if not backoff.wait():
            return status, pending


def _guest_now(api, guest):
    """``(status, pending keys)`` as Proxmox answers them now."""
    status = (api.get(guest.path + "/status/current") or {}).get("status")
    return status, sorted(read_state(api, guest).pending)


def _failed(api, guest, upid, message, status=None, pending=None):
    """``RebootFailed`` with what the guest was left in (read now unless known; unknown if the reads fail too)."""
    if status is None:
        try:
            status, pending = _guest_now(api, guest)
        except PveError:
            status, pending = "unknown", None
    if status is not None and pending is not None and _left_in(status, pending) not in message:
        message += "; the guest " + _left_in(status, pending)
    return RebootFailed(message, task=upid, guest_status=status, pending=pending)


def _left_in(status, pending):
    if pending:
        return "is %s with %s still pending" % (status, ", ".join(pending))
    return "is %s with nothing pending" % status
