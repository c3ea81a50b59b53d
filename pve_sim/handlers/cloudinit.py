# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""QEMU cloud-init: the ``[special:cloudinit]`` section and the ``{vmid}/cloudinit`` endpoints.

qemu-server records, for a running VM, which cloud-init relevant options changed since the cloud-init
drive was last generated: ``vmconfig_hotplug_pending``'s ``$cloudinit_record_changed`` keeps the old
value of a changed option (``ciuser: olduser``) and the names of added ones (``added: a,b``) in the
``[special:cloudinit]`` section (QemuServer.pm).  Generating the drive (``apply_cloudinit_config`` in
QemuServer/Cloudinit.pm: at VM start, by ``PUT .../cloudinit``, by the ``cloudinit`` hotplug feature, when
a cloud-init drive is added to a stopped VM) drops the section.  A stopped VM applies its changes with
``vmconfig_apply_pending``, which records nothing: its drive is generated at the next start anyway.
The section is written only while the config has a cloud-init drive (QemuServer.pm write_vm_config:
``next if $special eq 'cloudinit' && !PVE::QemuConfig->has_cloudinit($conf)``).
"""

import re

from . import route
from .common import check_lock, drive_is_cloudinit, is_valid_drivename, parse_drive

# qemu-server src/PVE/QemuServer/Cloudinit.pm: "Initial disk created with 4 MB"
CLOUDINIT_DISK_SIZE = 4 * 1024 * 1024
# qemu-server src/PVE/QemuServer.pm $confdesc_cloudinit (plus ipconfig0..31, added in the net loop)
CONFDESC_CLOUDINIT = (
    "citype",
    "ciuser",
    "cipassword",
    "ciupgrade",
    "cicustom",
    "searchdomain",
    "nameserver",
    "sshkeys",
)
# qemu-server src/PVE/API2/Qemu.pm $cloudinitoptions: what GET .../cloudinit walks (no ipconfigN)
CLOUDINIT_OPTIONS = (
    "cicustom",
    "cipassword",
    "citype",
    "ciuser",
    "ciupgrade",
    "nameserver",
    "searchdomain",
    "sshkeys",
)
_IPCONFIG = re.compile(r"^ipconfig\d+$")
_NET = re.compile(r"^net\d+$")


def is_cloudinit_option(opt):
    """A key of ``$confdesc_cloudinit`` (these are fast-plug options: QemuServer.pm ``$fast_plug_option``)."""
    return opt in CONFDESC_CLOUDINIT or bool(_IPCONFIG.match(opt))


def is_pending_property(opt):
    """qemu-server QemuServer.pm ``cloudinit_pending_properties``: $confdesc_cloudinit, ``name`` and netN."""
    return is_cloudinit_option(opt) or opt == "name" or bool(_NET.match(opt))


def has_cloudinit(conf, skip=None):
    """``PVE::QemuConfig->has_cloudinit``: the key of the first cloud-init drive in ``conf``, or None."""
    for key in sorted(conf):
        if key == skip or not is_valid_drivename(key):
            continue
        try:
            drive = parse_drive(key, conf[key])
        except Exception:  # noqa: BLE001 - an unparsable drive is no cloud-init drive
            continue
        if drive_is_cloudinit(drive):
            return key
    return None


def record_changed(guest, opt, old, new):
    """``$cloudinit_record_changed`` of qemu-server QemuServer.pm vmconfig_hotplug_pending, step by step."""
    if not is_pending_property(opt):
        return
    if guest.cloudinit is None:
        guest.cloudinit = {}
    ci = guest.cloudinit
    recorded = ci.get(opt)
    added = set(filter(None, ci.pop("added", "").split(",")))
    if new is not None:
        if recorded is not None:
            if new == recorded:  # a value is being reverted to the cloud-init state
                ci.pop(opt, None)
                added.discard(opt)
        elif opt in added:
            pass  # marked as added already (or added and changed again)
        elif old is not None:
            ci[opt] = old  # an existing value changes: record the old one
        else:
            added.add(opt)  # a new value
    elif old is not None:
        if recorded is not None:
            pass  # already recorded, keep it
        elif opt in added:
            added.discard(opt)  # added and removed again
        else:
            ci[opt] = old  # a previously unrecorded value is removed
    if added:
        ci["added"] = ",".join(sorted(added))


def has_changes(guest):
    """QemuServer/Cloudinit.pm ``has_changes``: the section exists and is not empty."""
    return bool(guest.cloudinit)


def apply_config(guest):
    """QemuServer/Cloudinit.pm ``apply_cloudinit_config``: generate the drive; drop the section when it
    recorded changes.  Returns whether there were any."""
    changed = has_changes(guest)
    if changed:
        guest.cloudinit = None
    return changed


def update_drive(guest):
    """QemuServer.pm ``vmconfig_update_cloudinit_drive``: nothing without a cloud-init drive; else generate
    it (a running VM gets the new medium through ``change_medium``)."""
    if has_cloudinit(guest.config) is None:
        return False
    return apply_config(guest)


def drop_unwritten_section(guest):
    """What ``write_vm_config`` leaves of the section: nothing without a cloud-init drive in the config."""
    if guest.cloudinit is not None and has_cloudinit(guest.config) is None:
        guest.cloudinit = None


@route("GET", "/nodes/{node}/qemu/{vmid}/cloudinit")
def cloudinit_pending(ctx, params):
    """qemu-server src/PVE/API2/Qemu.pm ``cloudinit_pending``, including its quirks: only the keys of
    ``$cloudinitoptions`` are listed with their values (a changed ``ipconfigN``, ``name`` or ``netN`` shows
    only when it was added or deleted), ``next if !$conf->{$opt}`` skips empty and ``0`` values, and an added
    key is recognised with a regex match on the ``added`` list."""
    guest = ctx.state.load_config(params["node"], params["vmid"], "qemu")
    conf = dict(guest.config)
    ci = dict(guest.cloudinit or {})
    if "cipassword" in conf:
        conf["cipassword"] = "**********"
    if "cipassword" in ci:
        ci["cipassword"] = "**********"
    res = []
    added = ci.pop("added", "")
    for key in filter(None, added.split(",")):
        item = {"key": key}
        if conf.get(key) is not None:
            item["pending"] = conf[key]
        res.append(item)
    for opt in CLOUDINIT_OPTIONS:
        if not _perl_true(conf.get(opt)) or re.search(opt, added):
            continue
        item = {"key": opt}
        if _perl_true(ci.get(opt)):
            item["value"] = ci[opt]
            item["pending"] = conf[opt]
        else:
            item["value"] = conf[opt]
        res.append(item)
    for opt in sorted(ci):
        if _perl_true(conf.get(opt)):
            continue
        res.append({"key": opt, "delete": 1})
    ctx.after_config_read(guest)
    return res


@route("PUT", "/nodes/{node}/qemu/{vmid}/cloudinit")
def cloudinit_update(ctx, params):
    """qemu-server src/PVE/API2/Qemu.pm ``cloudinit_update``: synchronous (returns null), under the config
    lock, refused while the config has a ``lock``; regenerates the drive (``vmconfig_update_cloudinit_drive``:
    silently nothing when the VM has no cloud-init drive)."""
    state = ctx.state
    with state.transaction(vmids=(int(params["vmid"]),)):
        guest = state.load_config(params["node"], params["vmid"], "qemu")
        check_lock(guest)
        update_drive(guest)
    return None


def _perl_true(value):
    return value not in (None, "", "0")
