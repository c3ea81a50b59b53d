# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container mount points: the plan of container_mountpoint (create, grow, tune, detach, destroy).

PRIVATE to the pve.config collection.

``plan(ctx)`` turns container_mountpoint's params and the container's parsed config into a ``Change``, with the
volume steps of volumes.py (shared with vm_disk):

- ``present`` on an empty ``mpN`` creates ``STORAGE:SIZE_GiB,mp=PATH`` (pve-container LXC/Config.pm
  update_pct_config -> apply_pending_mountpoint -> LXC.pm create_disks, which allocates the volume; on a running
  container vmconfig_hotplug_pending hot-plugs a new mount point at once), or a bind / device mount
  ``/host/path,mp=PATH``;
- ``present`` on a mount point grows it (``PUT .../resize``, pve-container API2/LXC.pm resize_vm: a task, also on a
  running container) and sets the options that differ. A running container keeps option changes of an existing
  mount point pending (LXC/Config.pm vmconfig_hotplug_pending: "don't try to hotplug over existing mp");
- ``rootfs`` can only be grown;
- ``absent`` detaches (``delete=mpN``: the volume becomes ``unusedN``; on a running container the removal stays
  pending until it restarts), with ``purge`` then destroys that ``unusedN``; ``absent`` + ``purge`` on
  ``mountpoint: unusedN`` destroys a volume left behind earlier.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.option_ranges import SLOTS
from ansible_collections.pve.config.plugins.module_utils.units import format_size, parse_size
from ansible_collections.pve.config.plugins.module_utils.volumes import (
    UNUSED,
    after_detach,
    allocation_size,
    check_new_volume_storage,
    check_unused,
    destroy_unused,
    detach,
    empty_slot_result,
    grow_and_set,
    grow_size,
    new_volume_text,
    recorded_size,
    size_text,
    volume_key_format,
    volume_storage,
)

PARAM = "mountpoint"
MP_SLOTS = SLOTS["lxc"]["mp"]
MOUNT_POINT = re.compile(r"^mp(?P<index>\d+)$")
# Mount point flags the module manages, in the order they are written, and what pve-container does when they are
# unset (LXC/Config.pm $rootfs_desc / $mp_desc: replicate default 1, shared default 0; backup only when set,
# mountpoint_backup_enabled; ro and quota off). acl has no default: unset means the storage's default, so
# false is written as acl=0.
FLAGS = ("backup", "ro", "quota", "acl", "replicate", "shared")
UNSET_MEANS = {"backup": False, "ro": False, "quota": False, "replicate": True, "shared": False}
# Sub-keys of rootfs (lxc_rootfs has no backup and no mp: the root file system is always backed up and at /).
ROOTFS_FLAGS = ("ro", "quota", "acl", "replicate", "shared")
# pve-container LXC/Config.pm verify_lxc_mp_string: no /./ or /../, no /. or /.. at the end, no ../ at the start.
ILLEGAL_PATH = re.compile(r"/\.\.?/|/\.\.?$|^\.\./")

OPTIONS = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    mountpoint=dict(type="str"),
    storage=dict(type="str"),
    size=dict(type="raw"),
    volume=dict(type="str"),
    path=dict(type="str"),
    backup=dict(type="bool"),
    ro=dict(type="bool"),
    quota=dict(type="bool"),
    acl=dict(type="bool"),
    replicate=dict(type="bool"),
    shared=dict(type="bool"),
    if_exists=dict(type="str", default="update", choices=["update", "fail"]),
    purge=dict(type="bool", default=False),
)


# --- keys and values ---------------------------------------------------------------------------------------


def mount_kind(volume):
    """``volume`` (a storage volume), ``bind`` (a host directory) or ``device`` (a host block device), as
    pve-container LXC/Config.pm classify_mountpoint tells them apart."""
    if volume.startswith("/"):
        return "device" if volume.startswith("/dev/") else "bind"
    return "volume"


def parse_mountpoint(key, text):
    """The value of ``rootfs`` / ``mpN`` as an ordered dict (``volume``, ``mp``, ``size``...)."""
    return property_string.parse(text, volume_key_format("lxc", key))


def first_free_slot(*configs):
    """The lowest ``mpN`` that no key of ``configs`` uses (pass the config and the current values so a mount point
    whose removal is still pending counts as used)."""
    for index in range(MP_SLOTS):
        key = "mp%d" % index
        if not any(key in config for config in configs):
            return key
    raise InvalidRequest("all %d mount point slots (mp0 to mp%d) are in use" % (MP_SLOTS, MP_SLOTS - 1))


def wanted_flags(params):
    return {key: params[key] for key in FLAGS if params[key] is not None}


# --- arguments ---------------------------------------------------------------------------------------------


