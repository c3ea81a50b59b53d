# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of guest_config: a whole guest config (VM or container) brought to what ``config`` and ``absent`` ask.

PRIVATE to the pve.config collection.

``plan(ctx)`` looks at the guest's current state and returns the next step as a ``Change`` for the shared
engine (``apply.Rounds``), which writes it with the digest of its own read and plans again. The steps come in
this order, each a round of its own: ``set`` (every key whose value differs, property-string keys merged
sub-key by sub-key) -> ``delete`` (the ``absent`` keys still there). In check mode the first step carries
the whole plan: its predicted config and diff cover every step, ``result["steps"]`` lists them.

``if_digest`` binds a run to the config a plan was computed from: a different digest at the first read is
refused before any write. fleet_config runs the same plan per guest
(``apply.apply_change(api, guest, params, plan, check_mode)``), so both modules write the same requests.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import KIND_LABEL

OPTIONS = dict(
    type=dict(type="str", choices=["qemu", "lxc"]),
    config=dict(type="dict"),
    absent=dict(type="list", elements="str"),
    update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
    if_digest=dict(type="str"),
)
# What fleet_config (or any caller of ``plan``) gets for an option it leaves out.
DEFAULTS = {name: spec.get("default") for name, spec in OPTIONS.items()}
MASK = "********"
# Result-key words of the steps, in the order a plan runs them.
SET, DELETE = "set", "delete"

# --- keys and values (config_keys / config_values take these over) -------------------------------------------

SECRET_KEYS = ("cipassword", "password")
# Keys a config write does not take or that mean nothing to write (the API's config read shows them).
READ_ONLY = ("digest", "lock", "vmstate", "parent", "snaptime", "runningmachine", "runningcpu", "meta")
_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
_FORMATS = {
    "qemu": (
        (re.compile(r"^(ide|sata|scsi|virtio)\d+$"), lambda m: "qemu_" + m.group(1)),
        (re.compile(r"^(efidisk|tpmstate)0$"), lambda m: "qemu_" + m.group(1)),
        (re.compile(r"^net\d+$"), lambda m: "qemu_net"),
        (re.compile(r"^unused\d+$"), lambda m: "qemu_unused"),
        (re.compile(r"^(cpu|memory)$"), lambda m: "qemu_" + m.group(1)),
    ),
    "lxc": (
        (re.compile(r"^mp\d+$"), lambda m: "lxc_mp"),
        (re.compile(r"^rootfs$"), lambda m: "lxc_rootfs"),
        (re.compile(r"^net\d+$"), lambda m: "lxc_net"),
        (re.compile(r"^unused\d+$"), lambda m: "lxc_unused"),
    ),
}
_VOLUME = {
    "qemu": re.compile(
        r"^(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0|tpmstate0)$"
    ),
    "lxc": re.compile(r"^(?:rootfs|mp\d+)$"),
}


def key_format(kind, key):
    """The property-string format of ``key`` (``schema_formats.FORMATS`` name), or None for a scalar key."""
    for pattern, name in _FORMATS[kind]:
        match = pattern.match(key)
        if match:
            return name(match)
    return None


def is_volume_key(kind, key):
    return bool(_VOLUME[kind].match(key))


def check_keys(kind, config, absent):
    """Refuse, before any request, keys that cannot be written and keys both set and removed."""
    for key in list(config) + list(absent):
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidRequest("%r is not a config key of a %s" % (key, KIND_LABEL[kind]))
        if key in READ_ONLY:
            raise InvalidRequest("%s is read-only: Proxmox maintains it, a config write cannot set or remove it" % key)
    both = sorted(set(config) & set(absent))
    if both:
        raise InvalidRequest("%s both in config and in absent: give each key in one of them" % ", ".join(both))
    for key, value in config.items():
        if isinstance(value, dict) and key_format(kind, key) is None:
            raise InvalidRequest("%s is not a property string: give its value, not a dict of sub-keys" % key)


def wanted_text(kind, key, wanted, current, update_password="on_create"):
    """The text to write for ``key``, or None when ``current`` already means ``wanted``."""
    if key in SECRET_KEYS:
        if current is None or update_password == "always":
            return property_string.checked_text(key, wanted)
        return None
    fmt = key_format(kind, key)
    if isinstance(wanted, dict):
        desired = {sub: property_string.DELETE if value is None else value for sub, value in wanted.items()}
        text, changed = property_string.merge(current or "", desired, fmt)
        return text if changed or current is None else None
    text = property_string.to_text(wanted)
    if current is None:
        return text
    if fmt:
        same = _comparable(property_string.parse(current, fmt), fmt) == _comparable(
            property_string.parse(text, fmt), fmt
        )
    else:
        same = property_string.to_text(current) == text
    return None if same else text


def _comparable(values, fmt):
    return {key: property_string.normalise(key, value, fmt) for key, value in values.items()}


def masked(config):
    """``config`` with the values of SECRET_KEYS replaced by a mask."""
    return {key: MASK if key in SECRET_KEYS and value is not None else value for key, value in config.items()}


