# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest volumes - QEMU drives, container ``rootfs`` and ``mpN``: new volumes, grows, detach and purge.

PRIVATE to the pve.config collection. Shared by vm_disk (disk.py), container_mountpoint (mountpoint.py) and
guest_config.

- A new volume is written as ``STORAGE:SIZE_GiB`` (``new_volume_text``), the size rounded up to whole MiB,
  after ``check_new_volume_storage`` (content ``images`` for a VM, ``rootdir`` for a container).
- A grow (``grow_size``) compares with the size in effect and with the storage's rounding (storage.py);
  Proxmox resizes through ``PUT .../resize`` for both kinds, which returns a task (apply.py waits for it).
- ``delete=KEY`` detaches a volume, which becomes ``unusedN``; ``delete=unusedN`` destroys a volume the guest
  owns (``detach``, ``after_detach``, ``destroy``, ``destroy_unused``).
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import SLOTS
from ansible_collections.pve.config.plugins.module_utils.storage import (
    LARGEST_UNIT,
    check_storage,
    round_up,
    volume_size,
)
from ansible_collections.pve.config.plugins.module_utils.units import MIB, format_size, gib_for_allocation, parse_size

UNUSED = re.compile(r"^unused(?P<index>\d+)$")
# The owner of a volume, as pve-storage's parse_volname reads it from the last part of the name.
OWNER = re.compile(r"^(?:vm|base|subvol|basevol)-(\d+)-")
# qemu-server QemuServer.pm try_deallocate_drive refuses to free a volume that a snapshot still uses.
IN_USE = "volume is still in use"
# The content type a storage must allow for a new volume: qemu-server API2/Qemu.pm create_disks
# (check_storage_access: 'images'); pve-container LXC/Config.pm update_pct_config ($check_content_type: "storage
# '$sid' does not allow content type 'rootdir' (Container)") and LXC.pm alloc_disk.
CONTENT = {"qemu": "images", "lxc": "rootdir"}
# The sub-key holding the volume: qemu-server drive strings start with file=, pve-container mount points with
# volume= (LXC/Config.pm $rootfs_desc / $mp_desc, default_key).
VOLUME_KEY = {"qemu": "file", "lxc": "volume"}
UNUSED_FORMAT = {"qemu": "qemu_unused", "lxc": "lxc_unused"}
GUEST_NOUN = {"qemu": "VM", "lxc": "container"}
VOLUME_KEYS = {"lxc": re.compile(r"^(?:rootfs|mp\d+)$"), "qemu": re.compile(r"^(?:ide|sata|scsi|virtio)\d+$")}


def volume_key_format(kind, key):
    """The property-string format of a volume key: ``scsi1`` -> ``qemu_scsi``, ``mp0`` -> ``lxc_mp``,
    ``rootfs`` -> ``lxc_rootfs``, ``unused2`` -> ``qemu_unused`` / ``lxc_unused``."""
    return "%s_%s" % (kind, key.rstrip("0123456789"))


# --- names and sizes ---------------------------------------------------------------------------------------


def volume_storage(volid):
    """``local-lvm:vm-100-disk-1`` -> ``local-lvm``."""
    return volid.split(":", 1)[0]


def volume_owner(volid):
    """The vmid owning a volume (``local:100/vm-100-disk-0.qcow2`` -> 100), or None for other names."""
    match = OWNER.match(volid.split(":", 1)[-1].split("/")[-1])
    return int(match.group(1)) if match else None


def recorded_size(values):
    """Size in bytes of a parsed drive or mount point from its ``size=`` sub-key (bare numbers are bytes),
    or None."""
    if not values.get("size"):
        return None
    try:
        return parse_size(values["size"], default_unit="")
    except InvalidRequest:
        return None


def size_text(size_bytes):
    return None if size_bytes is None else format_size(size_bytes)


