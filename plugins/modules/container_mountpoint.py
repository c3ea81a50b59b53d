#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_mountpoint
short_description: Add, grow, tune, detach or destroy a mount point of a Proxmox VE LXC container
version_added: 1.1.0
description:
  - With O(state=present), makes sure a mount point (C(mpN)) exists in an existing LXC container. An empty
    C(mpN) gets a new volume of O(size) on O(storage), mounted at O(path) inside the container, or a bind or
    device mount of the host path O(volume). A mount point that already exists is compared with the options given
    and updated only where it differs (or, with O(if_exists=fail), refused). Options that are not given are kept.
  - A larger O(size) grows the volume (Proxmox resizes it in a task, also while the container runs); a smaller one
    is an error, volumes never shrink. O(mountpoint=rootfs) grows the root file system; that is all it can do.
  - New volumes and grows are asked in whole MiB (rounded up). A volume that is larger than O(size) only by a
    storage's rounding counts as large enough (RV(size_rounded)), so a re-run is no change and never a shrink error.
  - On a running container, Proxmox mounts a new mount point at once (hot-plug), but keeps a change of an existing
    mount point (O(path), O(ro), O(backup)...) and a removal pending until the container reboots; RV(pending) and
    RV(reboot_required) tell. Growing works while it runs.
  - With O(state=absent), detaches the mount point; its volume stays on the storage as an unused volume
    (C(unusedN)). With O(purge=true) the volume is destroyed as well. O(mountpoint=unusedN) with O(state=absent)
    and O(purge=true) destroys an unused volume, such as one that a failed purge left behind. A bind or device
    mount is only removed from the config.
  - Every write carries the config digest, so a concurrent edit is detected and the change is re-planned.
    Resizing runs as a Proxmox task, which is waited for (O(task_timeout)).
  - Storage, mount point and size are checked before anything is written, also in check mode.
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
options:
  state:
    description:
      - V(present) creates the mount point or updates it; V(absent) detaches it.
    type: str
    choices: [present, absent]
    default: present
  mountpoint:
    description:
      - Config key of the mount point, V(mp0) to V(mp255), or V(rootfs) to grow the root file system (with
        O(size) only).
      - Required with O(state=absent). With O(state=present) it may be omitted to add a new mount point in the
        first free C(mpN); each such run adds another one.
      - With O(state=absent) and O(purge=true) it may also be an unused volume (V(unused0) to V(unused255)),
        which is then destroyed.
    type: str
  storage:
    description:
      - Storage for a new volume, such as V(local-lvm). Required with O(size) when the mount point is new. It must
        exist on the node, be enabled and allow the content type C(rootdir).
      - For an existing mount point, a different storage is an error (this module does not move volumes).
    type: str
  size:
    description:
      - Size of the volume, such as V(8G), V(512M), V(1T), or a number of GiB.
      - Required with O(storage) when the mount point is new. For an existing one, a larger size grows it; a
        smaller size is an error.
    type: raw
  volume:
    description:
      - An absolute host path to mount instead of a new volume - a directory (bind mount) or a block device under
        V(/dev/) (device mount). Not together with O(storage) or O(size).
      - Proxmox lets only V(root@pam) itself write bind and device mounts, never an API token (not even one of
        V(root@pam)); use O(api_user=root@pam) with O(api_password) for them. Removing one needs no such right.
      - For an existing mount point, a different value is an error.
    type: str
  path:
    description:
      - Where the mount point is mounted inside the container, such as V(/srv/data) (its C(mp=)). Required for a
        new mount point. Must not contain V(/./) or V(/../).
      - Changing it on a running container stays pending until the container reboots.
    type: str
  backup:
    description:
      - Include the volume in backups. Proxmox leaves mount points out of backups when it is not set; it never
        backs up bind or device mounts.
    type: bool
  ro:
    description:
      - Mount read-only.
    type: bool
  quota:
    description:
      - Enable user quotas inside the container (not with ZFS subvolumes).
    type: bool
  acl:
    description:
      - Explicitly enable (V(true)) or disable (V(false)) ACL support. When not set, the storage's default applies.
    type: bool
  replicate:
    description:
      - Include the volume in storage replication jobs. Proxmox includes it when it is not set.
    type: bool
  shared:
    description:
      - Mark a bind or device mount as available on every node (for migration); it does not share anything itself.
    type: bool
  if_exists:
    description:
      - What to do when O(mountpoint) already holds something, with O(state=present).
      - V(update) compares it with the options given and grows or changes it where it differs.
      - V(fail) creates mount points only; an occupied key (or a removal still pending) is refused before anything
        is written.
    type: str
    choices: [update, fail]
    default: update
  purge:
    description:
      - With O(state=absent), also destroy the volume after detaching it. Its data is lost.
      - If the destroy fails after the detach, the error names the C(unusedN) entry the volume was left as
        (RV(unused)); run again with that O(mountpoint) to destroy it.
      - When the container runs, the removal stays pending until it reboots and the volume is not destroyed;
        run the task again after the reboot.
      - A bind or device mount has no volume to destroy; O(purge=true) on one is an error.
    type: bool
    default: false
