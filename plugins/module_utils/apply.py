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
    AuthFailed,
    ConfigChanged,
    GuestLocked,
    GuestNotFound,
    PveError,
    TaskTimeout,
)
from ansible_collections.pve.config.plugins.module_utils.guest import (
    Guest,
    check_selection,
    config_name,
    locate,
    read_state,
)
from ansible_collections.pve.config.plugins.module_utils.outcome import FailedWrite, summary, tell
from ansible_collections.pve.config.plugins.module_utils.tasks import Backoff, Clock, is_upid, wait_task

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
# Writes one run may confirm: at least MAX_STEPS, or as many as the first plan says it needs (``Change.writes``:
# a guest_config plan with many grows takes one resize per disk), so a plan that keeps asking still ends.
MAX_STEPS = 6


def module_argspec(options):
    spec = dict(AUTH_ARGSPEC)
    spec.update(GUEST_ARGSPEC)
    spec.update(options)
    return spec


def build_module(options, guest_required=True, **kwargs):
    """An AnsibleModule with the shared auth and guest options; one of ``vmid``/``name`` is required unless
    ``guest_required`` is false (guest_info lists the guests without them)."""
    guest = [("vmid", "name")] if guest_required else []
    module = AnsibleModule(
        argument_spec=module_argspec(options),
        supports_check_mode=True,
        required_together=AUTH_REQUIRED_TOGETHER + kwargs.pop("required_together", []),
        required_one_of=guest + AUTH_REQUIRED_ONE_OF + kwargs.pop("required_one_of", []),
        **kwargs,
    )
    check_dependencies(module)
    return module


class Context(object):
    """What a ``plan`` function sees: the module's params, the guest, its parsed state, the API (for
    read-only validation such as storage checks), ``memory`` (facts remembered after a write) and
    ``check_mode`` (a plan that has several steps returns them all at once in check mode)."""

    def __init__(self, api, guest, params, state, memory, check_mode=False):
        self.api = api
        self.guest = guest
        self.params = params
        self.state = state
        self.memory = memory
        self.check_mode = check_mode
        self.config = state.config


def run_config_module(
    options, kind, plan, prepare=None, node_facts=None, secrets=None, probe_kind=False, **module_kwargs
):
    """Entry point of a changing module: parse arguments, apply, exit with the shared result keys.

    ``kind``: ``qemu``/``lxc``, or a function of the params for a module that manages both (``None``: the lookup
    tells). ``node_facts(params)``: whether the plan will need the guest's node row (``Guest.node_info``), asked
    after ``prepare``; then the lookup reads it in the same request as the guest's row (``guest.locate``).
    ``secrets(params)``: values given inside options that are not ``no_log`` themselves (a password in a config
    dict); Ansible masks them in everything the module returns, its invocation included. ``probe_kind``: a module
    that manages both kinds skips the lookup when ``vmid`` and ``node`` are given without a kind
    (``apply_either_kind``).
    """
    module = build_module(options, **module_kwargs)
    params = module.params
    if secrets:
        module.no_log_values.update(value for value in secrets(params) if value)
    try:
        check_selection(params)
        if prepare:
            prepare(params)
        api = connect(params)
        wanted_kind = kind(params) if callable(kind) else kind
        if probe_kind and not wanted_kind and params["vmid"] is not None and params["node"]:
            guest = Guest(params["vmid"], params["node"], "qemu")
            result = apply_either_kind(api, guest, params, plan, check_mode=module.check_mode)
        else:
            guest = locate(
                api,
                wanted_kind,
                vmid=params["vmid"],
                name=params["name"],
                node=params["node"],
                node_facts=bool(node_facts and node_facts(params)),
            )
            result = apply_change(api, guest, params, plan, check_mode=module.check_mode)
    except PveError as exc:
        tell(exc, [])
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(**result)


def apply_change(api, guest, params, plan, check_mode=False, clock=None):
    """Bring the guest to what ``plan`` asks for; return the module result. ``clock``: see tasks.Clock.

    A guest chosen by ``name`` whose config turns out to carry another name (``/cluster/resources`` lags
    behind a rename: its names come from pvestatd) is looked up again in the nodes' own lists before
    anything is written.
    """
    clock = clock or Clock()
    name = params.get("name") if params.get("vmid") is None else None
    try:
        return Rounds(api, guest, params, plan, check_mode, clock, name=name).run()
    except NameIsStale:
        guest = locate(api, guest.kind, name=name, node=params.get("node"), lists_only=True)
        return Rounds(api, guest, params, plan, check_mode, clock).run()


