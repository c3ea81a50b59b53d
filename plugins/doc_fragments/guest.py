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
      - ID of the guest (100 to 999999999). One of O(vmid) or O(name) is required.
    type: int
  name:
    description:
      - Name of the guest, used when O(vmid) is not given; it must match exactly one guest in the cluster.
      - C(/cluster/resources) shows names as the Proxmox status daemon last saw them (missing for a guest created
        moments ago, the old one after a rename). A name it does not match exactly once, or a guest whose config
        turns out to carry another name, is looked up again in the online nodes' own guest lists before the
        module fails or writes. Two guests with the name is an error that lists their IDs.
    type: str
  node:
    description:
      - Node that runs the guest. When omitted, it is found with one call to C(/cluster/resources).
      - Giving O(node) together with O(vmid) saves that call.
      - Must be a Proxmox node name (ASCII letters, digits and V(-), starting and ending with a letter or digit);
        anything else fails before any request is sent.
    type: str
"""

    # Waiting for locks and tasks, shared by the modules that change a guest.
    WAIT = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait in all, with growing pauses (up to 2 s), while the guest is locked (backup, migration,
        snapshot...) before failing with the name of the lock. The wait is bounded by this time only, however
        many re-reads it takes. Nothing is written while the guest is locked.
    type: int
    default: 60
  task_timeout:
    description:
      - Seconds to wait for a Proxmox task to finish (disk allocation, resize, and every VM config write that
        touches a drive, an unused disk or a network device, as those go through the task API).
      - A task still running after that time fails the module with C(changed=true) and what a re-read of the
        guest shows so far; the task itself goes on.
    type: int
    default: 300
"""
