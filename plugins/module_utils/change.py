# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a module wants changed in a guest config, and the before/after view of it.

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils import property_string


class Change(object):
    """A planned change of one guest's config.

    ``set``: key -> raw value to write. ``delete``: keys to remove. ``resize``: disk slot -> new size
    (``40G``, grow only).
    ``disk_format``: property-string format of the resized slots (to show their new ``size=`` in the diff).
    ``result``: extra keys for the module result. ``remember``: facts kept for re-plans after a write
    (such as the slot picked for a new NIC). ``summary``: human words for the message, saying only what this
    change's write does (a failure lists the summaries of the writes done). ``preview``: the words of a
    check-mode message when the change takes several writes (grow, then set options), default ``summary``.
    ``on_failure``: ``(error) -> (note, result keys)`` for when this change's write fails, such as the
    volume a failed destroy leaves behind (added to the error by ``failed``).
    ``perform``: ``(api, clock) -> UPID or None`` for a step that is not a config write (regenerate a cloud-init
    drive, reboot); ``action`` names it (``cloudinit``, ``reboot``) so two of them are told apart.
    ``writes``: how many writes the whole plan still needs, this one included (the engine's step budget is
    at least that many; see ``apply.MAX_STEPS``).
    """

    def __init__(
        self,
        set=None,
        delete=None,
        resize=None,
        result=None,
        remember=None,
        summary=None,
        disk_formats=None,
        on_failure=None,
        preview=None,
        perform=None,
        action=None,
        writes=1,
    ):
        self.set = dict(set or {})
        self.delete = list(delete or [])
        self.resize = dict(resize or {})
        self.result = dict(result or {})
        self.remember = dict(remember or {})
        self.summary = summary
        self.disk_formats = dict(disk_formats or {})
        self.on_failure = on_failure
        self.preview = preview or summary
        self.perform = perform
        self.action = action
        self.writes = writes

    @property
    def empty(self):
        return not (self.set or self.delete or self.resize or self.perform)

    def keys(self):
        return (
            list(self.resize)
            + [k for k in self.set if k not in self.resize]
            + [k for k in self.delete if k not in self.set and k not in self.resize]
        )

    def same_as(self, other):
        return other is not None and (self.set, sorted(self.delete), self.resize, self.action) == (
            other.set,
            sorted(other.delete),
            other.resize,
            other.action,
        )

    def failed(self, exc):
        """``exc`` (the error of this change's write) with what ``on_failure`` says about it."""
        if self.on_failure:
            note, details = self.on_failure(exc)
            exc.msg = "%s; %s" % (exc.msg.rstrip().rstrip(";."), note)
            exc.args = (exc.msg,)
            exc.details.update(details)
        return exc

    def predict(self, config):
        """The config as it will be once this change is written."""
        after = dict(config)
        for key, size in self.resize.items():
            fmt = self.disk_formats.get(key)
            if key in after and fmt:
                values = property_string.parse(after[key], fmt)
                after[key] = property_string.format(dict(values, size=size), fmt, kept=values)
        for key in self.delete:
            after.pop(key, None)
        after.update(self.set)
        return after

    def diff(self, config):
        """``{before, after}`` limited to the keys this change touches; absent keys are left out."""
        after_config = self.predict(config)
        before, after = {}, {}
        for key in self.keys():
            if key in config:
                before[key] = config[key]
            if key in after_config:
                after[key] = after_config[key]
        return {"before": before, "after": after}
