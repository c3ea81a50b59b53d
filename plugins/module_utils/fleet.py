# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many guests in one module run: choose them from one ``/cluster/resources`` read, apply one plan to each
concurrently (a total and a per-node limit), and sum up the per-guest results.

PRIVATE to the pve.config collection.

Each guest goes through ``apply.apply_change`` exactly as a single-guest module sends it (its own digest, lock
wait, task wait and retries: one ``apply.Rounds`` per guest, nothing shared between them but the HTTP session).
A guest that fails does not stop the others, and no guest is interrupted half-way: every guest started is
run to its end before the fleet's result is decided.
"""

from __future__ import annotations

import time
import traceback
from collections import OrderedDict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible_collections.pve.config.plugins.module_utils.apply import apply_change
from ansible_collections.pve.config.plugins.module_utils.cluster_guests import (
    checked_filters,
    cluster_guests,
    matches,
)
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest, PveError
from ansible_collections.pve.config.plugins.module_utils.guest import KIND_LABEL, Guest, locate, read_resources
from ansible_collections.pve.config.plugins.module_utils.outcome import tell

SELECT_KEYS = ("tags", "pools", "nodes", "types", "names", "vmids")
ENTRY_KEYS = ("vmid", "name", "config", "absent", "if_digest")
# the keys of a guest's result in ``guests`` (besides what the plan adds: steps, digest, rebooted, ...);
# ``config`` is left out: a fleet's result would carry every guest's whole config
GUEST_KEYS = ("vmid", "node", "name", "guest_type", "changed", "failed", "msg", "diff", "pending", "reboot_required")
LEFT_OUT = ("config",)


class Target(object):
    """One guest of the fleet: where it is (``guest.Guest``) and the params its ``apply_change`` gets."""

    def __init__(self, guest, params):
        self.guest = guest
        self.params = params
        self.position = None  # index of its entry in ``guests`` (None when chosen by ``select``)

    @property
    def label(self):
        return self.guest.label


MAX_PARALLEL = 100
# Defaults: guests (so API requests, one per guest at a time) in flight in all and on one node. What a node does
# with them (proxmox/pve-manager, proxmox/pve-http-server, proxmox/qemu-server sources):
# - every request of the run reaches the pveproxy of ``api_host``: ``max_workers => 3`` (pve-manager
#   PVE/Service/pveproxy.pm %daemon_options), each worker accepting up to ``max_conn => 500`` connections with
#   ``keep_alive => 100`` requests each (pveproxy.pm ``init`` server_config; pve-http-server
#   src/PVE/APIServer/AnyEvent.pm ``new``: keep-alive stops only at max_conn - 20). 20 connections are far
#   inside that, and requests for another node are forwarded without blocking a worker (AnyEvent.pm
#   ``handle_api2_request`` -> ``proxy_request`` for a ``proxyto => 'node'`` method, pve-manager PVE/HTTPServer.pm
#   ``rest_handler``);
# - on the guest's node a config GET (qemu-server src/PVE/API2/Qemu.pm ``vm_config``, not protected) runs inside
#   one of pveproxy's 3 workers, a config write (``update_vm``/``update_vm_async``: ``protected => 1``) is handed
#   to pvedaemon (``rest_handler``: protected and not root -> proxy to localhost), ``max_workers => 3``
#   (pve-manager PVE/Service/pvedaemon.pm), which runs it. A node thus executes at most 3 reads and 3 writes at
#   once whatever the client sends; ``per_node`` 5 keeps about as many again waiting or on the wire, which is
#   what hides a remote cluster's round trip, and leaves each worker a queue of at most one or two short requests
#   (other clients, the web UI, wait behind at most those).
# ``parallel`` 10 is the default issue 11 asks for; with ``per_node`` 5 a two-node cluster reaches it (the
# earlier 4 ran only 8 at once there). Raise both for a larger cluster or a longer round trip: 20 connections are
# still far inside pveproxy's limits above.
PARALLEL = 10
PER_NODE = 5


def check_limits(params):
    """``parallel`` 1-100, ``per_node`` at least 1, ``max_fail_percentage`` 0-100 (before any request)."""
    parallel, per_node = params.get("parallel"), params.get("per_node")
    if not 1 <= parallel <= MAX_PARALLEL:
        raise InvalidRequest("parallel must be 1 to %d, got %s" % (MAX_PARALLEL, parallel))
    if per_node < 1:
        raise InvalidRequest("per_node must be 1 or more, got %s" % per_node)
    percentage = params.get("max_fail_percentage")
    if not 0 <= percentage <= 100:
        raise InvalidRequest("max_fail_percentage must be 0 to 100, got %s" % percentage)


def select_filters(params):
    """The filters of ``select`` (keys left out or null dropped); at least one, and a change to make."""
    filters = {key: value for key, value in (params.get("select") or {}).items() if value is not None}
    if not filters:
        raise InvalidRequest(
            "select needs at least one of %s (to choose every guest: types: [qemu, lxc])" % ", ".join(SELECT_KEYS)
        )
    if not params.get("config") and not params.get("absent"):
        raise InvalidRequest("select needs config or absent: the change to make to the guests it chooses")
    return checked_filters(filters, SELECT_KEYS, where="select")


def check_entries(entries):
    """Refuse a malformed ``guests`` list before any request: an entry that is not a dict, has a key other
    than vmid/name/config/absent/if_digest, neither or both of vmid and name, or the same vmid or name twice."""
    seen = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise InvalidRequest("guests entry %d must be a dict with vmid or name, not %r" % (number, entry))
        unknown = sorted(set(entry) - set(ENTRY_KEYS), key=str)
        if unknown:
            raise InvalidRequest(
                "guests entry %d: unknown key(s) %s (use %s)"
                % (number, ", ".join(map(str, unknown)), ", ".join(ENTRY_KEYS))
            )
        has_vmid, has_name = entry.get("vmid") is not None, entry.get("name") is not None
        if has_vmid == has_name:
            raise InvalidRequest("guests entry %d needs exactly one of vmid and name, got %r" % (number, entry))
        if not isinstance(entry.get("config") or {}, dict):
            raise InvalidRequest("guests entry %d: config must be a dict, not %r" % (number, entry["config"]))
        if not isinstance(entry.get("absent") or [], list):
            raise InvalidRequest("guests entry %d: absent must be a list, not %r" % (number, entry["absent"]))
        ident = ("vmid", _vmid(entry["vmid"], number)) if has_vmid else ("name", str(entry["name"]))
        if ident in seen:
            raise InvalidRequest("guests entries %d and %d both name %s %s" % (seen[ident], number, ident[0], ident[1]))
        seen[ident] = number


def _vmid(value, number):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidRequest("guests entry %d: vmid %r is not a number" % (number, value)) from None


def guest_params(params, config, absent, vmid=None, name=None, node=None, if_digest=None):
    """The params one guest's ``apply_change`` gets: the fleet's, with this guest's selection and change, and its
    ``if_digest`` (guest_config's: the guest is refused before any write when its config digest differs)."""
    return dict(
        params,
        vmid=vmid,
        name=name,
        node=node,
        config=dict(config or {}),
        absent=list(absent or []),
        if_digest=if_digest,
    )


def select_targets(api, params):
    """The guests of ``params`` (``guests`` entries or ``select``) from one ``GET /cluster/resources?type=vm``.

    ``select``: every guest (templates left out) that matches all of its filters, with the fleet's ``config``
    and ``absent``. ``guests``: each entry found by vmid or name in the same rows (``guest.locate``, so a name
    the rows miss is confirmed in the nodes' lists); a guest listed twice is refused. Returns ``(targets,
    missing)``: ``missing`` are ``(position, entry, error)`` of entries no guest answers to, ``position`` their
    index in ``guests`` (a target's is ``Target.position``).
    """
    entries = params.get("guests")
    if entries is not None:
        check_entries(entries)
    else:
        filters = select_filters(params)
    rows = read_resources(api)
    if entries is None:
        targets = [
            Target(
                Guest(facts["vmid"], facts["node"], facts["type"], facts["name"], facts["status"], facts["lock"]),
                guest_params(params, params.get("config"), params.get("absent"), facts["vmid"], node=facts["node"]),
            )
            for facts in cluster_guests(rows)
            if matches(facts, filters)
        ]
        return targets, []
    targets, missing, where = [], [], {}
    for position, entry in enumerate(entries):
        vmid = None if entry.get("vmid") is None else int(entry["vmid"])
        name = None if vmid is not None else str(entry["name"])
        try:
            guest = locate(api, None, vmid=vmid, name=name, resources=rows)
        except PveError as exc:
            missing.append((position, entry, exc))
            continue
        if guest.vmid in where:
            raise InvalidRequest(
                "guest %d is listed twice in guests (as %s and %s)"
                % (guest.vmid, where[guest.vmid], _entry_words(entry))
            )
        where[guest.vmid] = _entry_words(entry)
        target = Target(
            guest,
            guest_params(
                params, entry.get("config"), entry.get("absent"), vmid, name, if_digest=entry.get("if_digest")
            ),
        )
        target.position = position
        targets.append(target)
    return targets, missing


def _entry_words(entry):
    return "vmid %s" % entry["vmid"] if entry.get("vmid") is not None else "name %r" % entry["name"]


def run_fleet(api, targets, plan, check_mode=False, parallel=PARALLEL, per_node=PER_NODE, clock=None, on_done=None):
    """Apply ``plan`` to every target, at most ``parallel`` guests at once and ``per_node`` on one node.

    Returns one result per target, in the targets' order (``guest_result``). Guests wait in their order; a
    node's guests start in turn with the other nodes'; a node at ``per_node`` lets the others go first. ``on_done(result, done, total)``
    is called (in this thread) as each guest ends.
    """
    results = [None] * len(targets)
    queues = OrderedDict()
    for index, target in enumerate(targets):
        queues.setdefault(target.guest.node, deque()).append(index)
    nodes = list(queues)
    busy = dict.fromkeys(nodes, 0)
    running = {}
    done = turn = 0
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets) or 1))) as pool:
        while running or any(queues.values()):
            # start guests one node at a time, in turn, so the nodes' slots fill evenly
            idle = 0
            while len(running) < parallel and idle < len(nodes):
                node = nodes[turn % len(nodes)]
                turn += 1
                if not queues[node] or busy[node] >= per_node:
                    idle += 1
                    continue
                idle = 0
                index = queues[node].popleft()
                busy[node] += 1
                running[pool.submit(run_guest, api, targets[index], plan, check_mode, clock)] = index
            finished, _pending = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                index = running.pop(future)
                busy[targets[index].guest.node] -= 1
                results[index] = future.result()
                done += 1
                if on_done:
                    on_done(results[index], done, len(targets))
    return results