def check_params(params):
    """Check and normalise the arguments on their own, before any request; ``size`` becomes bytes."""
    key = params["mountpoint"]
    if key is not None and UNUSED.match(str(key).strip().lower()):
        params["mountpoint"] = check_unused(params, PARAM, "lxc")
        return
    if key is not None:
        params["mountpoint"] = key = check_key(key)
    elif params["state"] == "absent":
        raise InvalidRequest("state=absent needs mountpoint (the mount point to detach, such as mp0)")
    if params["state"] == "absent":
        if key == "rootfs":
            # pve-container LXC/Config.pm update_pct_config: "unable to delete required option 'rootfs'"
            raise InvalidRequest("rootfs cannot be removed: it is the container's root file system")
        return
    if params["purge"]:
        raise InvalidRequest("purge only applies with state=absent")
    if params["size"] is not None:
        params["size"] = parse_size(params["size"])
    if key == "rootfs":
        check_rootfs_params(params)
    if params["volume"] is not None:
        check_host_path(params)
    if params["path"] is not None and ILLEGAL_PATH.search(params["path"]):
        raise InvalidRequest(
            "path %r contains illegal character sequences (/./, /../ or a trailing /. or /..)" % (params["path"],)
        )


def check_key(key):
    """``mp3`` / ``rootfs``, normalised; anything else is an error."""
    text = str(key).strip().lower()
    if text == "rootfs":
        return text
    match = MOUNT_POINT.match(text)
    if not match:
        raise InvalidRequest("mountpoint %r is not a mount point: use mp0 to mp%d or rootfs" % (key, MP_SLOTS - 1))
    if int(match.group("index")) >= MP_SLOTS:
        raise InvalidRequest("mountpoint %r is out of range: mount points are mp0 to mp%d" % (key, MP_SLOTS - 1))
    return "mp%d" % int(match.group("index"))


def check_rootfs_params(params):
    """rootfs can only be grown: ``size`` is all it takes."""
    given = [key for key in ("storage", "volume", "path", "backup") + ROOTFS_FLAGS if params[key] is not None]
    if given or params["size"] is None:
        raise InvalidRequest(
            "mountpoint=rootfs can only be grown: give size (and nothing of %s)"
            % ", ".join(given or ["storage", "volume", "path"])
        )


def check_host_path(params):
    """``volume``: a bind mount of a host directory or a device mount of a host block device."""
    if not params["volume"].startswith("/"):
        raise InvalidRequest(
            "volume %r is not a host path: give an absolute host directory or device for a bind or device mount, "
            "or storage and size for a new volume" % params["volume"]
        )
    both = [key for key in ("storage", "size") if params[key] is not None]
    if both:
        raise InvalidRequest(
            "volume %s is a host path (a bind or device mount): it takes no %s" % (params["volume"], " or ".join(both))
        )


# --- the plan ----------------------------------------------------------------------------------------------


def plan(ctx):
    """The ``Change`` that brings the mount point to what the params ask for (see the module docstring)."""
    params = ctx.params
    key = params["mountpoint"] or ctx.memory.get("mountpoint")
    if params["state"] == "absent":
        if UNUSED.match(key):
            return destroy_unused(ctx, key, PARAM)
        return plan_absent(ctx, key)
    if key is None:
        key = first_free_slot(ctx.config, ctx.state.current)
        return plan_create(ctx, key, remember={"mountpoint": key})
    in_use = key in ctx.config or key in ctx.state.current
    if in_use and params["if_exists"] == "fail" and ctx.memory.get("created") != key:
        raise InvalidRequest(
            "mount point %s of %s is in use (%s); if_exists=fail creates mount points only"
            % (key, ctx.guest.label, describe(ctx, key))
        )
    if key not in ctx.config:
        return plan_create(ctx, key)
    return plan_update(ctx, key)


def describe(ctx, key):
    """What a key holds, for messages: ``local-lvm:vm-200-disk-1, 8G at /srv/data``."""
    text = ctx.config.get(key, ctx.state.current.get(key))
    values = parse_mountpoint(key, text)
    words = values.get("volume") or text
    if values.get("size"):
        words += ", " + values["size"]
    if values.get("mp"):
        words += " at " + values["mp"]
    if key not in ctx.config:
        words += ", its removal pending until the container reboots"
    return words


def plan_create(ctx, key, remember=None):
    params = ctx.params
    if params["path"] is None:
        raise InvalidRequest(
            "%s is empty on container %d: creating a mount point needs path (where it is mounted inside the "
            "container)" % (key, ctx.guest.vmid)
        )
    flags = {k: v for k, v in wanted_flags(params).items() if k == "acl" or v != UNSET_MEANS[k]}
    options = dict({"mp": params["path"]}, **flags)
    remember = dict(remember or {}, created=key)
    if params["volume"] is not None:
        text = property_string.format(dict({"volume": params["volume"]}, **options), "lxc_mp")
        kind = mount_kind(params["volume"])
        check_root_login(params, kind, key)
        return Change(
            set={key: text},
            remember=remember,
            result={PARAM: key, "volume": params["volume"]},
            summary="add %s mount %s (%s at %s)" % (kind, key, params["volume"], params["path"]),
        )
    missing = [name for name in ("storage", "size") if params[name] is None]
    if missing:
        raise InvalidRequest(
            "%s is empty on container %d: creating a mount point needs %s (or volume: a host path for a bind "
            "mount)" % (key, ctx.guest.vmid, " and ".join(missing))
        )
    check_new_volume_storage(ctx.api, ctx.guest.node, "lxc", params["storage"])
    size = allocation_size(params["size"])
    result = {PARAM: key, "size": format_size(size)}
    rounded = ""
    if size != params["size"]:
        result["size_rounded"] = True
        rounded = ", %s rounded up to whole MiB" % format_size(params["size"])
    return Change(
        set={key: new_volume_text("lxc", key, params["storage"], size, options)},
        remember=remember,
        result=result,
        summary="create %s (%s on %s at %s%s)" % (key, format_size(size), params["storage"], params["path"], rounded),
    )


