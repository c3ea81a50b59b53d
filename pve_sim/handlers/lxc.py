# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""LXC containers: list, status, config (GET/PUT), pending, resize.

Follows pve-container: ``API2/LXC/Config.pm`` (update_vm, synchronous PUT only),
``LXC/Config.pm`` (``update_pct_config``, ``vmconfig_hotplug_pending``,
``vmconfig_apply_pending``) and ``API2/LXC.pm`` (resize).  Note the order differs from
QEMU: the lock is checked before the digest, and a digest mismatch reads
``detected modified configuration - file changed by other user? Try again.``.
"""

import re

from .. import schema
from ..errors import ApiError, HandlerError, ParamError
from ..validation import parse_size, split_list
from . import route
from .common import (
    LXC_NEW_DISK_RE,
    add_unused_volume,
    check_lock,
    check_protection,
    clamp_cpu_shares,
    cleanup_pending,
    parse_lxc_net,
    parse_mountpoint,
    pending_array,
    print_lxc_net,
    print_mountpoint,
    true,
    typed_config,
    unique_tags,
)

MiB = 1024**2
GiB = 1024**3
FASTPLUG = {"description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "lock"}
_SIZE_RE = re.compile(r"(?:^|,)size=([^,]+)")
DIGEST_MSG = "detected modified configuration - file changed by other user? Try again."


def assert_if_modified(digest, current):
    """``PVE::Tools::assert_if_modified``."""
    if digest and digest != current:
        raise HandlerError(DIGEST_MSG)


def ct_stats(state, guest):
    conf = guest.config
    running = guest.status == "running"
    cpus = int(conf.get("cores") or 0) or float(conf.get("cpulimit") or 0) or state.nodes[guest.node].maxcpu
    maxdisk = 4 * GiB
    m = _SIZE_RE.search(conf.get("rootfs") or "")
    if m:
        maxdisk = parse_size(m.group(1)) or 4 * GiB
    maxmem = int(conf.get("memory") or 512) * MiB
    d = {
        "vmid": guest.vmid,
        "type": "lxc",
        "name": guest.name.replace(" ", ""),
        "status": guest.status,
        "cpus": cpus,
        "maxmem": maxmem,
        "maxswap": int(conf.get("swap") or 0) * MiB,
        "maxdisk": maxdisk,
        "disk": maxdisk // 4 if running else 0,
        "mem": maxmem // 4 if running else 0,
        "swap": 0,
        "uptime": int(state.now() - guest.started_at) if running else 0,
        "cpu": 0.0042 if running else 0,
        "netin": 23456 if running else 0,
        "netout": 65432 if running else 0,
        "diskread": 0,
        "diskwrite": 0,
    }
    if running:
        d["pid"] = guest.pid
    if conf.get("tags") is not None:
        d["tags"] = conf["tags"]
    if true(conf.get("template")):
        d["template"] = 1
    if conf.get("lock"):
        d["lock"] = conf["lock"]
    return d


@route("GET", "/nodes/{node}/lxc")
def vmlist(ctx, params):
    state = ctx.state
    return [
        ct_stats(state, g)
        for g in sorted(state.guests.values(), key=lambda g: g.vmid)
        if g.kind == "lxc" and g.node == params["node"]
    ]


@route("GET", "/nodes/{node}/lxc/{vmid}/status/current")
def vm_status(ctx, params):
    guest = ctx.state.load_config(params["node"], params["vmid"], "lxc")
    d = ct_stats(ctx.state, guest)
    d["ha"] = {"managed": 0}
    return d


@route("GET", "/nodes/{node}/lxc/{vmid}/config")
def vm_config(ctx, params):
    if params.get("snapshot") and true(params.get("current")):
        msg = "cannot use 'snapshot' parameter with 'current'"
        raise ParamError({"snapshot": msg, "current": msg})
    guest = ctx.state.load_config(params["node"], params["vmid"], "lxc")
    if params.get("snapshot"):
        raise HandlerError("snapshot '%s' does not exist" % params["snapshot"])
    out = typed_config("lxc", guest.merged_config(current=true(params.get("current"))))
    out["digest"] = guest.digest
    ctx.after_config_read(guest)
    return out


@route("GET", "/nodes/{node}/lxc/{vmid}/pending")
def vm_pending(ctx, params):
    guest = ctx.state.load_config(params["node"], params["vmid"], "lxc")
    out = pending_array(guest)
    ctx.after_config_read(guest)
    return out


class LxcUpdate:
    def __init__(self, ctx, node, vmid):
        self.ctx = ctx
        self.state = ctx.state
        self.node = node
        self.vmid = vmid

    # update_pct_config
    def update(self, guest, params, delete, revert):
        for opt in revert:
            guest.pending.pop(opt, None)
            guest.pending_delete.pop(opt, None)
        modified = set()
        for opt in delete:
            if opt not in guest.config and opt not in guest.pending:
                continue  # warn "cannot delete '$opt' - not set in current configuration!"
            modified.add(opt)
            if opt in ("memory", "rootfs", "ostype"):
                raise HandlerError("unable to delete required option '%s'" % opt)
            if re.match(r"^(unused|mp)\d+$", opt):
                check_protection(guest, "can't remove CT %d drive '%s'" % (self.vmid, opt))
            elif opt == "unprivileged":
                raise HandlerError("unable to delete read-only option: '%s'" % opt)
            guest.pending_delete[opt] = False
        for opt in sorted(params):
            modified.add(opt)
            value = params[opt]
            if re.match(r"^mp\d+$", opt) or opt == "rootfs":
                check_protection(guest, "can't update CT %d drive '%s'" % (self.vmid, opt))
                mp = parse_mountpoint(opt, value)
                if mp["type"] == "volume":
                    self.check_content_type(mp)
            elif opt == "unprivileged":
                raise HandlerError("unable to modify read-only option: '%s'" % opt)
            elif opt == "tags":
                value = unique_tags(value)  # pve-container LXC/Config.pm update_pct_config
            elif re.match(r"^net\d+$", opt):
                net = parse_lxc_net(opt, value)
                if net.get("mtu") and int(net["mtu"]) > 1500:
                    raise HandlerError("%s: MTU size '%s' is bigger than bridge MTU '1500'" % (opt, net["mtu"]))
            guest.pending[opt] = value
            guest.pending_delete.pop(opt, None)
        cleanup_pending(guest)
        errors = {}
        if guest.status == "running":
            self.hotplug_pending(guest, modified, errors)
        else:
            self.apply_pending(guest, modified, errors)
        return errors

    def check_content_type(self, mp):
        volid = mp.get("volume", "")
        sid = volid.split(":", 1)[0]
        st = self.state.storage_config(self.node, sid)
        content = st.content if st else next(s for (_node, i), s in self.state.storages.items() if i == sid).content
        if "rootdir" not in content:
            raise HandlerError("storage '%s' does not allow content type 'rootdir' (Container)" % sid)

    def delete_mountpoint_volume(self, volid):
        if volid.startswith("/"):
            return
        if self.state.volume_owner(volid) == self.vmid:
            self.state.free_volume(self.node, volid)

    def volume_in_use(self, guest, volid, skip_key):
        for key, value in guest.config.items():
            if key == skip_key or not (key == "rootfs" or re.match(r"^mp\d+$", key)):
                continue
            if value.split(",")[0] in (volid, "volume=" + volid):
                return True
        return False

    def apply_pending_mountpoint(self, guest, opt):
        mp = parse_mountpoint(opt, guest.pending[opt])
        if mp["type"] == "volume" and LXC_NEW_DISK_RE.match(mp.get("volume", "")):
            m = LXC_NEW_DISK_RE.match(mp["volume"])
            storeid, size_gb = m.group(1), m.group(2)
            st = self.state.storage_config(self.node, storeid)
            content = st.content if st else []
            if "rootdir" not in content:
                raise HandlerError("content type 'rootdir' is not available or configured on storage '%s'" % storeid)
            size_kb = int(float(size_gb) * 1024) * 1024
            # pve-container src/PVE/LXC.pm create_disks: a ZFS pool gets a 'subvol' (refquota), others 'raw'
            fmt = "subvol" if st is not None and st.type == "zfspool" else "raw"
            volid = self.state.alloc_volume(self.node, storeid, self.vmid, size_kb * 1024, fmt, content="rootdir")
            mp["volume"] = volid
            mp["size"] = size_kb * 1024
            guest.pending[opt] = print_mountpoint(opt, mp)
        elif guest.status == "running" and opt in guest.config:
            return True  # skip: no "changing" of mount points while running
        else:
            if mp["type"] == "volume":  # $rescan_volume: size= from volume_size_info
                vol = self.state.find_volume(self.node, mp.get("volume", ""))
                if vol is not None:
                    mp["size"] = vol.size
            guest.pending[opt] = print_mountpoint(opt, mp)
        old = guest.config.get(opt)
        if old is not None:
            # apply_pending_mountpoint adds the old volume to unusedN; write_pct_config then drops an unusedN
            # whose volume the config still uses (a changed option of the same volume leaves none)
            old_mp = parse_mountpoint(opt, old)
            new_volume = parse_mountpoint(opt, guest.pending[opt]).get("volume")
            if old_mp["type"] == "volume" and old_mp["volume"] != new_volume:
                if not self.volume_in_use(guest, old_mp["volume"], opt):
                    add_unused_volume(guest, old_mp["volume"])
        return False

    def apply_pending(self, guest, selection, errors):
        for opt in sorted(guest.pending_delete):
            if selection and opt not in selection:
                continue
            try:
                if re.match(r"^mp\d+$", opt):
                    mp = parse_mountpoint(opt, guest.config[opt])
                    if mp["type"] == "volume" and not self.volume_in_use(guest, mp["volume"], opt):
                        add_unused_volume(guest, mp["volume"])
                elif re.match(r"^unused\d+$", opt):
                    self.delete_mountpoint_volume(guest.config[opt])
            except HandlerError as exc:
                errors[opt] = "unable to apply pending change %s : %s" % (opt, exc.message)
                continue
            guest.config.pop(opt, None)
            guest.pending_delete.pop(opt, None)
        cleanup_pending(guest)
        for opt in sorted(guest.pending):
            if selection and opt not in selection:
                continue
            try:
                if re.match(r"^mp\d+$", opt):
                    self.apply_pending_mountpoint(guest, opt)
                elif re.match(r"^net\d+$", opt):
                    guest.pending[opt] = print_lxc_net(opt, parse_lxc_net(opt, guest.pending[opt]))
            except HandlerError as exc:
                errors[opt] = "unable to apply pending change %s : %s" % (opt, exc.message)
                continue
            guest.config[opt] = guest.pending.pop(opt)

    def hotplug_pending(self, guest, selection, errors):
        for opt in sorted(guest.pending):
            if selection and opt not in selection:
                continue
            if opt in FASTPLUG:
                guest.config[opt] = guest.pending.pop(opt)
        for opt in sorted(guest.pending_delete):
            if selection and opt not in selection:
                continue
            skip = False
            try:
                # pve-container LXC/Config.pm vmconfig_hotplug_pending matches deletes with m/^net(\d)$/: one
                # digit, so a delete of net10..net31 on a running container stays pending
                if opt in FASTPLUG or opt in ("swap", "cpulimit", "cpuunits") or re.match(r"^net\d$", opt):
                    pass
                elif re.match(r"^unused\d+$", opt):
                    if not self.volume_in_use(guest, guest.config[opt], opt):
                        self.delete_mountpoint_volume(guest.config[opt])
                else:
                    skip = True
            except HandlerError as exc:
                errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                continue
            if not skip:
                guest.config.pop(opt, None)
                guest.pending_delete.pop(opt, None)
        for opt in sorted(guest.pending):
            if selection and opt not in selection:
                continue
            value = guest.pending[opt]
            skip = False
            try:
                if opt in ("cpulimit", "cpuunits", "memory", "swap"):
                    pass
                elif re.match(r"^net\d+$", opt):
                    value = print_lxc_net(opt, parse_lxc_net(opt, value))
                elif re.match(r"^mp\d+$", opt):
                    if opt in guest.config:
                        skip = True
                    else:
                        self.apply_pending_mountpoint(guest, opt)
                        value = guest.pending[opt]
                elif re.match(r"^dev\d+$", opt):
                    skip = opt in guest.config
                else:
                    skip = True
            except HandlerError as exc:
                errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                continue
            if not skip:
                guest.config[opt] = value
                del guest.pending[opt]


def check_mountpoint_perm(user, params):
    """pve-container LXC.pm check_ct_modify_config_perm (called by API2/LXC/Config.pm update_vm with the new
    values): only ``root@pam`` itself may write a mount point that is not a storage volume - a bind or device mount.
    An API token's user is its token ID (``root@pam!name``: pve-manager PVE/HTTPServer.pm auth_handler), so no
    token may. Deleting one is not checked (``return if $delete``)."""
    if user == "root@pam":
        return
    for opt in sorted(params):
        if re.match(r"^mp\d+$", opt) or opt == "rootfs":
            kind = parse_mountpoint(opt, params[opt])["type"]
            if kind != "volume":
                # pve-common Exception.pm raise_perm_exc: 403 "Permission check failed ($what)"
                raise ApiError(
                    "Permission check failed (mount point type %s is only allowed for root@pam)\n" % kind, status=403
                )


@route("PUT", "/nodes/{node}/lxc/{vmid}/config")
def update_vm(ctx, params):
    state = ctx.state
    params = {k: v for k, v in params.items() if v is not None}
    node, vmid = params.pop("node"), int(params.pop("vmid"))
    digest = params.pop("digest", None)
    if not params:
        raise HandlerError("no options specified")
    delete = split_list(params.pop("delete", None))
    revert = split_list(params.pop("revert", None))
    if "cpuunits" in params:
        params["cpuunits"] = clamp_cpu_shares(params["cpuunits"])
    # Realism: the config is not written when update_pct_config reports errors ("don't write to config if we
    # get any errors", pve-container API2/LXC/Config.pm update_vm), but volumes it allocated for new mount
    # points (LXC/Config.pm apply_pending_mountpoint -> LXC.pm create_disks) or freed for unusedN stay so.
    with state.transaction(vmids=(vmid,), volumes=not state.realism):
        guest = state.load_config(node, vmid, "lxc")
        check_lock(guest)
        assert_if_modified(digest, guest.digest)
        for opt in revert:
            if not schema.option_exists("lxc", opt):
                raise ParamError({"revert": "unknown option '%s'" % opt})
            if opt in params:
                raise ParamError({"revert": "you can't use '-%s' and '-revert %s' at the same time" % (opt, opt)})
        for opt in delete:
            if not schema.option_exists("lxc", opt):
                raise ParamError({"delete": "unknown option '%s'" % opt})
            if opt in params:
                raise ParamError({"delete": "you can't use '-%s' and -delete %s' at the same time" % (opt, opt)})
            if opt in revert:
                raise ParamError(
                    {"delete": "you can't use '-delete %s' and '-revert %s' at the same time" % (opt, opt)}
                )
        check_mountpoint_perm(ctx.user, params)
        errors = LxcUpdate(ctx, node, vmid).update(guest, params, delete, revert)
        if errors:
            raise ParamError(errors)  # the config is not written (the transaction rolls it back)
    return None


@route("PUT", "/nodes/{node}/lxc/{vmid}/resize")
def resize_vm(ctx, params):
    state = ctx.state
    node, vmid = params["node"], int(params["vmid"])
    digest, disk = params.get("digest"), params["disk"]
    sizestr = params["size"]
    ext = sizestr.startswith("+")
    request_size = parse_size(sizestr[1:] if ext else sizestr)
    if request_size is None:
        raise HandlerError("invalid size string")

    def load_and_check():
        guest = state.load_config(node, vmid, "lxc")
        check_lock(guest)
        assert_if_modified(digest, guest.digest)
        mp = parse_mountpoint(disk, guest.config.get(disk))
        volid = mp["volume"]
        if mp["type"] != "volume":  # PVE::Storage::parse_volname -> parse_volume_id dies for a host path
            raise HandlerError("unable to parse volume ID '%s'" % volid)
        owner = state.volume_owner(volid)
        if owner != vmid:
            raise HandlerError("can't resize mount point owned by another container (%s)" % owner)
        vol = state.find_volume(node, volid)
        if vol is None:
            raise HandlerError("Could not determine current size of volume '%s'" % volid)
        size = vol.size
        newsize = int(size + request_size if ext else request_size)
        if newsize < size:
            raise HandlerError("unable to shrink disk size")
        if newsize == size:
            raise HandlerError("disk is already at specified size")
        return guest, mp, vol, newsize

    def worker(task):
        guest, mp, vol, newsize = load_and_check()
        state.resize_volume(node, vol.volid, newsize)
        mp["size"] = newsize
        guest.config[disk] = print_mountpoint(disk, mp)
        return ["  Logical volume pve/%s successfully resized." % vol.name, "resize2fs 1.47.2 (1-Jan-2025)"]

    load_and_check()  # early checks before forking+locking
    return state.new_task(node, "resize", vmid, ctx.user, action=worker, vmids=(vmid,)).upid