def unused_volumes(config, kind="qemu"):
    """``{unusedN: volid}`` of ``config``, in index order."""
    keys = sorted((int(m.group("index")), key) for key, m in ((k, UNUSED.match(k)) for k in config) if m)
    return {key: property_string.parse(config[key], UNUSED_FORMAT[kind]).get(VOLUME_KEY[kind]) for _index, key in keys}


def find_unused(config, volid, kind="qemu"):
    """The ``unusedN`` key whose volume is ``volid``, or None."""
    for key, value in unused_volumes(config, kind).items():
        if value == volid:
            return key
    return None


def check_unused(params, param, kind):
    """``PARAM: unusedN`` names a volume left unused: it can only be destroyed (``state=absent``, ``purge``).
    Returns the normalised key."""
    slot = "unused%d" % int(UNUSED.match(str(params[param]).strip().lower()).group("index"))
    if int(slot[6:]) >= SLOTS[kind]["unused"]:
        raise InvalidRequest(
            "%s %r is out of range: unused volumes are unused0 to unused%d"
            % (param, params[param], SLOTS[kind]["unused"] - 1)
        )
    if params["state"] != "absent":
        raise InvalidRequest(
            "%s %s is an unused volume, not a %s slot: it can only be destroyed (state=absent, purge=true); "
            "to attach it again, edit the %s config" % (param, slot, param, GUEST_NOUN[kind])
        )
    if not params["purge"]:
        raise InvalidRequest(
            "removing %s destroys its volume (Proxmox frees the volume of a deleted unusedN entry): "
            "set purge=true to destroy it" % slot
        )
    return slot


# --- new volumes -------------------------------------------------------------------------------------------


def check_new_volume_storage(api, node, kind, storage):
    """The storage must exist on ``node``, be enabled, active and allow the content a new volume of ``kind``
    needs (``CONTENT``); one ``GET /nodes/{node}/storage?storage=X``."""
    return check_storage(api, node, storage, CONTENT[kind])


def allocation_size(size_bytes):
    """The size a new volume is asked with: rounded up to whole MiB.

    qemu-server API2/Qemu.pm create_disks takes STORAGE:SIZE in GiB (decimals allowed) and turns it into KiB
    rounded up (pve-common Tools.pm convert_size); pve-container LXC.pm create_disks matches ``$NEW_DISK_RE``
    (``^([^:\\s]+):(\\d+(\\.\\d+)?)$``) and allocates ``int($size_gb * 1024) * 1024`` KiB, that is rounds DOWN
    to whole MiB. Whole MiB are allocated exactly by both and suit every storage (storage.py).
    """
    return round_up(size_bytes, MIB)


def new_volume_text(kind, key, storage, size_bytes, options=None):
    """The value that creates a volume of ``size_bytes`` (rounded up to whole MiB) on ``storage`` in ``key``:
    ``local-lvm:32,iothread=1`` (QEMU), ``local-lvm:8,mp=/srv/data`` (LXC ``mpN``: ``mp`` is required there).
    ``options``: the other sub-keys, in the order they are written. The caller checked the storage
    (``check_new_volume_storage``)."""
    values = {VOLUME_KEY[kind]: "%s:%s" % (storage, gib_for_allocation(allocation_size(size_bytes)))}
    values.update(options or {})
    return property_string.format(values, volume_key_format(kind, key))


# --- grow --------------------------------------------------------------------------------------------------


