# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors raised by pve.config's shared code.

PRIVATE to the pve.config collection. Nothing under module_utils calls ``fail_json``: it raises one of
these, and the module's single ``except PveError`` turns it into a failed result. Messages name what was
asked and what was found; ``details`` carry extra result keys and never hold credentials.
"""

from __future__ import annotations


class PveError(Exception):
    """Base class: ``msg`` is shown to the user, ``details`` become extra keys of the failed result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class InvalidRequest(PveError):
    """The request cannot be carried out as asked (bad value, slot in use, shrink, unusable storage)."""


class GuestNotFound(PveError):
    """No guest with that vmid or name (or not of the expected type)."""


class GuestLocked(PveError):
    """The guest stayed locked (backup, migrate, ...) longer than the module was allowed to wait."""


class ConfigChanged(PveError):
    """Proxmox refused a write because the config digest no longer matches."""


class TaskFailed(PveError):
    """A UPID task ended with an exit status other than OK or WARNINGS."""


class TaskTimeout(TaskFailed):
    """A UPID task was still running after ``task_timeout`` seconds (its work may still complete)."""


class RebootFailed(PveError):
    """A managed reboot did not end with the guest running and nothing pending; ``details`` say what it was left in
    (``guest_status``, ``pending``) and the reboot ``task``."""


class AuthFailed(PveError):
    """Proxmox refused the credentials."""


class ApiError(PveError):
    """Any other error answered by the Proxmox API or the connection to it."""

    def __init__(self, msg, status=None, **details):
        super().__init__(msg, **details)
        self.status = status
