# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain resource keys (memory, cores, cpulimit...) shared by vm_resources and container_resources.

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

import re

from ansible.module_utils.common.warnings import get_warning_messages, warn

from ansible_collections.pve.config.plugins.module_utils import property_string, validate
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.units import parse_memory_mib


class Stored(object):
    """What Proxmox keeps in the config when a value is written: ``value``; ``accept``: config values that
    already satisfy the request besides ``value``; ``note``: why ``value`` differs from the request (an Ansible
    warning); ``remember``: facts the re-plans of the same run reuse (``Change.remember``)."""

    def __init__(self, value, accept=(), note=None, remember=None):
        self.value = value
        self.accept = set(accept) | {value}
        self.note = note
        self.remember = dict(remember or {})


class Resource(object):
    """One config key of the ``table`` (``qemu``/``lxc``) of ``option_ranges``: how to compare it (``kind``) and
    its Proxmox default when unset. Type and range come from that one table (``validate.check``).

    ``stored(ctx, value)`` -> ``Stored``, for a key that Proxmox clamps or aligns on write (``cpuunits``,
    hot-plugged ``memory``): the plan compares and writes the stored value, never the raw request.
    ``pattern``: a ``str`` value must match it whole; ``what`` says in words what it accepts.
    """

    def __init__(self, key, kind, table, default=None, fmt=None, stored=None, pattern=None, what=None):
        self.key = key
        self.kind = kind  # int | float | memory | str
        self.table = table
        self.default = default
        self.fmt = fmt  # property-string format whose default key holds the value (QEMU memory, cpu)
        self.stored = stored
        self.pattern = pattern
        self.what = what

    def check(self, value):
        """Normalise a user value; raise InvalidRequest naming the key and value when it is not allowed."""
        if self.kind == "memory":
            minimum = validate.option(self.table, self.key).get("minimum")
            value = parse_memory_mib(value, what=self.key, allow_zero=minimum == 0)
        elif self.kind == "str":
            _check_text(self, value)
        return validate.check(self.table, self.key, value)

    def current(self, config):
        """The value in effect in ``config`` (the Proxmox default when the key is unset)."""
        raw = config.get(self.key)
        if raw is None:
            return self.default
        if self.fmt:
            raw = property_string.parse(raw, self.fmt).get(property_string.fmt_table(self.fmt)["default_key"])
        if self.kind in ("int", "memory"):
            return int(raw)
        if self.kind == "float":
            return float(raw)
        return str(raw)

    def write(self, config, value):
        """The raw string to write for ``value``, keeping the other sub-keys of a property string."""
        if self.fmt and config.get(self.key) is not None:
            default_key = property_string.fmt_table(self.fmt)["default_key"]
            text, _changed = property_string.merge(config[self.key], {default_key: value}, self.fmt)
            return text
        return property_string.to_text(value)


def _check_text(res, value):
    if not str(value).strip():
        raise InvalidRequest("%s must not be empty" % res.key)
    if res.pattern and not re.match(r"\A(?:%s)\Z" % res.pattern, str(value)):
        raise InvalidRequest("%s takes %s, got %r" % (res.key, res.what, value))


def check_params(params, resources):
    """Validate and normalise every given resource option in ``params`` (before any API call)."""
    for res in resources:
        if params.get(res.key) is not None:
            params[res.key] = res.check(params[res.key])


class ResourcePlan(object):
    """The outcome of ``plan_resources``: ``set`` (key -> raw value to write), ``notes`` (values Proxmox
    stores differently from the request, in words) and ``remember`` (facts for the re-plans)."""

    def __init__(self):
        self.set = {}
        self.notes = []
        self.remember = {}

    def change(self):
        """The ``Change`` to apply; each note becomes an Ansible warning and the result key ``normalised``."""
        for note in self.notes:
            if note not in get_warning_messages():  # every round re-plans: one warning per note
                warn(note)  # what AnsibleModule.warn calls; the module result carries it as a warning
        result = {"normalised": list(self.notes)} if self.notes else {}
        return Change(set=self.set, remember=self.remember, result=result)


def plan_resources(ctx, resources):
    """A ``ResourcePlan`` of each resource given in ``ctx.params`` whose value differs from ``ctx.config``,
    compared in the form Proxmox stores it (``Resource.stored``)."""
    plan = ResourcePlan()
    for res in resources:
        wanted = ctx.params.get(res.key)
        if wanted is None:
            continue
        current = res.current(ctx.config)
        if current == wanted:
            continue
        stored = res.stored(ctx, wanted) if res.stored else Stored(wanted)
        if stored.note:
            plan.notes.append(stored.note)
        plan.remember.update(stored.remember)
        if current not in stored.accept:
            plan.set[res.key] = res.write(ctx.config, stored.value)
    return plan


def effective(config, to_set, res):
    """The value of ``res`` once ``to_set`` is written."""
    return res.current(dict(config, **to_set))