def grow_size(api, guest, where, volid, requested, recorded, in_effect, result):
    """The size to grow volume ``volid`` to, or None when it is already as large as ``requested``.

    ``recorded``: the ``size=`` of the value in effect (else of the pending one); ``in_effect``: whether the
    key's value in effect holds ``volid``. Proxmox resizes only that value: qemu-server API2/Qemu.pm resize_vm
    and pve-container API2/LXC.pm resize_vm both read ``$conf->{$disk}``, never a pending value.

    Adds ``size_rounded`` to ``result`` when the volume is larger than asked only by rounding: whole MiB asked
    by this collection, a storage's unit (up to ``storage.LARGEST_UNIT``), or a volume the storage already made
    larger than its ``size=``. Both resize_vm compare with ``volume_size_info``: a smaller size dies ("shrinking
    disks is not supported" / "unable to shrink disk size"), an equal one is a no-op for QEMU and dies for a
    container ("disk is already at specified size"), so neither is ever sent.
    """
    if recorded is None:
        raise InvalidRequest(
            "%s has no recorded size (size= missing), cannot compare it with %s" % (where, format_size(requested))
        )
    if recorded >= requested:
        if recorded > round_up(requested, LARGEST_UNIT):
            raise InvalidRequest(
                "%s is %s; shrinking it to %s is not supported" % (where, format_size(recorded), format_size(requested))
            )
        if recorded > requested:
            result["size_rounded"] = True
        return None
    if not in_effect:
        raise InvalidRequest(
            "%s is pending until the %s reboots, and Proxmox resizes only the %s in effect (resize_vm); "
            "grow it to %s after the reboot"
            % (where, GUEST_NOUN[guest.kind], "disk" if guest.kind == "qemu" else "volume", format_size(requested))
        )
    # pve-storage Plugin.pm list_volumes: a guest's volumes are listed as content 'images' for a VM and
    # 'rootdir' for a container, and a content filter of the other type hides them.
    actual = volume_size(api, guest.node, volid, guest.vmid, content=CONTENT[guest.kind])
    if actual is not None and actual >= requested:
        result["size_rounded"] = True
        return None
    return round_up(requested, MIB)


def grow_and_set(ctx, key, fmt, values, grow, desired, result):
    """The ``Change`` for an existing volume: grow it to ``grow`` (bytes, or None) and set the ``desired`` sub-keys
    (only the ones that differ). ``values``: the parsed value of ``key`` in the config (pending applied)."""
    text = ctx.config[key]
    if grow:
        text = property_string.format(dict(values, size=format_size(grow)), fmt, kept=values)
    merged, changed = property_string.merge(text, desired, fmt)
    options = ", ".join("%s=%s" % (name, property_string.to_text(desired[name])) for name in changed)
    if grow:
        summary = "grow %s from %s to %s" % (key, result["size"], format_size(grow))
        # One step per write: the engine sends the resize, re-plans and then sends the options (a change of
        # its own, with its own summary: a failure of that write never reports the options as applied).
        return Change(
            resize={key: format_size(grow)},
            set={key: merged} if changed else None,
            # the predicted config shows the new size= only where resize_vm writes it: a pending value keeps its own
            disk_formats={} if key in ctx.state.pending else {key: fmt},
            result=result,
            summary=summary,
            preview=summary + (", then set " + options if changed else ""),
        )
    if changed:
        return Change(set={key: merged}, result=result, summary="set %s of %s" % (options, key))
    return Change(result=result)


# --- detach and destroy ------------------------------------------------------------------------------------


def detach(key, volid, purge, result):
    """``delete=KEY``: the volume becomes ``unusedN`` (qemu-server QemuServer.pm vmconfig_delete_or_detach_drive;
    pve-container LXC/Config.pm vmconfig_apply_pending: add_unused_volume); with ``purge`` the re-plan then
    destroys that ``unusedN`` (``after_detach``)."""
    if not purge:
        return Change(
            delete=[key], remember={"detached": volid}, result=result, summary="detach %s (volume %s)" % (key, volid)
        )
    return Change(
        delete=[key],
        remember={"detached": volid, "purge": True},
        result=dict(result, destroyed_volume=volid),
        summary="detach %s (volume %s)" % (key, volid),
        preview="detach %s and destroy its volume %s" % (key, volid),
    )