def run_guest(api, target, plan, check_mode, clock):
    """One guest's ``apply_change`` as a ``guest_result``; its failure is its own, never the fleet's."""
    try:
        result = apply_change(api, target.guest, target.params, plan, check_mode=check_mode, clock=clock)
    except PveError as exc:
        tell(exc, [])
        return failed_result(target, exc.msg, exc.details)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a bug must not lose the other guests
        return failed_result(
            target,
            "unexpected error on %s: %s: %s" % (target.label, type(exc).__name__, exc),
            dict(changed=True, exception=traceback.format_exc()),
        )
    return guest_result(target, result)


def guest_result(target, result):
    """The per-guest entry of ``guests``: the module result of that guest without its whole ``config``."""
    entry = {key: value for key, value in result.items() if key not in LEFT_OUT}
    entry.update(name=target.guest.name, failed=False)
    return entry


def failed_result(target, msg, details):
    """The entry of a guest whose run failed: its error, whether it changed anything, and what the re-read after
    a failed write showed (``pending``)."""
    guest = target.guest
    entry = dict(
        vmid=guest.vmid,
        node=guest.node,
        name=guest.name,
        guest_type=guest.kind,
        changed=bool(details.get("changed")),
        failed=True,
        msg=msg,
    )
    entry.update({key: value for key, value in details.items() if key not in LEFT_OUT and key not in entry})
    return entry


