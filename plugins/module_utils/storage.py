# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storages as vm_disk meets them: can a storage take a new volume, and how large a volume really is.

PRIVATE to the pve.config collection.

Proxmox records a disk's ``size=`` as asked, but the storage may allocate more, and ``resize`` compares with
the volume's actual size (qemu-server ``API2/Qemu.pm`` resize_vm: ``volume_size_info``, "shrinking disks is
not supported", an equal size returns without writing). So a new disk or a grow is asked in whole MiB
(``round_up``), and a size decision that could meet storage rounding looks at the storage here.
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils.errors import ApiError, InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.units import MIB

# The largest unit a storage rounds a volume up to. pve-storage: LVMPlugin.pm alloc_lvm_image/volume_resize
# run lvcreate -L / lvextend -L, and LvmThinPlugin.pm alloc_image lvcreate -V: LVM rounds up to the volume
# group's physical extent, 4 MiB unless the VG was created with another -s. ZFSPoolPlugin.pm
# zfs_create_zvol/volume_resize "align size to 1M" and RBDPlugin.pm alloc_image/volume_resize round up to MiB,
# file storages allocate the KiB asked (Plugin.pm alloc_image: qemu-img create): whole MiB fit those.
# A disk larger than asked by less than this counts as rounded, whatever its storage, so deciding it needs
# no request (a re-run stays at two GETs); nothing is written either way, as disks never shrink.
LARGEST_UNIT = 4 * MIB


def round_up(size, unit):
    """``size`` rounded up to a multiple of ``unit``."""
    return -(-size // unit) * unit


def storage_status(api, node, storage):
    """The item of ``GET /nodes/{node}/storage?storage=X`` for ``storage``, or None when it does not exist."""
    try:
        items = api.get("nodes/%s/storage" % node, storage=storage) or []
    except (ApiError, InvalidRequest) as exc:
        # PVE (API2/Storage/Status.pm) answers an unknown storage with 400 and errors {storage: No such storage.}
        if "does not exist" in exc.msg or "No such storage" in str((exc.details.get("errors") or {}).get("storage")):
            return None
        raise
    match = [item for item in items if item.get("storage") == storage]
    return match[0] if match else None


def check_storage(api, node, storage, content="images"):
    """One ``GET /nodes/{node}/storage?storage=X``: the storage must exist on the node, be enabled and hold
    ``content`` (``images`` for VM disks, ``rootdir`` for container volumes). Returns its status item."""
    item = storage_status(api, node, storage)
    if item is None:
        raise InvalidRequest("storage %r does not exist on node %s" % (storage, node))
    if str(item.get("enabled", 1)) in ("0", "False", "false"):
        raise InvalidRequest("storage %r is disabled on node %s" % (storage, node))
    contents = [c.strip() for c in str(item.get("content", "")).split(",") if c.strip()]
    if content not in contents:
        raise InvalidRequest(
            "storage %r cannot hold %s (its content types: %s)" % (storage, content, ", ".join(contents) or "none")
        )
    if str(item.get("active", 1)) in ("0", "False", "false"):
        raise InvalidRequest("storage %r is not active on node %s" % (storage, node))
    return item


def volume_size(api, node, volid, vmid, content="images"):
    """The actual size in bytes of volume ``volid`` of guest ``vmid``, as ``resize`` compares with it, or None
    when the storage does not tell (or the token may not list it: then Proxmox's own resize check decides).
    ``content``: ``images`` for a VM's volume, ``rootdir`` for a container's (pve-storage Plugin.pm list_volumes
    lists a guest's volumes as the content of its type only).

    ``GET /nodes/{node}/storage/{storage}/content?content=images&vmid=N`` (pve-storage API2/Storage/Content.pm
    index: ``size`` from the plugin's volume list, allowed with Datastore.AllocateSpace, which a resize needs
    anyway); a storage that only knows an ``approximate-size`` gives None.
    """
    storage = volid.split(":", 1)[0]
    try:
        items = api.get("nodes/%s/storage/%s/content" % (node, storage), content=content, vmid=vmid) or []
    except (ApiError, InvalidRequest):
        return None
    for item in items:
        if item.get("volid") == volid and item.get("size") is not None:
            return int(item["size"])
    return None