def after_detach(ctx, key, param):
    """The plan once ``key`` is gone from the config: destroy the detached volume when ``purge`` asked for it
    (its ``unusedN``), or say why it cannot be. ``param``: the module option naming the key (for messages).
    Returns None when nothing was detached by this run."""
    volid = ctx.memory.get("detached")
    if volid is None:
        return None
    result = {param: key, "volume": volid}
    if not ctx.memory.get("purge"):
        return Change(result=result)
    unused = find_unused(ctx.config, volid, ctx.guest.kind)
    if unused:
        return destroy(ctx, unused, volid, result, param)
    if ctx.memory.get("destroyed") == volid:
        return Change(result=dict(result, destroyed_volume=volid))
    if key in ctx.state.pending:
        return Change(
            result=dict(
                result,
                msg="detached %s of %s on %s, but the removal is pending until the %s "
                "reboots; volume %s was not destroyed, run again after the reboot"
                % (key, ctx.guest.label, ctx.guest.node, GUEST_NOUN[ctx.guest.kind], volid),
            )
        )
    raise InvalidRequest(
        "detached %s of %s, but its volume %s did not become an unused disk, so it was not "
        "destroyed" % (key, ctx.guest.label, volid)
    )


def empty_slot_result(ctx, key, param):
    """An empty key with ``purge``: name the guest's unused volumes, one may be left from an earlier detach."""
    result = {param: key}
    unused = unused_volumes(ctx.config, ctx.guest.kind)
    if ctx.params["purge"] and unused:
        result["unused"] = unused
        result["msg"] = (
            "%s of %s on %s is empty, nothing to detach; the %s keeps the unused volumes %s: to destroy one, "
            "run with %s: unusedN, state: absent, purge: true"
            % (
                key,
                ctx.guest.label,
                ctx.guest.node,
                GUEST_NOUN[ctx.guest.kind],
                ", ".join("%s (%s)" % item for item in unused.items()),
                param,
            )
        )
    return result


def destroy_unused(ctx, slot, param):
    """``unusedN`` with ``purge``: destroy that volume (a re-plan after it reports what was destroyed)."""
    if slot in ctx.config:
        volid = unused_volumes(ctx.config, ctx.guest.kind)[slot]
        return destroy(ctx, slot, volid, {param: slot, "volume": volid}, param)
    volid = ctx.memory.get("destroyed")
    if volid is None:
        return Change(result={param: slot})
    return Change(result={param: slot, "volume": volid, "destroyed_volume": volid})


def destroy(ctx, unused, volid, result, param):
    """``delete=unusedN`` frees the volume when the guest owns it, else only drops the entry: qemu-server
    (API2/Qemu.pm update_vm_api, QemuServer.pm try_deallocate_drive), pve-container (LXC/Config.pm
    vmconfig_apply_pending and vmconfig_hotplug_pending - also on a running container - call LXC.pm
    delete_mountpoint_volume: "ignore deletion of '$volume', CT $vmid isn't the owner!"). A failure names the
    volume left behind."""
    if volume_owner(volid) != ctx.guest.vmid:
        return Change(
            delete=[unused],
            result=result,
            summary="remove %s (volume %s is not owned by %s %d, so Proxmox keeps it)"
            % (unused, volid, GUEST_NOUN[ctx.guest.kind], ctx.guest.vmid),
        )
    return Change(
        delete=[unused],
        remember={"destroyed": volid},
        result=dict(result, destroyed_volume=volid),
        summary="destroy volume %s (%s)" % (volid, unused),
        on_failure=lambda exc: left_behind(ctx, unused, volid, exc, param),
    )


def left_behind(ctx, unused, volid, exc, param):
    """What to tell when ``delete=unusedN`` failed: the volume is (or may still be) there as ``unusedN``."""
    again = "run again with %s: %s, state: absent, purge: true" % (param, unused)
    if IN_USE in exc.msg:
        note = "volume %s stays as %s of %s: a snapshot still uses it; delete the snapshots that hold it, then %s" % (
            volid,
            unused,
            ctx.guest.label,
            again,
        )
    else:
        note = "volume %s (%s of %s) was not confirmed destroyed: to destroy it, %s" % (
            volid,
            unused,
            ctx.guest.label,
            again,
        )
    return note, {"volume": volid, "unused": unused}