def missing_result(entry, exc):
    """The entry of a ``guests`` entry no guest answers to (a failed guest: nothing was sent for it)."""
    tell(exc, [])
    return dict(vmid=entry.get("vmid"), node=None, name=entry.get("name"), changed=False, failed=True, msg=exc.msg)


class Summary(object):
    """The fleet's outcome from its guests' results: counts, rate, whether the task fails, and its message."""

    def __init__(self, results, seconds, max_fail_percentage=0, check_mode=False):
        self.results = results
        self.seconds = seconds
        self.max_fail_percentage = max_fail_percentage
        self.check_mode = check_mode
        self.failed = [r for r in results if r["failed"]]
        self.changed = [r for r in results if r["changed"]]

    @property
    def fails_task(self):
        """Ansible's rule for ``max_fail_percentage``: the task fails when the failed share exceeds it."""
        return bool(self.failed) and 100.0 * len(self.failed) / len(self.results) > self.max_fail_percentage

    def progress(self):
        total = len(self.results)
        return dict(
            guests=total,
            changed=len(self.changed),
            unchanged=total - len(self.changed) - len([r for r in self.failed if not r["changed"]]),
            failed=len(self.failed),
            seconds=round(self.seconds, 3),
            guests_per_second=round(total / self.seconds, 1) if self.seconds > 0 else None,
        )

    def msg(self):
        progress = self.progress()
        if not self.results:
            return "no guest matched; nothing to do"
        words = "%d guest%s in %.1fs (%s guests/s): %d %s, %d already as requested" % (
            progress["guests"],
            "" if progress["guests"] == 1 else "s",
            self.seconds,
            progress["guests_per_second"],
            progress["changed"],
            "would change" if self.check_mode else "changed",
            progress["unchanged"],
        )
        if self.failed:
            words += ", %d failed (%s)" % (
                len(self.failed),
                "; ".join("%s: %s" % (_label(r), r["msg"]) for r in self.failed[:3])
                + ("; ..." if len(self.failed) > 3 else ""),
            )
            if not self.fails_task:
                words += " within max_fail_percentage %s" % self.max_fail_percentage
        return words


