# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Guest selection (vmid/name/node), shared by every pve.config module.
    DOCUMENTATION = r"""
options:
  vmid:
    description:
      - ID of the guest. One of O(vmid) or O(name) is required.
    type: int
  name:
    description:
      - Name of the guest, used when O(vmid) is not given; it must match exactly one guest in the cluster.
    type: str
  node:
    description:
      - Node that runs the guest. When omitted, it is found with one call to C(/cluster/resources).
      - Giving O(node) together with O(vmid) saves that call.
    type: str
"""

    # Waiting for locks and tasks, shared by the modules that change a guest.
    WAIT = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait, with growing pauses, while the guest is locked (backup, migration, snapshot...)
        before failing with the name of the lock. Nothing is written while the guest is locked.
    type: int
    default: 60
  task_timeout:
    description:
      - Seconds to wait for a Proxmox task (disk allocation, resize) to finish.
    type: int
    default: 300
"""
