# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""QEMU guests: list, status, config (GET/POST/PUT), pending, resize, unlink.

The update logic follows qemu-server's ``$update_vm_api`` (API2/Qemu.pm) step by step:
parameter checks, the early ``load_and_check_config`` (digest, lock) before the worker
forks, then the update in the worker (POST) or in the request (PUT): write changes to
``[PENDING]``, clean up, and apply them - all at once for a stopped VM
(``vmconfig_apply_pending``), only the hot-pluggable ones for a running VM
(``vmconfig_hotplug_pending``, default ``hotplug: network,disk,usb``).
"""

import functools
import math
import re
import uuid

from .. import schema
from ..errors import HandlerError, ParamError
from ..memory_hotplug import current_memory, hotplug_memory
from ..validation import BOOT_FORMAT, format_size, parse_property_string, parse_size, print_property_string, split_list
from . import cloudinit, route
from .common import (
    QEMU_NEW_DISK_RE,
    add_unused_volume,
    check_lock,
    check_protection,
    clamp_cpu_shares,
    cleanup_pending,
    drive_is_cdrom,
    drive_is_cloudinit,
    is_valid_drivename,
    parse_drive,
    parse_net,
    pending_array,
    print_drive,
    print_net,
    true,
    typed_config,
    unique_tags,
)

MiB = 1024**2
# qemu-server src/PVE/QemuServer.pm $fast_plug_option, plus every key of $confdesc_cloudinit (cloudinit.py)
FAST_PLUG = {
    "description",
    "hookscript",
    "lock",
    "migrate_downtime",
    "migrate_speed",
    "name",
    "onboot",
    "protection",
    "shares",
    "startup",
    "tags",
    "vmstatestorage",
}
DISK_NOHOTPLUG_OPTS = ("aio", "discard", "iothread", "queues", "product", "cache", "ssd", "vendor", "ro")


def _is_fast_plug(opt):
    return opt in FAST_PLUG or cloudinit.is_cloudinit_option(opt)


def parse_hotplug_features(value):
    if value == "0":
        return set()
    if value == "1":
        value = "network,disk,usb"
    return set(split_list(value))


def _bootorder(conf):
    return list(_parse_bootorder(conf.get("boot") or ""))


@functools.lru_cache(maxsize=4096)
def _parse_bootorder(boot):
    if not boot:
        return ()
    try:
        cfg = parse_property_string(BOOT_FORMAT, boot)
    except Exception:  # noqa: BLE001 - an unparsable boot string has no order
        return ()
    return tuple(split_list(cfg["order"])) if cfg.get("order") else ()


def print_bootorder(devs):
    if not devs:
        return ""
    return print_property_string({"order": ";".join(devs)}, BOOT_FORMAT)


# -- read side ------------------------------------------------------------------------------------


def vm_stats(state, guest):
    conf = guest.config
    sockets = int(conf.get("sockets", 1) or 1)
    cores = int(conf.get("cores", 1) or 1)
    cpus = min(sockets * cores, state.nodes[guest.node].maxcpu)
    if conf.get("vcpus"):
        cpus = int(conf["vcpus"])
    maxmem = current_memory(conf.get("memory")) * MiB
    running = guest.status == "running"
    uptime = int(state.now() - guest.started_at) if running else 0
    maxdisk = bootdisk_size(state, guest)
    d = {
        "vmid": guest.vmid,
        "name": guest.name,
        "status": guest.status,
        "cpus": cpus,
        "maxmem": maxmem,
        "maxdisk": maxdisk,
        "disk": 0,
        "uptime": uptime,
        "cpu": 0.0123 if running else 0,
        "mem": maxmem // 2 if running else 0,
        "memhost": maxmem // 2 if running else 0,
        "netin": 123456 if running else 0,
        "netout": 654321 if running else 0,
        "diskread": 1048576 if running else 0,
        "diskwrite": 524288 if running else 0,
    }
    if running:
        d["pid"] = guest.pid
    if conf.get("balloon"):
        d["balloon_min"] = int(conf["balloon"]) * MiB
        d["shares"] = int(conf.get("shares", 1000))
    if conf.get("lock"):
        d["lock"] = conf["lock"]
    if conf.get("tags") is not None:
        d["tags"] = conf["tags"]
    if true(conf.get("template")):
        d["template"] = 1
    return d


_SIZE_RE = re.compile(r"(?:^|,)size=([^,]+)")
_MEDIA_CDROM_RE = re.compile(r"(?:^|,)media=cdrom(?:,|$)")


def bootdisk_size(state, guest):
    """``PVE::QemuServer::Drive::bootdisk_size``: size of the first disk of the boot order.
    (A regex instead of a full parse: this runs for every guest of every list call.)"""
    conf = guest.config
    order = _bootorder(conf) or ([conf["bootdisk"]] if conf.get("bootdisk") else [])
    for dev in order:
        value = conf.get(dev)
        if not value or not is_valid_drivename(dev) or _MEDIA_CDROM_RE.search(value):
            continue
        m = _SIZE_RE.search(value)
        return (parse_size(m.group(1)) or 0) if m else 0
    return 0


@route("GET", "/nodes/{node}/qemu")
def vmlist(ctx, params):
    state = ctx.state
    out = []
    for guest in sorted(state.guests.values(), key=lambda g: g.vmid):
        if guest.kind != "qemu" or guest.node != params["node"]:
            continue
        d = vm_stats(state, guest)
        if true(params.get("full")) and guest.status == "running":
            d["qmpstatus"] = "running"
        out.append(d)
    return out


@route("GET", "/nodes/{node}/qemu/{vmid}/status/current")
def vm_status(ctx, params):
    state = ctx.state
    guest = state.load_config(params["node"], params["vmid"], "qemu")
    d = vm_stats(state, guest)
    d["ha"] = {"managed": 0}
    d["qmpstatus"] = guest.status
    if guest.status == "running":
        d["running-machine"] = "pc-i440fx-9.2+pve1"
        d["running-qemu"] = "9.2.0"
    agent = guest.config.get("agent")
    if agent and re.match(r"^(enabled=)?1", agent):
        d["agent"] = 1
    return d


@route("GET", "/nodes/{node}/qemu/{vmid}/config")
def vm_config(ctx, params):
    if params.get("snapshot") and true(params.get("current")):
        msg = "cannot use 'snapshot' parameter with 'current'"
        raise ParamError({"snapshot": msg, "current": msg})
    guest = ctx.state.load_config(params["node"], params["vmid"], "qemu")
    if params.get("snapshot"):
        # API2/Qemu.pm vm_config: the snapshot's section of the config file, or "snapshot '%s' does not exist"
        snap = guest.snapshots.get(params["snapshot"])
        if snap is None:
            raise HandlerError("snapshot '%s' does not exist" % params["snapshot"])
        return dict(typed_config("qemu", snap), digest=guest.digest)
    conf = guest.merged_config(current=true(params.get("current")))
    if conf.get("cipassword"):
        conf["cipassword"] = "**********"
    out = typed_config("qemu", conf)
    out["digest"] = guest.digest
    ctx.after_config_read(guest)
    return out


@route("GET", "/nodes/{node}/qemu/{vmid}/pending")
def vm_pending(ctx, params):
    guest = ctx.state.load_config(params["node"], params["vmid"], "qemu")
    out = pending_array(guest)
    ctx.after_config_read(guest)
    return out


# -- update ---------------------------------------------------------------------------------------


class QemuUpdate:
    """One ``$update_vm_api`` call."""

    def __init__(self, ctx, params, sync):
        self.ctx = ctx
        self.state = ctx.state
        self.sync = sync
        params = {k: v for k, v in params.items() if v is not None}
        self.node = params.pop("node")
        self.vmid = int(params.pop("vmid"))
        self.digest = params.pop("digest", None)
        params.pop("background_delay", None)
        params.pop("skip_cloud_init", None)
        params.pop("import-working-storage", None)
        self.paramarr = []
        for key in sorted(params):
            self.paramarr += ["-" + key, "<hidden>" if key == "cipassword" else str(params[key])]
        skiplock = params.pop("skiplock", None)
        if true(skiplock) and ctx.user != "root@pam":
            raise ParamError({"skiplock": "Only root may use this option."})
        self.skiplock = true(skiplock)
        delete_str = params.pop("delete", None)
        revert_str = params.pop("revert", None)
        self.force = true(params.pop("force", None))
        if "cpuunits" in params:
            params["cpuunits"] = clamp_cpu_shares(params["cpuunits"])
        if not delete_str and not revert_str and not params:
            raise HandlerError("no options specified")
        if params.get("cdrom"):  # $resolve_cdrom_alias
            value = params.pop("cdrom")
            if "media=" not in value:
                value += ",media=cdrom"
            params["ide2"] = value
        self.revert = []
        for opt in split_list(revert_str):
            if not schema.option_exists("qemu", opt):
                raise ParamError({"revert": "unknown option '%s'" % opt})
            if opt in params:
                raise ParamError({"delete": "you can't use '-%s' and -revert %s' at the same time" % (opt, opt)})
            self.revert.append(opt)
        self.delete = []
        for opt in split_list(delete_str):
            if opt == "cdrom":
                opt = "ide2"
            if opt in params:
                raise ParamError({"delete": "you can't use '-%s' and -delete %s' at the same time" % (opt, opt)})
            if opt in self.revert:
                raise ParamError({"revert": "you can't use '-delete %s' and -revert %s' at the same time" % (opt, opt)})
            if not schema.option_exists("qemu", opt):
                raise ParamError({"delete": "unknown option '%s'" % opt})
            self.delete.append(opt)
        self.params = params
        self._check_drive_params()
        for opt in list(params):
            if re.match(r"^net\d+$", opt):
                params[opt] = print_net(opt, parse_net(opt, params[opt]))
            elif opt == "vmgenid" and params[opt] == "1":
                params[opt] = str(uuid.uuid4())
        self._check_storage_access()
        self.load_and_check_config()  # early checks before forking/locking

    # $check_drive_param
    def _check_drive_params(self):
        for opt in sorted(self.params):
            if not is_valid_drivename(opt):
                continue
            drive = parse_drive(opt, self.params[opt])
            volid = drive.get("file", "")
            if ":" in volid and not QEMU_NEW_DISK_RE.match(volid) and not volid.endswith(":cloudinit"):
                sid, volname = volid.split(":", 1)
                if volname.startswith("iso/") and drive.get("media") != "cdrom":
                    raise ParamError({opt: "explicit 'media=cdrom' is required for iso images"})
            self.params[opt] = print_drive(opt, drive)

    # $check_storage_access
    def _check_storage_access(self):
        for opt in sorted(self.params):
            if not is_valid_drivename(opt):
                continue
            drive = parse_drive(opt, self.params[opt])
            volid = drive.get("file", "")
            if not volid or volid in ("none", "cloudinit") or volid.endswith(":cloudinit"):
                continue
            if drive_is_cdrom(drive) and volid == "cdrom":
                continue
            m = QEMU_NEW_DISK_RE.match(volid)
            if not drive_is_cdrom(drive) and m:
                storeid = m.group(2)
                if not storeid:
                    raise HandlerError("no storage ID specified (and no default storage)")
                st = self.state.storage_config(self.node, storeid)
                content = st.content if st else self._any_storage(storeid).content
                if "images" not in content:
                    raise ParamError({"storage": "storage '%s' does not support vm images" % storeid})
            elif ":" in volid and not volid.startswith("/"):
                storeid, volname = volid.split(":", 1)
                self.state.storage_config(self.node, storeid)
                vtype = (
                    volname.split("/", 1)[0]
                    if "/" in volname and volname.split("/", 1)[0] in ("iso", "vztmpl", "backup", "snippets", "import")
                    else "images"
                )
                if vtype not in ("images", "iso"):
                    raise ParamError({opt: "content type needs to be 'images' or 'iso'"})

    def _any_storage(self, sid):
        return next(s for (_node, i), s in self.state.storages.items() if i == sid)

    def load_and_check_config(self):
        guest = self.state.load_config(self.node, self.vmid, "qemu")
        if self.digest and self.digest != guest.digest:
            raise HandlerError("checksum mismatch (file change by other user?)")
        if not self.skiplock:
            check_lock(guest)
        if self.params.get("memory") or self.params.get("balloon") is not None:
            memory = self.params.get("memory") or guest.pending.get("memory") or guest.config.get("memory")
            maxmem = current_memory(memory)
            balloon = self.params.get("balloon")
            if balloon is None:
                balloon = guest.pending.get("balloon") or guest.config.get("balloon")
            if balloon and int(balloon) > maxmem:
                raise HandlerError("balloon value too large (must be smaller than assigned memory)")
        return guest

    def start(self):
        """Run synchronously (PUT) or fork the ``qmconfig`` worker (POST, returns the UPID).

        Realism: no rollback.  $update_vm_api writes the config after every deleted and every added option
        (``PVE::QemuConfig->write_config`` inside both loops) and create_disks' volumes stay referenced from
        [PENDING], so a ``die`` halfway (a later option's check, a full storage, ...) leaves the earlier ones
        written; the simulator's ideal case undoes the whole update."""
        rollback = not self.state.realism
        slow = self._slow_free_seconds()
        # lock_config waits up to 10 s for the flock that a still running slow update holds
        wait = self.state.flock_wait(self.vmid)
        action = self._worker
        if wait > self.state.FLOCK_TIMEOUT:
            wait, slow = self.state.FLOCK_TIMEOUT, 0.0
            action = self._flock_timeout
        elif slow:
            self.state.hold_flock(self.vmid, wait + slow)
        slow += wait
        if self.sync and not slow:
            errors = {}
            with self.state.transaction(vmids=(self.vmid,), rollback=rollback):
                errors = self.updatefn([])
            if errors:
                raise ParamError(errors)
            return None
        # POST: the qmconfig worker.  A PUT under the slow_free fault: the request keeps working in vdisk_free
        # (pvedaemon) after pveproxy gave up on it (pve-http-server APIServer/AnyEvent.pm proxy_request:
        # http_request(..., timeout => 30)) - hidden work the answer waits for (Simulator._wait_for_work)
        task = self.state.new_task(
            self.node,
            "qmconfig",
            self.vmid,
            self.ctx.user,
            action=action,
            vmids=(self.vmid,),
            rollback=rollback,
            duration=slow,
            hidden=self.sync,
        )
        if self.sync:
            self.ctx.hold = (slow, task)
            return None
        return task.upid

    def _slow_free_seconds(self):
        """How long the ``vdisk_free`` calls of this update take under the ``slow_free`` fault: deletes of
        ``unusedN`` (and forced deletes of drives) free their volume inside the update (QemuServer.pm
        try_deallocate_drive -> PVE::Storage::vdisk_free)."""
        slow = self.state.faults.slow_free
        if not slow:
            return 0.0
        guest = self.state.guest(self.vmid)
        total = 0.0
        for opt in self.delete:
            if not (opt.startswith("unused") or (self.force and is_valid_drivename(opt))):
                continue
            value = guest.config.get(opt) or guest.pending.get(opt) or ""
            volid = value.split(",")[0]
            total += slow.get(volid.split(":", 1)[0], 0.0) if ":" in volid else 0.0
        return total

    def _flock_timeout(self, task):
        raise self.state.flock_timeout_error("qemu", self.vmid)

    def _worker(self, task):
        log = []
        errors = self.updatefn(log)
        task.log.extend(log)
        if errors:
            raise ParamError(errors)
        return None

    # the $updatefn closure
    def updatefn(self, log):
        guest = self.load_and_check_config()
        log.append("update VM %d: %s" % (self.vmid, " ".join(self.paramarr)))
        modified = set()
        bootorder = _bootorder(guest.config)
        bootorder_deleted = "bootorder" in self.delete

        for opt in self.revert:
            if opt in guest.config:
                self.params[opt] = guest.config[opt]
            elif opt in guest.pending:
                self.delete.append(opt)

        for opt in self.delete:
            modified.add(opt)
            val = guest.config.get(opt, guest.pending.get(opt))
            if val is None:
                log.append("cannot delete '%s' - not set in current configuration!" % opt)
                modified.discard(opt)
                continue
            is_pending_val = opt in guest.pending
            guest.pending.pop(opt, None)
            if not bootorder_deleted and bootorder and opt in bootorder:
                bootorder = [d for d in bootorder if d != opt]
                self._set_pending_boot(guest, bootorder)
                modified.add("boot")
            if opt.startswith("unused"):
                check_protection(guest, "can't remove unused disk '%s'" % val)
                if self.try_deallocate_drive(guest, opt, {"file": val}, False):
                    guest.config.pop(opt, None)
            elif opt == "vmstate":
                check_protection(guest, "can't remove vmstate '%s'" % val)
                if self.try_deallocate_drive(guest, opt, {"file": val}, True):
                    guest.config.pop(opt, None)
            elif is_valid_drivename(opt):
                check_protection(guest, "can't remove drive '%s'" % opt)
                if is_pending_val:
                    self.register_unused_drive(guest, parse_drive(opt, val), log)
                guest.pending_delete[opt] = self.force
            elif opt == "tags":
                guest.config.pop(opt, None)
            else:
                guest.pending_delete[opt] = self.force

        for opt, value in self.params.items():
            modified.add(opt)
            if guest.pending.get(opt) == value:
                continue
            if is_valid_drivename(opt):
                if opt in guest.pending:
                    self.register_unused_drive(guest, parse_drive(opt, guest.pending[opt]), log)
                guest.pending[opt] = self.create_disk(guest, opt, value, log)
                if bootorder:
                    drive = parse_drive(opt, value)
                    if drive_is_cdrom(drive) and opt not in bootorder:
                        bootorder.append(opt)
                        self._set_pending_boot(guest, bootorder)
                        modified.add("boot")
            elif opt == "tags":
                guest.pending[opt] = unique_tags(value)  # API2/Qemu.pm $update_vm_api
            elif opt == "cipassword":
                guest.config[opt] = value if value.startswith("$") else "$5$simulated$" + "x" * 43
            elif opt == "boot":
                guest.pending[opt] = value
                cfg = parse_property_string(BOOT_FORMAT, value, "boot")
                if cfg.get("order"):
                    devs = split_list(cfg["order"])
                    for dev in devs:
                        exists = guest.config.get(dev) or guest.pending.get(dev) or self.params.get(dev)
                        if not exists or dev in self.delete:
                            raise HandlerError("invalid bootorder: device '%s' does not exist'" % dev)
                    guest.pending[opt] = print_bootorder(devs)
                    if guest.config.get("bootdisk"):
                        guest.pending_delete["bootdisk"] = False
            else:
                guest.pending[opt] = value
            guest.pending_delete.pop(opt, None)

        cleanup_pending(guest)
        self.write_cleanup(guest)
        if not guest.pending and not guest.pending_delete:
            return {}
        errors = {}
        if guest.status == "running":
            self.hotplug_pending(guest, modified, errors, log)
        else:
            self.apply_pending(guest, errors, log)
        self.write_cleanup(guest)
        return errors

    @staticmethod
    def _set_pending_boot(guest, bootorder):
        text = print_bootorder(bootorder)
        if text:
            guest.pending["boot"] = text
        else:
            guest.pending.pop("boot", None)

    # -- disks ------------------------------------------------------------------------------------

    def create_disk(self, guest, opt, value, log):
        """``create_disks`` for one drive: allocate ``STORAGE:SIZE_GiB``, or size an existing volume."""
        drive = parse_drive(opt, value)
        volid = drive.get("file", "")
        if not volid or volid in ("none", "cdrom"):
            drive.pop("size", None)
            return print_drive(opt, drive)
        m = QEMU_NEW_DISK_RE.match(volid)
        if volid.endswith(":cloudinit") or volid == "cloudinit":
            return self._create_cloudinit_drive(guest, opt, drive, log)
        if m:
            storeid, size_gb = m.group(2), m.group(3)
            if not storeid:
                raise HandlerError("no storage ID specified (and no default storage)")
            if drive.get("import-from"):
                raise HandlerError("%s: 'import-from' is not simulated" % opt)
            # API2/Qemu.pm $create_disks: convert_size($size, 'gb' => 'kb') rounds a fraction up (PVE::Tools)
            size_kb = math.ceil(float(size_gb) * 1024 * 1024)
            newvol = self.state.alloc_volume(self.node, storeid, self.vmid, size_kb * 1024, drive.get("format"))
            drive["file"] = newvol
            drive["size"] = size_kb * 1024
            drive.pop("format", None)
            res = print_drive(opt, drive)
            log.append("%s: successfully created disk '%s'" % (opt, res))
            return res
        if volid.startswith("/"):
            return print_drive(opt, drive)
        vol = self.state.find_volume(self.node, volid)
        if vol is None:
            self.state.storage_config(self.node, volid.split(":", 1)[0])
            raise HandlerError("volume %s does not exist" % volid)
        if vol.content not in ("images", "iso", "rootdir"):
            raise HandlerError("cannot use volume %s - content type needs to be 'images' or 'iso'" % volid)
        if drive.get("format") and vol.format not in ("iso",) and drive["format"] != vol.format:
            raise HandlerError(
                "drive '%s' - volume '%s' - 'format=%s' option different from storage format '%s'"
                % (opt, volid, drive["format"], vol.format)
            )
        drive["size"] = vol.size
        return print_drive(opt, drive)

    def _create_cloudinit_drive(self, guest, opt, drive, log):
        """API2/Qemu.pm ``$create_disks`` for ``STORAGE:cloudinit``: one cloud-init drive per VM, a 4 MiB volume
        ``vm-<vmid>-cloudinit`` (``.qcow2`` on a path based storage), attached as ``media=cdrom``."""
        storeid = drive["file"].split(":", 1)[0] if ":" in drive["file"] else ""
        if not storeid:
            raise HandlerError("no storage ID specified (and no default storage)")
        ci_key = cloudinit.has_cloudinit(guest.config, opt) or cloudinit.has_cloudinit(guest.pending, opt)
        if ci_key:
            raise HandlerError("%s - cloud-init drive is already attached at '%s'" % (opt, ci_key))
        st = self.state.check_enabled(self.node, storeid)
        name = "vm-%d-cloudinit" % self.vmid
        fmt = drive.get("format") or ("qcow2" if st.path_based else "raw")
        if st.path_based:
            name += "." + fmt
        drive["file"] = self.state.alloc_volume(
            self.node, storeid, self.vmid, cloudinit.CLOUDINIT_DISK_SIZE, fmt, name=name
        )
        drive["media"] = "cdrom"
        drive.pop("format", None)
        drive.pop("size", None)
        res = print_drive(opt, drive)
        log.append("%s: successfully created disk '%s'" % (opt, res))
        return res

    def register_unused_drive(self, guest, drive, log):
        """``vmconfig_register_unused_drive``."""
        if drive_is_cloudinit(drive):
            try:
                self.state.free_volume(self.node, drive["file"])
            except HandlerError as exc:
                log.append("WARN: " + exc.message.rstrip("\n"))
            return
        if drive_is_cdrom(drive):
            return
        volid = drive.get("file", "")
        if ":" not in volid or volid.startswith("/"):
            return
        storeid = volid.split(":", 1)[0]
        if not self.state.storage_defined(storeid):
            log.append(
                "WARN: storage '%s' no longer exists, volume '%s' will be removed from config" % (storeid, volid)
            )
            return
        if self.state.volume_owner(volid) == self.vmid:
            add_unused_volume(guest, volid)

    def try_deallocate_drive(self, guest, key, drive, force):
        if (force or key.startswith("unused")) and not drive_is_cdrom(drive):
            volid = drive["file"]
            if self.state.volume_owner(volid) == self.vmid:
                # qemu-server QemuServer.pm try_deallocate_drive: "check if the disk is really unused"
                # (QemuServer/Drive.pm is_volume_in_use: the config's drives but $key, then every snapshot's)
                in_use = [(k, v) for k, v in list(guest.config.items()) + list(guest.pending.items()) if k != key]
                for snap in guest.snapshots.values():
                    in_use += list(snap.items())
                for k, v in in_use:
                    if is_valid_drivename(k) and v.split(",")[0] in (volid, "file=" + volid):
                        raise HandlerError("unable to delete '%s' - volume is still in use (snapshot?)" % volid)
                self.state.free_volume(self.node, volid)
            return True
        return False

    def delete_or_detach_drive(self, guest, opt, force, log):
        drive = parse_drive(opt, guest.config[opt])
        if force:
            self.try_deallocate_drive(guest, opt, drive, True)
        else:
            self.register_unused_drive(guest, drive, log)

    @staticmethod
    def write_cleanup(guest):
        """write_vm_config: drop ``unusedN`` entries whose volume a drive uses again, and the cloud-init
        section when no cloud-init drive is left."""
        cloudinit.drop_unwritten_section(guest)
        used = set()
        for conf in (guest.config, guest.pending):
            for key, value in conf.items():
                if is_valid_drivename(key):
                    try:
                        used.add(parse_drive(key, value).get("file"))
                    except Exception:  # noqa: BLE001
                        pass
        for key in list(guest.config):
            if key.startswith("unused") and guest.config[key] in used:
                del guest.config[key]

    # -- applying pending changes -----------------------------------------------------------------

    def apply_pending(self, guest, errors, log):
        """``vmconfig_apply_pending`` (VM not running)."""
        for opt in sorted(guest.pending_delete):
            force = guest.pending_delete[opt]
            try:
                if opt.startswith("unused"):
                    raise HandlerError("internal error")
                if opt in guest.config and is_valid_drivename(opt):
                    self.delete_or_detach_drive(guest, opt, force, log)
            except HandlerError as exc:
                msg = "unable to apply pending change %s : %s" % (opt, exc.message)
                errors[opt] = msg
                log.append(msg.rstrip("\n"))
                continue
            guest.pending_delete.pop(opt, None)
            guest.config.pop(opt, None)
        cleanup_pending(guest)
        generate_cloudinit = False
        for opt in list(guest.pending):
            if opt in guest.config and is_valid_drivename(opt):
                self.register_unused_drive(guest, parse_drive(opt, guest.config[opt]), log)
            if is_valid_drivename(opt) and drive_is_cloudinit(parse_drive(opt, guest.pending[opt])):
                generate_cloudinit = True  # "$generate_cloudinit //= 1 if drive_is_cloudinit($drive)"
            guest.config[opt] = guest.pending.pop(opt)
        if generate_cloudinit:
            cloudinit.apply_config(guest)

    def hotplug_pending(self, guest, selection, errors, log):
        """``vmconfig_hotplug_pending`` (VM running)."""
        for opt in list(guest.pending):
            if _is_fast_plug(opt):
                new = guest.pending.pop(opt)
                cloudinit.record_changed(guest, opt, guest.config.get(opt), new)
                guest.config[opt] = new
        conf_hotplug = guest.config.get("hotplug", "1")
        features = parse_hotplug_features(conf_hotplug)
        ostype = guest.config.get("ostype", "")
        usb_ok = "usb" in features and (ostype == "l26" or re.match(r"^win(8|10|11)$", ostype or "") is not None)

        for opt in sorted(guest.pending_delete):
            if selection and opt not in selection:
                continue
            if self._plug_fault(opt, errors):
                continue
            force = guest.pending_delete[opt]
            skip = False
            if opt == "hotplug":
                skip = bool(re.search(r"(cpu|memory)", conf_hotplug))
            elif opt == "tablet":
                skip = "usb" not in features
            elif re.match(r"^usb\d+$", opt):
                skip = not usb_ok
            elif opt == "vcpus":
                skip = "cpu" not in features
            elif opt == "balloon":
                skip = guest.config.get("balloon") == "0"
            elif _is_fast_plug(opt) or opt in ("cpuunits", "cpulimit"):
                pass
            elif re.match(r"^net\d+$", opt):
                skip = "network" not in features
            elif is_valid_drivename(opt):
                skip = "disk" not in features or bool(re.match(r"^(efidisk|ide|sata|tpmstate)\d+$", opt))
                if not skip:
                    try:
                        self.delete_or_detach_drive(guest, opt, force, log)
                    except HandlerError as exc:
                        errors[opt] = "hotplug problem - " + exc.message
                        continue
            elif opt == "memory":
                skip = "memory" not in features
            else:
                skip = True
            if not skip:
                cloudinit.record_changed(guest, opt, guest.config.pop(opt, None), None)
                guest.pending_delete.pop(opt, None)

        cloudinit_opt = None
        for opt in list(guest.pending):
            if selection and opt not in selection:
                continue
            if self._plug_fault(opt, errors):
                continue
            value = guest.pending[opt]
            skip = False
            try:
                if opt == "hotplug":
                    skip = bool(re.search(r"memory|cpu", value) or re.search(r"memory|cpu", conf_hotplug))
                elif opt == "tablet":
                    skip = "usb" not in features
                elif re.match(r"^usb\d+$", opt):
                    skip = not usb_ok
                elif opt == "vcpus":
                    skip = "cpu" not in features
                elif opt == "balloon":
                    old_enabled = guest.config.get("balloon") is None or guest.config.get("balloon") != "0"
                    new_enabled = value != "0"
                    skip = old_enabled != new_enabled
                elif re.match(r"^net\d+$", opt):
                    skip = self._net_needs_hotplug(guest, opt, value) and "network" not in features
                elif is_valid_drivename(opt) and drive_is_cloudinit(parse_drive(opt, value)):
                    # "apply all the other changes first, then generate the cloudinit disk"
                    cloudinit_opt, skip = opt, True
                elif is_valid_drivename(opt):
                    skip = self._update_disk(guest, opt, value, "disk" in features, log)
                elif opt == "memory":
                    skip = "memory" not in features
                    if not skip and self.state.realism:
                        # QemuServer.pm vmconfig_hotplug_pending: $value = Memory::qemu_memory_hotplug(...)
                        value = hotplug_memory(guest.config, value)
                elif opt in ("cpuunits", "cpulimit"):
                    pass
                elif opt == "agent":
                    skip = self._agent_skip(guest, value)
                else:
                    skip = True
            except HandlerError as exc:
                errors[opt] = "hotplug problem - " + exc.message
                continue
            if not skip:
                cloudinit.record_changed(guest, opt, guest.config.get(opt), value)
                guest.config[opt] = value
                del guest.pending[opt]
        if cloudinit_opt is not None:
            self._hotplug_cloudinit_drive(guest, cloudinit_opt, "disk" in features, errors, log)
        # "if ($hotplug_features->{cloudinit} && PVE::QemuServer::Cloudinit::has_changes($conf))"
        if "cloudinit" in features and cloudinit.has_changes(guest):
            cloudinit.update_drive(guest)

    def _hotplug_cloudinit_drive(self, guest, opt, hotplug, errors, log):
        """vmconfig_hotplug_pending's ``$cloudinit_opt``: the drive is generated from the config with the new
        value (``apply_cloudinit_config`` on a shallow copy, which shares and so drops the special section),
        then ``vmconfig_update_disk`` plugs it like any drive (qemu-server QemuServer.pm)."""
        value = guest.pending[opt]
        cloudinit.apply_config(guest)
        try:
            skip = self._update_disk(guest, opt, value, hotplug, log)
        except HandlerError as exc:
            errors[opt] = "hotplug problem - " + exc.message
            return
        if not skip:
            guest.config[opt] = value
            del guest.pending[opt]

    def _plug_fault(self, opt, errors):
        """The ``hotplug`` fault: the device (un)plug of ``opt`` fails.  vmconfig_hotplug_pending's $add_error
        records it ("hotplug problem - <msg>") and goes on; what $update_vm_api wrote to [PENDING] before, and
        the volumes create_disks allocated, stay (qemu-server QemuServer.pm vmconfig_hotplug_pending)."""
        if _is_fast_plug(opt) or opt in ("cpuunits", "cpulimit"):
            return False
        message = self.state.faults.take_hotplug_fault(self.vmid, opt)
        if message is None:
            return False
        errors[opt] = "hotplug problem - %s\n" % message  # mon_cmd dies with "...\n", kept in $errors
        return True

    @staticmethod
    def _net_needs_hotplug(guest, opt, value):
        """``vmconfig_update_net``: does the change need a device unplug/plug?"""
        if opt not in guest.config:
            return True
        old = parse_net(opt, guest.config[opt], autogen=False)
        new = parse_net(opt, value, autogen=False)
        for key in ("model", "macaddr", "queues", "mtu"):
            if old.get(key) != new.get(key):
                return True
        return not (new.get("bridge") and old.get("bridge"))

    def _update_disk(self, guest, opt, value, hotplug, log):
        """``vmconfig_update_disk``: returns True when the change has to stay pending."""
        if opt in ("efidisk0", "tpmstate0"):
            return True
        drive = parse_drive(opt, value)
        if opt in guest.config:
            old = parse_drive(opt, guest.config[opt])
            if (drive.get("media") or "disk") != (old.get("media") or "disk"):
                raise HandlerError("unable to change media type")
            if not drive_is_cdrom(old):
                if drive.get("file") != old.get("file"):
                    if not hotplug:
                        return True
                    self.register_unused_drive(guest, old, log)
                    return False
                return any(drive.get(k) != old.get(k) for k in DISK_NOHOTPLUG_OPTS)
            return False
        return not hotplug or bool(re.match(r"^(ide|sata)\d+$", opt))

    @staticmethod
    def _agent_skip(guest, value):
        if not guest.config.get("agent"):
            return True
        fmt = schema.config_properties("qemu")["agent"]["format"]
        old = parse_property_string(fmt, guest.config["agent"])
        new = parse_property_string(fmt, value)
        keys = (set(old) | set(new)) - {"fstrim_cloned_disks"}
        return any(old.get(k) != new.get(k) for k in keys)


@route("POST", "/nodes/{node}/qemu/{vmid}/config")
def update_vm_async(ctx, params):
    return QemuUpdate(ctx, params, sync=False).start()


@route("PUT", "/nodes/{node}/qemu/{vmid}/config")
def update_vm(ctx, params):
    return QemuUpdate(ctx, params, sync=True).start()


@route("PUT", "/nodes/{node}/qemu/{vmid}/unlink")
def unlink(ctx, params):
    params = dict(params)
    params["delete"] = params.pop("idlist")
    return QemuUpdate(ctx, params, sync=True).start()


@route("PUT", "/nodes/{node}/qemu/{vmid}/resize")
def resize_vm(ctx, params):
    state = ctx.state
    node, vmid = params["node"], int(params["vmid"])
    digest, disk, sizestr = params.get("digest"), params["disk"], params["size"]
    if true(params.get("skiplock")) and ctx.user != "root@pam":
        raise ParamError({"skiplock": "Only root may use this option."})
    skiplock = true(params.get("skiplock"))

    def updatefn(task):
        guest = state.load_config(node, vmid, "qemu")
        if digest and digest != guest.digest:
            raise HandlerError("checksum mismatch (file change by other user?)")
        if not skiplock:
            check_lock(guest)
        if not guest.config.get(disk):
            raise HandlerError("disk '%s' does not exist" % disk)
        drive = parse_drive(disk, guest.config[disk])
        volid = drive.get("file")
        if not volid:
            raise HandlerError("disk '%s' has no associated volume" % disk)
        if drive_is_cdrom(drive):
            raise HandlerError("you can't resize a cdrom")
        vol = state.find_volume(node, volid)
        if vol is None:
            raise HandlerError("Could not determine current size of volume '%s'" % volid)
        size = vol.size
        m = re.match(r"^(\+)?(\d+(\.\d+)?)([KMGT])?$", sizestr)
        if not m:
            raise HandlerError("internal error")
        newsize = float(m.group(2)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[m.group(4) or ""]
        if m.group(1):
            newsize += size
        newsize = int(newsize)
        if newsize < size:
            raise HandlerError("shrinking disks is not supported")
        if newsize == size:
            return None
        st = state.storage(node, volid.split(":", 1)[0])
        lines = []
        if st is not None and st.type == "lvmthin":
            lv = "pve/" + vol.name
            lines = [
                "  Size of logical volume %s changed from %s to %s." % (lv, _lvm_size(size), _lvm_size(newsize)),
                "  Logical volume %s successfully resized." % lv,
            ]
        else:
            lines = ["Image resized."]
        state.resize_volume(node, volid, newsize, running_vm=guest.status == "running")
        drive["size"] = newsize
        guest.config[disk] = print_drive(disk, drive)
        return lines

    def timed_out(task):
        raise state.flock_timeout_error("qemu", vmid)

    # the worker's lock_config waits up to 10 s for a flock a slow update still holds
    wait = state.flock_wait(vmid)
    action = updatefn if wait <= state.FLOCK_TIMEOUT else timed_out
    wait = min(wait, state.FLOCK_TIMEOUT)
    task = state.new_task(node, "resize", vmid, ctx.user, action=action, vmids=(vmid,), duration=wait)
    return task.upid


def _lvm_size(size):
    return "%.2f GiB (%d extents)" % (size / 1024**3, size // (4 * 1024**2))


def size_text(size):
    return format_size(size)