def apply_either_kind(api, guest, params, plan, check_mode=False, clock=None):
    """``apply_change`` for a guest given by ``vmid`` and ``node`` whose kind is not known: first as a QEMU VM,
    then as a container. The first read of a VM, ``GET .../qemu/{vmid}/pending``, answers "Configuration file
    ... does not exist" for a container (qemu-server ``PVE::QemuConfig->load_config``) before anything is
    written, so a VM costs no lookup (a no-op is one GET) and a container one failed GET instead of the lookup."""
    try:
        return apply_change(api, guest, params, plan, check_mode, clock)
    except GuestNotFound as exc:
        if exc.details.get("changed"):
            raise
    container = Guest(guest.vmid, guest.node, "lxc")
    try:
        return apply_change(api, container, params, plan, check_mode, clock)
    except GuestNotFound as exc:
        if exc.details.get("changed"):
            raise
        raise GuestNotFound(
            "no guest %d on node %s: neither a QEMU VM nor an LXC container has that vmid there"
            % (guest.vmid, guest.node)
        ) from None


class NameIsStale(Exception):
    """The first read shows that the guest found by name has another name now (nothing was written)."""


class Rounds(object):
    """The read -> plan -> write rounds of one ``apply_change`` and everything they carry between rounds.

    Budgets: at most ``MAX_STEPS`` confirmed writes (or the first plan's ``Change.writes`` when larger) and ``MAX_CONFLICTS`` stale-digest retries; waiting for
    a lock is bounded by time only (``lock_timeout`` seconds in all), never by a number of rounds.
    """

    def __init__(self, api, guest, params, plan, check_mode, clock, name=None):
        self.api = api
        self.name = name  # the name the guest was chosen by, checked against its config on the first read
        self.guest = guest
        self.params = params
        self.plan = plan
        self.check_mode = check_mode
        self.clock = clock
        self.memory = {}  # facts the plan remembers across writes (``Change.remember``)
        self.steps = []  # the changes Proxmox confirmed, in order
        self.first_state = None
        self.state = None  # the latest read
        self.task = None  # UPID of the last task waited for
        self.conflicts = 0
        self.lock_wait = None  # Backoff started at the first lock seen
        self.budget = MAX_STEPS  # confirmed writes allowed: raised by the first plan's ``Change.writes``

    def run(self):
        try:
            return self._rounds()
        except PveError as exc:
            raise tell(exc, self.steps, self.first_state) from None

    def _rounds(self):
        while True:
            self.state = read_state(self.api, self.guest)
            if self.first_state is None:
                self.first_state = self.state
                if (
                    self.name is not None
                    and config_name(self.guest.kind, self.guest.vmid, self.state.config) != self.name
                ):
                    raise NameIsStale()
            change = self.plan(Context(self.api, self.guest, self.params, self.state, self.memory, self.check_mode))
            if not self.steps:
                self.budget = max(MAX_STEPS, change.writes)
            if change.empty:
                return self.result(change)
            if self.check_mode:
                return self.result(change, predicted=True)
            if self.steps and change.same_as(self.steps[-1]):
                raise ApiError(
                    "Proxmox accepted the change of %s but %s still differs from what was asked (%s)"
                    % (self.guest.label, ", ".join(change.keys()), summary(change))
                )
            if self.state.lock:
                self.wait_for_lock(self.state.lock)
                continue
            if len(self.steps) >= self.budget:
                raise ApiError(
                    "gave up on %s after %d writes: the plan still asks for %s"
                    % (self.guest.label, len(self.steps), summary(change))
                )
            self.write(change)

    def wait_for_lock(self, lock):
        """Sleep with backoff while the guest is locked; fail once ``lock_timeout`` seconds have passed."""
        timeout = self.params.get("lock_timeout", 60)
        if self.lock_wait is None:
            self.lock_wait = Backoff(timeout, clock=self.clock)
        if not self.lock_wait.wait():
            raise GuestLocked(
                "%s is locked (%s) and stayed locked for %ss (lock_timeout)" % (self.guest.label, lock, timeout),
                lock=lock,
            )

    def write(self, change):
        """One write with the digest of this round; a stale digest or a lock means: re-read and re-plan."""
        try:
            self._write(change)
        except ConfigChanged:
            self.conflicts += 1
            if self.conflicts > MAX_CONFLICTS:
                raise ConfigChanged(
                    "the config of %s kept changing during the update (%d digest conflicts)"
                    % (self.guest.label, self.conflicts)
                ) from None
            return
        except GuestLocked as exc:
            self.wait_for_lock(exc.details.get("lock", "?"))
            return
        self.memory.update(change.remember)
        self.steps.append(change)

    def _write(self, change):
        """Send ``change``; wait for its task. Any other failure is told with what the re-read shows.
        A change that is not a config write (``Change.perform``: regenerate a cloud-init drive, reboot) runs
        itself; its errors say what it left behind."""
        if change.perform:
            self.task = change.perform(self.api, self.clock) or self.task
            return
        method, path, data = self.request(change)
        try:
            upid = getattr(self.api, method)(path, **data)
        except (ConfigChanged, GuestLocked):
            raise
        except PveError as exc:
            if refused_before_running(exc):
                raise
            raise self.failed(change.failed(exc), accepted=False) from None
        if not is_upid(upid):
            return
        what = "resize of %s" % next(iter(change.resize)) if change.resize else "config update of %s" % self.guest.label
        try:
            wait_task(self.api, upid, self.params.get("task_timeout", 300), what=what, clock=self.clock)
        except (ConfigChanged, GuestLocked):  # checked inside the task, before anything was written
            raise
        except PveError as exc:
            exc.details.setdefault("task", upid)
            raise self.failed(change.failed(exc), accepted=True, running=isinstance(exc, TaskTimeout)) from None
        self.task = upid

    def request(self, change):
        """``(method, path, data)`` of the write for ``change``: its resize first, else the config update."""
        if change.resize:
            disk, size = next(iter(change.resize.items()))
            return "put", self.guest.path + "/resize", dict(disk=disk, size=size, digest=self.state.digest)
        data = dict(change.set)
        if change.delete:
            data["delete"] = ",".join(change.delete)
        data["digest"] = self.state.digest
        return ("post" if through_task(self.guest, change) else "put"), self.guest.path + "/config", data

    def failed(self, exc, accepted, running=False):
        """``exc`` told with the outcome of the write: re-read the guest and compare with this round's read."""
        try:
            after = read_state(self.api, self.guest)
        except PveError as reread:
            failed = FailedWrite(accepted, self.state, reread_error=reread.msg, running=running)
        else:
            failed = FailedWrite(accepted, self.state, after, running=running)
        return tell(exc, self.steps, self.first_state, failed)

    def result(self, change, predicted=False):
        state = self.state
        changed = bool(self.steps) or predicted
        if predicted:
            config = change.predict(state.config)
            diff = change.diff(state.config)
            verb = "would "
        else:
            config = state.config
            diff = _diff(self.first_state.config, state.config, self.steps)
            verb = ""
        pending = dict(state.pending)
        if changed:
            what = "; ".join(summary(c) for c in self.steps) if self.steps else plan_summary(change)
            msg = "%s%s of %s on %s" % (verb, what, self.guest.label, self.guest.node)
            if pending and not predicted:
                msg += " (pending until reboot: %s)" % ", ".join(sorted(pending))
        else:
            msg = "%s on %s already as requested" % (self.guest.label, self.guest.node)
        result = dict(
            changed=changed,
            vmid=self.guest.vmid,
            node=self.guest.node,
            guest_type=self.guest.kind,
            diff=diff,
            config=config,
            pending=pending,
            reboot_required=bool(pending),
            msg=msg,
        )
        if self.task:
            result["task"] = self.task
        result.update(change.result)
        return result


def refused_before_running(exc):
    """True for an answer given before the API handler ran, so nothing can have been written: 401 (pveproxy's
    authentication, pve-http-server src/PVE/APIServer/AnyEvent.pm) and 403 (pve-manager PVE/HTTPServer.pm
    ``rest_handler`` checks the permissions with ``check_api2_permissions`` before it calls the handler)."""
    return isinstance(exc, AuthFailed) or getattr(exc, "status", None) == 403


def plan_summary(change):
    """Words for a whole plan (check mode): ``Change.preview`` (a multi-step plan's words), else its write's."""
    return change.preview or summary(change)


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


def _diff(before_config, after_config, steps):
    keys = []
    for change in steps:
        for key in change.keys():
            if key not in keys:
                keys.append(key)
    before = {k: before_config[k] for k in keys if k in before_config}
    after = {k: after_config[k] for k in keys if k in after_config}
    return {"before": before, "after": after}