attributes:
  idempotent:
    support: partial
    details: Without O(mountpoint), every run with O(state=present) adds a new mount point in the next free C(mpN).
      With O(mountpoint) given, a repeated run changes nothing.
notes:
  - Options not given are never reset, including the ones this module does not manage (C(mountoptions),
    C(keepattrs)...).
  - Giving O(mountpoint) is recommended for idempotent playbooks; RV(mountpoint) tells which key was used.
seealso:
  - module: pve.config.vm_disk
  - module: pve.config.container_resources
  - module: pve.config.guest_info
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Add an 8 GiB volume at /srv/data, included in backups
  pve.config.container_mountpoint:
    api_host: pve1.example.com
    api_token_id: automation
    api_token_secret: "{{ vault_pve_token_secret }}"
    vmid: 200
    mountpoint: mp0
    storage: local-lvm
    size: 8G
    path: /srv/data
    backup: true

- name: Grow that volume to 20 GiB
  pve.config.container_mountpoint:
    vmid: 200
    mountpoint: mp0
    size: 20G

- name: Grow the root file system to 16 GiB
  pve.config.container_mountpoint:
    name: dns01
    mountpoint: rootfs
    size: 16G

- name: Bind-mount a host directory read-only (only root@pam with a password may)
  pve.config.container_mountpoint:
    api_host: pve1.example.com
    api_user: root@pam
    api_password: "{{ vault_pve_root_password }}"
    vmid: 200
    mountpoint: mp1
    volume: /srv/shared/media
    path: /media
    ro: true

- name: Detach mp0; the volume stays as an unused volume
  pve.config.container_mountpoint:
    vmid: 200
    mountpoint: mp0
    state: absent

- name: Destroy the volume left behind as unused0
  pve.config.container_mountpoint:
    vmid: 200
    mountpoint: unused0
    state: absent
    purge: true
"""

RETURN = r"""
mountpoint:
  description: Config key of the mount point (picked by the module when O(mountpoint) was not given).
  returned: success
  type: str
  sample: mp0
volume:
  description:
    - Volume ID (or host path of a bind or device mount) of the mount point, as read from the config after the
      change. Not known in check mode for a volume that would be created.
    - With O(state=absent), the volume that was (or would be) detached.
  returned: when the key holds or held a mount point
  type: str
  sample: local-lvm:vm-200-disk-1
size:
  description: Size of the volume as Proxmox records it (its C(size=)).
  returned: with O(state=present), for a storage volume
  type: str
  sample: 8G
size_rounded:
  description:
    - V(true) when the volume is larger than O(size) asked only by rounding - to whole MiB by this module, to a
      storage's allocation unit (at most 4 MiB, an LVM extent), or a volume the storage already made larger than
      its recorded size.
  returned: when the volume is larger than asked
  type: bool
  sample: true
unused:
  description:
    - On a failed destroy, the C(unusedN) entry the volume was left as (a string), with RV(volume).
    - With O(purge=true) on an empty O(mountpoint), the container's unused volumes (C(unusedN) -> volume ID).
  returned: on a failed destroy; with O(purge=true) when O(mountpoint) is empty and the container has unused volumes
  type: raw
  sample: unused0
destroyed_volume:
  description: Volume ID destroyed by O(purge=true) (or that would be, in check mode).
  returned: when a volume was or would be destroyed
  type: str
  sample: local-lvm:vm-200-disk-1
vmid:
  description: ID of the guest.
  returned: always
  type: int
  sample: 200
node:
  description: Node that runs the guest.
  returned: always
  type: str
  sample: pve1
guest_type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: lxc
diff:
  description: Before and after values of exactly the config keys that change (or would change in check mode).
  returned: always
  type: dict
  sample: {"before": {}, "after": {"mp0": "local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=8G"}}
config:
  description:
    - The guest config after the change (pending values applied), as Proxmox writes it; predicted in check mode.
  returned: always
  type: dict
  sample: {"rootfs": "local-lvm:vm-200-disk-0,size=8G", "mp0": "local-lvm:vm-200-disk-1,mp=/srv/data,size=8G"}
pending:
  description:
    - Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {"mp0": null}
reboot_required:
  description: Whether RV(pending) is not empty.
  returned: always
  type: bool
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
  sample: create mp0 (8G on local-lvm at /srv/data) of LXC container 200 on pve1
task:
  description: UPID of the last Proxmox task waited for (a resize).
  returned: when a task ran
  type: str
  sample: "UPID:pve1:000A1B2C:0012D687:67A0B1C2:resize:200:root@pam!automation:"
"""

from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module
from ansible_collections.pve.config.plugins.module_utils.mountpoint import OPTIONS, check_params, plan


def main():
    run_config_module(OPTIONS, "lxc", plan, prepare=check_params)


if __name__ == "__main__":
    main()