def _label(result):
    kind = result.get("guest_type")
    if kind in KIND_LABEL and result.get("vmid") is not None:
        return "%s %s" % (KIND_LABEL[kind], result["vmid"])
    return "vmid %s" % result["vmid"] if result.get("vmid") is not None else "name %r" % result.get("name")


def ansible_diff(results):
    """The ``diff`` Ansible shows with ``--diff``: one before/after per changed guest, headed by the guest."""
    return [
        dict(before_header=_label(r), after_header=_label(r), before=r["diff"]["before"], after=r["diff"]["after"])
        for r in results
        if r["changed"] and isinstance(r.get("diff"), dict)
    ]


def apply_fleet(api, params, plan, check_mode=False, check=None, clock=None, now=time.monotonic, progress=None):
    """Choose the guests, run them, return ``(summary, results)``; raises only before any write.

    ``progress``: a ``fleet_progress.Progress`` told the count once the guests are chosen and as each one ends.

    ``check(kind, params)``: the plan's own input checks for one guest's params, run for every guest before
    the first write, so input that is wrong for one of them fails the task with nothing changed.
    """
    started = now()
    targets, missing = select_targets(api, params)
    for target in targets if check else []:
        try:
            check(target.guest.kind, target.params)
        except InvalidRequest as exc:
            raise InvalidRequest("%s: %s" % (target.label, exc.msg), **exc.details) from None
    if progress is not None:
        progress.start(len(targets) + len(missing), failed=len(missing))
    results = run_fleet(
        api,
        targets,
        plan,
        check_mode,
        params.get("parallel") or PARALLEL,
        params.get("per_node") or PER_NODE,
        clock=clock,
        on_done=None if progress is None else progress.guest_done,
    )
    if missing:  # back in the order of the ``guests`` entries
        placed = [(target.position, result) for target, result in zip(targets, results, strict=True)]
        placed += [(position, missing_result(entry, exc)) for position, entry, exc in missing]
        results = [result for _position, result in sorted(placed, key=lambda pair: pair[0])]
    return Summary(results, now() - started, params.get("max_fail_percentage") or 0, check_mode), results
