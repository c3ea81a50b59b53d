# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain resource keys (memory, cores, cpulimit...) shared by vm_resources and container_resources.

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

import math

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.units import parse_memory_mib


class Resource(object):
    """One config key: how to compare it (``kind``), its range and its Proxmox default when unset."""

    def __init__(self, key, kind, minimum=None, maximum=None, default=None, fmt=None):
        self.key = key
        self.kind = kind  # int | float | memory | str
        self.minimum = minimum
        self.maximum = maximum
        self.default = default
        self.fmt = fmt  # property-string format whose default key holds the value (QEMU memory, cpu)

    def check(self, value):
        """Normalise a user value; raise InvalidRequest naming the key and value when out of range."""
        if self.kind == "memory":
            value = parse_memory_mib(value, what=self.key, allow_zero=self.minimum == 0)
        if self.kind == "float" and math.isnan(value):  # NaN passes every range check
            raise InvalidRequest("%s must be a number, got %s; nothing was changed" % (self.key, value))
        if self.kind in ("int", "memory", "float"):
            if self.minimum is not None and value < self.minimum:
                raise InvalidRequest(
                    "%s must be at least %s, got %s; nothing was changed" % (self.key, _num(self.minimum), _num(value))
                )
            if self.maximum is not None and value > self.maximum:
                raise InvalidRequest(
                    "%s must be at most %s, got %s; nothing was changed" % (self.key, _num(self.maximum), _num(value))
                )
        if self.kind == "str" and not str(value).strip():
            raise InvalidRequest("%s must not be empty; nothing was changed" % self.key)
        return value

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


def _num(value):
    return property_string.to_text(value)


def check_params(params, resources):
    """Validate and normalise every given resource option in ``params`` (before any API call)."""
    for res in resources:
        if params.get(res.key) is not None:
            params[res.key] = res.check(params[res.key])


def plan_resources(config, params, resources):
    """``{key: raw value}`` for each given resource whose value differs from the config."""
    to_set = {}
    for res in resources:
        wanted = params.get(res.key)
        if wanted is None:
            continue
        if res.current(config) != wanted:
            to_set[res.key] = res.write(config, wanted)
    return to_set


def effective(config, to_set, res):
    """The value of ``res`` once ``to_set`` is written."""
    return res.current(dict(config, **to_set))