# --- parameters ----------------------------------------------------------------------------------------------


def settings(params):
    """The params with the defaults of guest_config for options a caller left out (fleet_config)."""
    merged = dict(DEFAULTS)
    merged.update({key: value for key, value in params.items() if value is not None})
    merged["config"] = dict(merged.get("config") or {})
    merged["absent"] = list(merged.get("absent") or [])
    return merged


def check_params(params):
    """What can be checked without the guest: ``absent`` entries are key names."""
    for key in params.get("absent") or []:
        if not isinstance(key, str) or not key.strip():
            raise InvalidRequest("absent must list config keys, got %r" % (key,))


def secrets(params):
    """The secret values inside ``config`` (masked by Ansible in everything the module returns)."""
    config = params.get("config") or {}
    return [str(config[key]) for key in SECRET_KEYS if config.get(key) is not None]


# --- the plan ------------------------------------------------------------------------------------------------


class Step(object):
    """One planned step: its ``action`` (result word), the ``keys`` it touches and its ``change``."""

    def __init__(self, action, keys, change):
        self.action = action
        self.keys = list(keys)
        self.change = change

    def record(self):
        return {"action": self.action, "keys": self.keys}


def plan(ctx):
    """The next step towards ``config``/``absent`` (the whole plan in check mode); see the module docstring."""
    params = settings(ctx.params)
    kind = ctx.guest.kind
    check_guest(ctx, params)
    check_keys(kind, params["config"], params["absent"])
    digest = ctx.memory.get("digest", ctx.state.digest)
    done = ctx.memory.get("steps", [])
    steps = planned_steps(ctx, params)
    result = {"digest": digest, "steps": done}
    if not steps:
        return Change(result=result)
    if ctx.check_mode:
        return whole_plan(ctx, steps, result)
    step = steps[0]
    change = step.change
    change.remember.update(digest=digest, steps=done + [step.record()])
    change.result.update(result)
    change.writes = len(done) + len(steps)
    return change


def check_guest(ctx, params):
    """``type`` must be the guest's; ``if_digest`` must be the digest of the first read (before any write)."""
    if params["type"] and params["type"] != ctx.guest.kind:
        raise InvalidRequest(
            "guest %d is a %s, not type %s" % (ctx.guest.vmid, KIND_LABEL[ctx.guest.kind], params["type"])
        )
    wanted = params["if_digest"]
    if wanted and "digest" not in ctx.memory and wanted != ctx.state.digest:
        raise InvalidRequest(
            "the config of %s changed since the plan was made: its digest is %s, if_digest asks for %s; "
            "plan again" % (ctx.guest.label, ctx.state.digest, wanted)
        )


def planned_steps(ctx, params):
    """Every step still needed, in order, computed from the current state."""
    steps = []
    to_set = wanted_values(ctx, params)
    if to_set:
        keys = list(to_set)
        steps.append(Step(SET, keys, Change(set=to_set, summary="set " + ", ".join(keys))))
    to_delete = [key for key in params["absent"] if key in ctx.config]
    if to_delete:
        steps.append(Step(DELETE, to_delete, Change(delete=to_delete, summary="delete " + ", ".join(to_delete))))
    return steps


def wanted_values(ctx, params):
    """``{key: text}`` of the ``config`` keys whose value differs from the pending-applied config."""
    kind = ctx.guest.kind
    to_set = {}
    for key, wanted in params["config"].items():
        if is_volume_key(kind, key) and isinstance(wanted, dict) and ("storage" in wanted or "size" in wanted):
            raise InvalidRequest(
                "%s: creating or growing volumes (storage, size) is not supported by this version of guest_config" % key
            )
        text = wanted_text(kind, key, wanted, ctx.config.get(key), params["update_password"])
        if text is not None:
            to_set[key] = text
    return to_set


def whole_plan(ctx, steps, result):
    """The first step's change carrying the whole plan: its config, diff and words cover every step."""
    first = steps[0].change
    return WholePlan(
        steps,
        set=first.set,
        delete=first.delete,
        resize=first.resize,
        result=dict(result, steps=result["steps"] + [step.record() for step in steps]),
        summary=first.summary,
        preview="; then ".join(step.change.preview for step in steps),
    )


class WholePlan(Change):
    """Check mode: ``predict`` and ``diff`` apply every step, secrets masked."""

    def __init__(self, steps, **kwargs):
        super().__init__(**kwargs)
        self.steps = steps

    def keys(self):
        keys = []
        for step in self.steps:
            keys.extend(key for key in step.change.keys() if key not in keys)
        return keys

    def predict(self, config):
        for step in self.steps:
            config = step.change.predict(config)
        return masked(config)

    def diff(self, config):
        after_config = self.predict(config)
        before = {key: config[key] for key in self.keys() if key in config}
        after = {key: after_config[key] for key in self.keys() if key in after_config}
        return {"before": masked(before), "after": after}