def plan_update(ctx, key):
    params = ctx.params
    fmt = volume_key_format("lxc", key)
    values = parse_mountpoint(key, ctx.config[key])
    volid = values.get("volume", "")
    kind = mount_kind(volid)
    where = "%s (%s) of container %d" % (key, volid, ctx.guest.vmid)
    check_same_volume(params, where, volid, kind)
    in_effect = current_value(ctx, key, volid)
    result = {PARAM: key, "volume": volid}
    if kind == "volume":
        result["size"] = size_text(recorded_size(in_effect or values))
    grow = None
    if params["size"] is not None:
        recorded = recorded_size(in_effect or values)
        grow = grow_size(ctx.api, ctx.guest, where, volid, params["size"], recorded, in_effect is not None, result)
    desired = {}
    wanted = wanted_flags(params)
    if params["path"] is not None:
        wanted["mp"] = params["path"]
    for name, value in wanted.items():
        if name == "acl" or name == "mp":
            same = name in values and property_string.same_value(name, values[name], value, fmt)
        else:
            same = property_string.same_value(name, values.get(name, UNSET_MEANS[name]), value, fmt)
        if not same:
            desired[name] = value
    if desired and kind != "volume":
        check_root_login(params, kind, key)
    return grow_and_set(ctx, key, fmt, values, grow, desired, result)


def check_root_login(params, kind, key):
    """Only ``root@pam`` itself may write a bind or device mount (pve-container LXC.pm
    check_ct_modify_config_perm: "mount point type $type is only allowed for root@pam"), and an API token's user
    is its token ID, ``root@pam!name`` (pve-manager PVE/HTTPServer.pm auth_handler): refuse before the write."""
    user = params.get("api_user") or "root@pam"
    if params.get("api_token_id") or user != "root@pam":
        raise InvalidRequest(
            "writing %s as a %s mount needs api_user root@pam with api_password: Proxmox allows bind and device "
            "mounts only to root@pam itself, never to an API token or another user (logged in as %s)"
            % (key, kind, "%s!%s" % (user, params["api_token_id"]) if params.get("api_token_id") else user)
        )


def check_same_volume(params, where, volid, kind):
    """An existing mount point keeps its storage, volume or host path: moving is not done by this module."""
    if params["volume"] is not None and params["volume"] != volid:
        raise InvalidRequest(
            "%s holds %s, not %s; remove it (state=absent) and add it again to mount another one"
            % (where, volid, params["volume"])
        )
    if kind != "volume":
        given = [name for name in ("storage", "size") if params[name] is not None]
        if given:
            raise InvalidRequest("%s is a %s mount of a host path: it has no %s" % (where, kind, " or ".join(given)))
    elif params["storage"] and params["storage"] != volume_storage(volid):
        raise InvalidRequest(
            "%s is on storage %s, not %s; moving volumes is not done by this module"
            % (where, volume_storage(volid), params["storage"])
        )


def current_value(ctx, key, volid):
    """The parsed value in effect now, or None when the key is only pending or a pending value swaps its
    volume: pve-container API2/LXC.pm resize_vm reads ``$conf->{$disk}`` and writes ``size=`` there only."""
    text = ctx.state.current.get(key)
    if text is None:
        return None
    values = parse_mountpoint(key, text)
    return values if values.get("volume") == volid else None


def plan_absent(ctx, key):
    """Detach ``key`` (its volume becomes ``unusedN``), then with ``purge`` destroy that ``unusedN``. A bind or
    device mount is only removed from the config (pve-container LXC/Config.pm vmconfig_apply_pending adds only
    mount points of type volume to unusedN)."""
    if key in ctx.config:
        volid = parse_mountpoint(key, ctx.config[key]).get("volume", "")
        result = {PARAM: key, "volume": volid}
        kind = mount_kind(volid)
        if kind == "volume":
            return detach(key, volid, ctx.params["purge"], result)
        if ctx.params["purge"]:
            raise InvalidRequest(
                "%s of %s is a %s mount of %s: there is no volume to destroy (purge); remove it without purge"
                % (key, ctx.guest.label, kind, volid)
            )
        return Change(
            delete=[key],
            remember={"detached": volid},
            result=result,
            summary="remove %s mount %s (%s)" % (kind, key, volid),
        )
    change = after_detach(ctx, key, PARAM)
    return change if change is not None else Change(result=empty_slot_result(ctx, key, PARAM))
