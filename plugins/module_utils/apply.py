# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared engine of every changing module: read -> plan -> diff -> check -> write (digest) -> wait.

PRIVATE to the pve.config collection.

A module gives an argument spec and a ``plan(ctx)`` function that returns a ``Change`` from the parsed
current config. This file is the only place that looks at check mode, sends writes and retries them.
A write that Proxmox rejects because the config changed meanwhile is retried after a re-read and re-plan;
a locked guest is waited for with bounded backoff; a plan with several steps (grow a disk, then change its
options) runs one step per round, each with a fresh digest.
"""

from __future__ import annotations

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pve.config.plugins.module_utils.client import (
    AUTH_ARGSPEC,
    AUTH_REQUIRED_ONE_OF,
    AUTH_REQUIRED_TOGETHER,
    check_dependencies,
    connect,
)
from ansible_collections.pve.config.plugins.module_utils.errors import (
    ApiError,
    ConfigChanged,
    GuestLocked,
    GuestNotFound,
    PveError,
)
from ansible_collections.pve.config.plugins.module_utils.guest import locate, read_state
from ansible_collections.pve.config.plugins.module_utils.tasks import Backoff, is_upid, wait_task

GUEST_ARGSPEC = dict(
    vmid=dict(type="int"),
    name=dict(type="str"),
    node=dict(type="str"),
    lock_timeout=dict(type="int", default=60),
    task_timeout=dict(type="int", default=300),
)
MAX_CONFLICTS = 3
# QEMU config keys whose write can outlive the request (see ``through_task``): the drive slots of
# PVE::QemuServer::Drive (is_valid_drivename: ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0),
# unusedN and netN.
TASK_KEYS = re.compile(r"^(?:(?:ide|sata|scsi|virtio|unused|net)\d+|efidisk0|tpmstate0)$")
MAX_STEPS = 6


def module_argspec(options):
    spec = dict(AUTH_ARGSPEC)
    spec.update(GUEST_ARGSPEC)
    spec.update(options)
    return spec


def build_module(options, **kwargs):
    """An AnsibleModule with the shared auth and guest options."""
    module = AnsibleModule(
        argument_spec=module_argspec(options),
        supports_check_mode=True,
        required_together=AUTH_REQUIRED_TOGETHER + kwargs.pop("required_together", []),
        required_one_of=[("vmid", "name")] + AUTH_REQUIRED_ONE_OF + kwargs.pop("required_one_of", []),
        **kwargs,
    )
    check_dependencies(module)
    return module


class Context(object):
    """What a ``plan`` function sees: the module's params, the guest, its parsed state, the API (for
    read-only validation such as storage checks) and ``memory`` (facts remembered after a write)."""

    def __init__(self, api, guest, params, state, memory):
        self.api = api
        self.guest = guest
        self.params = params
        self.state = state
        self.memory = memory
        self.config = state.config


def run_config_module(options, kind, plan, prepare=None, **module_kwargs):
    """Entry point of a changing module: parse arguments, apply, exit with the shared result keys."""
    module = build_module(options, **module_kwargs)
    try:
        if prepare:
            prepare(module.params)
        api = connect(module.params)
        guest = locate(api, kind, vmid=module.params["vmid"], name=module.params["name"], node=module.params["node"])
        result = apply_change(api, guest, module.params, plan, check_mode=module.check_mode)
    except PveError as exc:
        with_outcome(exc, [])
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


def with_outcome(exc, steps):
    """Make sure an error message says what was written before it: "nothing was changed" or the steps done.

    Errors raised before the first write (bad input, unknown guest, unusable storage...) and after some
    steps both reach the user through here, so every failure tells whether the guest was touched.
    """
    if "nothing was changed" not in exc.msg and "already applied" not in exc.msg:
        exc.msg = "%s; %s" % (exc.msg.rstrip().rstrip(";."), _done(steps))
        exc.args = (exc.msg,)
    return exc


def apply_change(api, guest, params, plan, check_mode=False):
    """Bring the guest to what ``plan`` asks for; return the module result."""
    steps = []
    try:
        return _apply_rounds(api, guest, params, plan, check_mode, steps)
    except PveError as exc:
        raise with_outcome(exc, steps) from None


def _apply_rounds(api, guest, params, plan, check_mode, steps):
    """The read -> plan -> write rounds of ``apply_change``; ``steps`` collects the writes done."""
    memory = {}
    lock_wait = None
    conflicts = 0
    first_state = None
    first_change = None
    last_change = None
    task = None
    for _round in range(MAX_STEPS + MAX_CONFLICTS + 1):
        try:
            state = read_state(api, guest)
        except GuestNotFound as exc:
            raise GuestNotFound("%s; %s" % (exc.msg, _done(steps))) from None
        if first_state is None:
            first_state = state
        change = plan(Context(api, guest, params, state, memory))
        if first_change is None:
            first_change = change
        if change.empty:
            return _result(guest, state, first_state, first_change, change, steps, task, params)
        if check_mode:
            return _result(guest, state, first_state, change, change, steps, task, params, predicted=True)
        if change.same_as(last_change):
            raise ApiError(
                "Proxmox accepted the change of %s but %s still differs from what was asked (%s)"
                % (guest.label, ", ".join(change.keys()), _summary(change))
            )
        if state.lock:
            lock_wait = lock_wait or Backoff(params.get("lock_timeout", 60))
            if not lock_wait.wait():
                raise _locked(guest, state.lock, params, steps)
            continue
        try:
            task = _write(api, guest, state, change, params) or task
        except ConfigChanged:
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                raise ConfigChanged(
                    "the config of %s kept changing during the update (%d digest conflicts); %s"
                    % (guest.label, conflicts, _done(steps))
                ) from None
            continue
        except GuestLocked as exc:
            lock_wait = lock_wait or Backoff(params.get("lock_timeout", 60))
            if not lock_wait.wait():
                raise _locked(guest, exc.details.get("lock", "?"), params, steps) from None
            continue
        except PveError as exc:
            raise change.failed(exc) from None
        memory.update(change.remember)
        steps.append(change)
        last_change = change
    raise ApiError("gave up on %s after %d rounds; %s" % (guest.label, MAX_STEPS + MAX_CONFLICTS + 1, _done(steps)))


def _write(api, guest, state, change, params):
    """One write with the digest read in the same round; returns the UPID of a task it waited for."""
    if change.resize:
        disk, size = next(iter(change.resize.items()))
        upid = api.put(guest.path + "/resize", disk=disk, size=size, digest=state.digest)
        if is_upid(upid):
            wait_task(api, upid, params.get("task_timeout", 300), what="resize of %s" % disk)
            return upid
        return None
    data = dict(change.set)
    if change.delete:
        data["delete"] = ",".join(change.delete)
    data["digest"] = state.digest
    if through_task(guest, change):
        upid = api.post(guest.path + "/config", **data)
    else:
        upid = api.put(guest.path + "/config", **data)
    if is_upid(upid):
        wait_task(api, upid, params.get("task_timeout", 300), what="config update of %s" % guest.label)
        return upid
    return None


def through_task(guest, change):
    """True when a QEMU write must go through ``POST .../config`` (a ``qmconfig`` task) instead of ``PUT``.

    qemu-server (src/PVE/API2/Qemu.pm, ``$update_vm_api``) runs the same update for PUT (``update_vm``, inside
    the HTTP request) and POST (``update_vm_async``, in a forked ``qmconfig`` worker that returns a UPID).
    A drive set allocates its volume (``create_disks``), a drive or ``netN`` on a running VM is hot-plugged
    (``PVE::QemuServer::vmconfig_hotplug_pending``) and ``delete=unusedN`` frees the volume
    (``try_deallocate_drive`` -> ``PVE::Storage::vdisk_free``): work that can outlive pveproxy's 30 s, after
    which a PUT gives up while the update goes on. Those writes are POSTed and their task waited for; plain
    options stay on PUT. pve-container has no such split (src/PVE/API2/LXC/Config.pm ``update_vm`` is PUT
    only and returns null), so LXC writes are always PUT.
    """
    if guest.kind != "qemu":
        return False
    return any(TASK_KEYS.match(key) for key in list(change.set) + change.delete)


def _locked(guest, lock, params, steps):
    return GuestLocked(
        "%s is locked (%s) and stayed locked for %ss (lock_timeout); %s"
        % (guest.label, lock, params.get("lock_timeout", 60), _done(steps)),
        lock=lock,
    )


def _done(steps):
    if not steps:
        return "nothing was changed"
    return "already applied: %s" % "; ".join(_summary(s) for s in steps)


def _summary(change):
    if change.summary:
        return change.summary
    parts = []
    if change.resize:
        parts.append("resize " + ", ".join("%s to %s" % item for item in change.resize.items()))
    if change.set:
        parts.append("set " + ", ".join(change.set))
    if change.delete:
        parts.append("delete " + ", ".join(change.delete))
    return "; ".join(parts)


def _result(guest, state, first_state, first_change, last_change, steps, task, params, predicted=False):
    changed = bool(steps) or predicted
    if predicted:
        config = first_change.predict(state.config)
        diff = first_change.diff(state.config)
        verb = "would "
    else:
        config = state.config
        diff = _diff(first_state.config, state.config, steps)
        verb = ""
    pending = dict(state.pending)
    if changed:
        what = first_change.preview if predicted else "; ".join(_summary(c) for c in steps)
        what = what or _summary(first_change)
        msg = "%s%s of %s on %s" % (verb, what, guest.label, guest.node)
        if pending and not predicted:
            msg += " (pending until reboot: %s)" % ", ".join(sorted(pending))
    else:
        msg = "%s on %s already as requested" % (guest.label, guest.node)
    result = dict(
        changed=changed,
        vmid=guest.vmid,
        node=guest.node,
        guest_type=guest.kind,
        diff=diff,
        config=config,
        pending=pending,
        reboot_required=bool(pending),
        msg=msg,
    )
    if task:
        result["task"] = task
    extra = dict(first_change.result if predicted else last_change.result)
    result.update(extra)
    return result


def _diff(before_config, after_config, steps):
    keys = []
    for change in steps:
        for key in change.keys():
            if key not in keys:
                keys.append(key)
    before = {k: before_config[k] for k in keys if k in before_config}
    after = {k: after_config[k] for k in keys if k in after_config}
    return {"before": before, "after": after}
