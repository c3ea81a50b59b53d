# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failure did to the guest, in words: the one place that says "nothing was changed".

PRIVATE to the pve.config collection.

Every error of a changing module ends with its outcome: "nothing was changed" only when no write was sent
or a re-read proves the config is as before; otherwise the writes Proxmox confirmed ("already applied: ...")
and, for a write that failed, timed out or was interrupted, what the re-read after it shows (qemu-server
writes ``[PENDING]`` entries and allocates volumes before it hot-plugs, src/PVE/API2/Qemu.pm
``$update_vm_api``, so a failed write can leave part of the change behind).
"""

from __future__ import annotations

import re

NOTHING_CHANGED = "nothing was changed"
_VOLUME_KEY = re.compile(r"^(?:(?:ide|sata|scsi|virtio|unused|mp)\d+|efidisk0|tpmstate0|rootfs)$")


class FailedWrite(object):
    """A write that did not end in success. ``accepted``: Proxmox took it (answered a UPID or returned);
    ``before``: the state it was planned on; ``after``: the re-read after the failure, or ``None`` with
    ``reread_error`` when that failed too; ``running``: its task was still running when we stopped waiting."""

    def __init__(self, accepted, before, after=None, reread_error=None, running=False):
        self.accepted = accepted
        self.before = before
        self.after = after
        self.reread_error = reread_error
        self.running = running

    def words(self):
        if self.after is None:
            return "%s its outcome is unknown (the re-read failed too: %s)" % (
                "the write was accepted;" if self.accepted else "the write may have reached Proxmox;",
                self.reread_error,
            )
        found = describe(self.before, self.after)
        if self.running:
            return "the write was accepted and its task is still running; its outcome so far: %s" % (
                found or "no change to the config yet"
            )
        if self.accepted:
            return "the write was accepted; its outcome: %s" % (found or "no change to the config")
        return "the re-read after it shows: %s" % found if found else ""


def tell(exc, steps, first=None, failed=None):
    """End ``exc``'s message with the outcome (once) and put ``changed`` (and the re-read) into its details.

    ``steps``: the changes Proxmox confirmed, in order. ``first``: the guest state read first. ``failed``: a
    ``FailedWrite`` when the error came from a write.
    """
    if getattr(exc, "outcome_told", False):
        return exc
    base = exc.msg.rstrip().rstrip(";.")
    parts = []
    if steps:
        parts.append("already applied: %s" % "; ".join(summary(s) for s in steps))
    if failed is not None:
        parts.append(failed.words())
    parts = [p for p in parts if p]
    exc.msg = "%s; %s" % (base, "; ".join(parts) or NOTHING_CHANGED)
    exc.args = (exc.msg,)
    exc.outcome_told = True
    exc.details["changed"] = _changed(steps, first, failed)
    if failed is not None and failed.after is not None:
        exc.details.update(config=failed.after.config, pending=dict(failed.after.pending))
    return exc


def _changed(steps, first, failed):
    if steps:
        return True
    if failed is None:
        return False
    if failed.running or failed.after is None:
        return failed.accepted  # unknown or not final: an accepted write may well change the guest
    start = first or failed.before
    return (start.current, start.pending) != (failed.after.current, failed.after.pending)


def summary(change):
    """Words for one written change: the module's own, or built from the keys."""
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


def describe(before, after):
    """What differs between two reads: "already applied: set a, delete b; left pending: c; new volume left
    behind: VOLID (unused0)"; empty when the reads are equal."""
    applied = []
    for key in _keys(before.current, after.current):
        if before.current.get(key) != after.current.get(key):
            applied.append(("set " if key in after.current else "delete ") + key)
    pending = []
    for key in _keys(before.pending, after.pending):
        if key in after.pending and (key not in before.pending or before.pending[key] != after.pending[key]):
            pending.append(key + (" (delete)" if after.pending[key] is None else ""))
    old = set(_volumes(before).values())
    left = [
        "%s (%s)" % (volid, key)
        for key, volid in sorted(_volumes(after, pending_too=True).items())
        if volid not in old and (key.startswith("unused") or key in after.pending)
    ]
    parts = []
    if applied:
        parts.append("already applied: " + ", ".join(applied))
    if pending:
        parts.append("left pending: " + ", ".join(pending))
    if left:
        parts.append("new volume left behind: " + ", ".join(left))
    return "; ".join(parts)


def _volumes(state, pending_too=False):
    """``{key: volid}`` of the volume-holding keys (drives, mount points, unusedN) of a state."""
    found = {}
    sources = [state.current] + ([{k: v for k, v in state.pending.items() if v is not None}] if pending_too else [])
    for values in sources:
        for key, value in values.items():
            if _VOLUME_KEY.match(key) and isinstance(value, str):
                volid = value.split(",")[0]
                volid = volid[len("file=") :] if volid.startswith("file=") else volid
                if volid and volid != "none":
                    found[key] = volid
    return found


def _keys(*dicts):
    keys = set()
    for values in dicts:
        keys.update(values)
    return sorted(keys)
