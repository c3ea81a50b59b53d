# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of guest_config: a whole guest config (VM or container) brought to what ``config`` and ``absent`` ask.

PRIVATE to the pve.config collection.

``plan(ctx)`` looks at the guest's current state and returns the next step as a ``Change`` for the shared
engine (``apply.Rounds``), which writes it with the digest of its own read and plans again. The steps come in
this order, each a round of its own: ``create`` (new volumes, one write) -> ``grow`` (one resize per volume)
-> ``set`` (every key whose value differs: config_values.wanted_text) -> ``delete`` (the ``absent`` keys still
there) -> ``purge`` (the volumes this run detached) -> ``reboot`` (``reboot: if_needed``, keys left pending on
a running guest) -> ``cloudinit`` (regenerate the drive of a running VM when Proxmox does not). In check mode
the first step carries the whole plan: its predicted config and diff cover every step, ``result["steps"]``
lists them and ``pending_predicted`` says what would wait for a reboot.

``if_digest`` binds a run to the config a plan was computed from: a different digest at the first read is
refused before any write. fleet_config runs the same plan per guest
(``apply.apply_change(api, guest, params, plan, check_mode)``), so both modules write the same requests.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string, volumes
from ansible_collections.pve.config.plugins.module_utils.change import Change
from ansible_collections.pve.config.plugins.module_utils.config_keys import check_keys, is_volume_key, key_format
from ansible_collections.pve.config.plugins.module_utils.config_values import SECRET_KEYS, masked, wanted_text
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import KIND_LABEL
from ansible_collections.pve.config.plugins.module_utils.memory_hotplug import hotplug_features
from ansible_collections.pve.config.plugins.module_utils.reboot import reboot_and_wait
from ansible_collections.pve.config.plugins.module_utils.reboot_prediction import guest_running, predict_pending
from ansible_collections.pve.config.plugins.module_utils.units import format_size, parse_size

OPTIONS = dict(
    type=dict(type="str", choices=["qemu", "lxc"]),
    config=dict(type="dict"),
    absent=dict(type="list", elements="str"),
    purge=dict(type="bool", default=False),
    update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
    if_digest=dict(type="str"),
    reboot=dict(type="str", default="never", choices=["never", "if_needed"]),
    reboot_timeout=dict(type="int", default=300),
)
# What fleet_config (or any caller of ``plan``) gets for an option it leaves out.
DEFAULTS = {name: spec.get("default") for name, spec in OPTIONS.items()}
# Result-key words of the steps, in the order a plan runs them.
CREATE, GROW, SET, DELETE, PURGE, CLOUDINIT, REBOOT = "create", "grow", "set", "delete", "purge", "cloudinit", "reboot"
CLOUDINIT_KEYS = "cloudinit_keys"  # memory: the cloud-init relevant keys this run wrote

# --- parameters ----------------------------------------------------------------------------------------------


def settings(params):
    """The params with the defaults of guest_config for options a caller left out (fleet_config)."""
    merged = dict(DEFAULTS)
    merged.update({key: value for key, value in params.items() if value is not None})
    merged["config"] = dict(merged.get("config") or {})
    merged["absent"] = list(merged.get("absent") or [])
    return merged


def check_params(params):
    """What can be checked before any request: ``absent`` entries are key names, and with ``type`` given every
    key and value (config_keys.check_keys; without ``type`` the plan checks them once the lookup tells the type)."""
    for key in params.get("absent") or []:
        if not isinstance(key, str) or not key.strip():
            raise InvalidRequest("absent must list config keys, got %r" % (key,))
    if params.get("type"):
        check_keys(params["type"], params.get("config") or {}, params.get("absent") or [])


def secrets(params):
    """The secret values inside ``config`` (masked by Ansible in everything the module returns)."""
    config = params.get("config") or {}
    return [str(config[key]) for key in SECRET_KEYS if config.get(key) is not None]


# --- the plan ------------------------------------------------------------------------------------------------


class Step(object):
    """One planned step: its ``action`` (result word), the ``keys`` it touches and its ``change``."""

    def __init__(self, action, keys, change):
        self.action = action
        self.keys = list(keys)
        self.change = change

    def record(self):
        return {"action": self.action, "keys": self.keys}


def plan(ctx):
    """The next step towards ``config``/``absent`` (the whole plan in check mode); see the module docstring."""
    params = settings(ctx.params)
    kind = ctx.guest.kind
    check_guest(ctx, params)
    check_keys(kind, params["config"], params["absent"])
    digest = ctx.memory.get("digest", ctx.state.digest)
    done = ctx.memory.get("steps", [])
    steps, pending = planned_steps(ctx, params)
    result = {"digest": digest, "steps": done, "rebooted": bool(ctx.memory.get(REBOOT))}
    if ctx.memory.get("destroyed"):
        result["destroyed_volumes"] = ctx.memory["destroyed"]
    if ctx.check_mode:
        result.update(pending_predicted=pending, reboot_required=bool(pending))
    if not steps:
        return Change(result=result)
    if ctx.check_mode:
        return whole_plan(ctx, steps, result)
    step = steps[0]
    change = step.change
    change.remember.update(digest=digest, steps=done + [step.record()])
    change.result = dict(result, **change.result)
    # the budget of the run (apply.MAX_STEPS): every step planned now, and room for the reboot and the cloud-init
    # regeneration, which are decided only after the writes
    change.writes = len(done) + len(steps) + 2
    return change


def check_guest(ctx, params):
    """``type`` must be the guest's; ``if_digest`` must be the digest of the first read (before any write)."""
    if params["type"] and params["type"] != ctx.guest.kind:
        raise InvalidRequest(
            "guest %d is a %s, not type %s" % (ctx.guest.vmid, KIND_LABEL[ctx.guest.kind], params["type"])
        )
    wanted = params["if_digest"]
    if wanted and "digest" not in ctx.memory and wanted != ctx.state.digest:
        raise InvalidRequest(
            "the config of %s changed since the plan was made: its digest is %s, if_digest asks for %s; "
            "plan again" % (ctx.guest.label, ctx.state.digest, wanted)
        )


def planned_steps(ctx, params):
    """Every step still needed, in order, computed from the current state, and the keys pending once they are
    written (in check mode predicted, else as read now)."""
    kind = ctx.guest.kind
    allocations = {
        key: wanted
        for key, wanted in params["config"].items()
        if is_volume_key(kind, key) and isinstance(wanted, dict) and ("storage" in wanted or "size" in wanted)
    }
    steps = []
    created = [key for key in allocations if key not in ctx.config]
    if created:
        steps.append(create_step(ctx, {key: allocations[key] for key in created}))
    for key in allocations:
        if key not in created:
            step = grow_step(ctx, key, allocations[key])
            if step:
                steps.append(step)
    options = {
        key: _without_allocation(value) if key in allocations else value for key, value in params["config"].items()
    }
    to_set = wanted_values(ctx, params, {key: value for key, value in options.items() if key not in created})
    if to_set:
        keys = list(to_set)
        remember = {
            CLOUDINIT_KEYS: sorted(set(ctx.memory.get(CLOUDINIT_KEYS, [])) | set(filter(cloudinit_relevant, keys)))
        }
        steps.append(Step(SET, keys, Change(set=to_set, remember=remember, summary="set " + ", ".join(keys))))
    to_delete = [key for key in params["absent"] if key in ctx.config]
    delete = delete_step(ctx, params, to_delete) if to_delete else None
    if delete:
        steps.append(delete)
    purge = purge_step(ctx, params, delete)
    if purge:
        steps.append(purge)
    pending = predicted_pending(ctx, steps) if ctx.check_mode else sorted(ctx.state.pending)
    reboot = reboot_step(ctx, params, steps, pending)
    if reboot:
        steps.append(reboot)
    cloudinit = None if reboot else cloudinit_step(ctx, to_set)
    if cloudinit:
        steps.append(cloudinit)
    return steps, pending


def _without_allocation(wanted):
    return {sub: value for sub, value in wanted.items() if sub not in ("storage", "size")}


def wanted_values(ctx, params, config):
    """``{key: text}`` of the ``config`` keys whose value differs from the pending-applied config."""
    to_set = {}
    for key, wanted in config.items():
        if ctx.guest.kind == "qemu" and same_cloudinit_drive(key, wanted, ctx.config.get(key)):
            continue
        text = wanted_text(ctx.guest.kind, key, wanted, ctx.config.get(key), params["update_password"])
        if text is not None:
            to_set[key] = text
    return to_set


# --- volumes -------------------------------------------------------------------------------------------------


def create_step(ctx, wanted):
    """One write that allocates every new volume (``STORAGE:GiB`` with whole-MiB rounding, volumes.py); each
    storage is checked first (one GET per storage)."""
    kind = ctx.guest.kind
    to_set, words, checked = {}, [], set()
    for key, values in wanted.items():
        if key in ctx.state.current:
            raise InvalidRequest(
                "%s of %s is being removed (pending until the guest reboots); create the new volume after the reboot"
                % (key, ctx.guest.label)
            )
        missing = [sub for sub in ("storage", "size") if values.get(sub) is None]
        if kind == "lxc" and key != "rootfs" and values.get("mp") is None:
            missing.append("mp (the path inside the container)")
        if missing:
            raise InvalidRequest(
                "%s is empty on %s: creating it needs %s" % (key, ctx.guest.label, " and ".join(missing))
            )
        size = parse_size(values["size"], what="%s size" % key)
        if values["storage"] not in checked:
            volumes.check_new_volume_storage(ctx.api, ctx.guest.node, kind, values["storage"])
            checked.add(values["storage"])
        options = {sub: value for sub, value in _without_allocation(values).items() if value is not None}
        to_set[key] = volumes.new_volume_text(kind, key, values["storage"], size, options)
        words.append("%s (%s on %s)" % (key, format_size(volumes.allocation_size(size)), values["storage"]))
    return Step(CREATE, list(to_set), Change(set=to_set, summary="create " + ", ".join(words)))


def grow_step(ctx, key, values):
    """A resize of one existing volume when ``size`` asks for more (None when it is large enough); a smaller
    ``size``, another ``storage`` or a CD-ROM drive is refused."""
    kind = ctx.guest.kind
    fmt = key_format(kind, key)
    parsed = property_string.parse(ctx.config[key], fmt)
    volid = parsed.get(volumes.VOLUME_KEY[kind])
    where = "%s (%s) of %s" % (key, volid, ctx.guest.label)
    if parsed.get("media") == "cdrom":
        raise InvalidRequest("%s holds a CD-ROM drive, not a disk: it has no storage or size" % where)
    if not volid or ":" not in volid:  # a passed-through device or a bind mount: a host path
        raise InvalidRequest("%s is a host device or path, not a storage volume: it has no storage or size" % where)
    storage = values.get("storage")
    if storage is not None and storage != volumes.volume_storage(volid or ""):
        raise InvalidRequest(
            "%s is on storage %s, not %s; moving volumes is not done by guest_config"
            % (where, volumes.volume_storage(volid or ""), storage)
        )
    if values.get("size") is None:
        return None
    requested = parse_size(values["size"], what="%s size" % key)
    current = ctx.state.current.get(key)
    in_effect = current is not None and property_string.parse(current, fmt).get(volumes.VOLUME_KEY[kind]) == volid
    recorded = volumes.recorded_size(property_string.parse(current, fmt) if in_effect else parsed)
    grow = volumes.grow_size(ctx.api, ctx.guest, where, volid, requested, recorded, in_effect, {})
    if grow is None:
        return None
    summary = "grow %s from %s to %s" % (key, volumes.size_text(recorded), format_size(grow))
    # the predicted config shows the new size= only where resize_vm writes it: a pending value keeps its own
    formats = {} if key in ctx.state.pending else {key: fmt}
    return Step(GROW, [key], Change(resize={key: format_size(grow)}, disk_formats=formats, summary=summary))


def delete_step(ctx, params, keys):
    """``delete=`` of the ``absent`` keys; a volume becomes ``unusedN`` (remembered for the purge)."""
    kind = ctx.guest.kind
    unused = [key for key in keys if volumes.UNUSED.match(key)]
    if unused and not params["purge"]:
        raise InvalidRequest(
            "removing %s destroys its volume (Proxmox frees the volume of a deleted unusedN entry): "
            "set purge=true to destroy it" % ", ".join(unused)
        )
    detached = dict(ctx.memory.get("detached", {}))
    for key in keys:
        if is_volume_key(kind, key):
            volid = property_string.parse(ctx.config[key], key_format(kind, key)).get(volumes.VOLUME_KEY[kind])
            if volid and volid != "none" and ":" in volid:
                detached[key] = volid
    return Step(
        DELETE,
        keys,
        Change(delete=keys, remember={"detached": detached}, summary="delete " + ", ".join(keys)),
    )


def purge_step(ctx, params, delete):
    """With ``purge``: destroy the volumes this run detached (their ``unusedN``), in one write. Before the
    detach (check mode) the step is predicted from the volumes the ``delete`` step will detach."""
    if not params["purge"]:
        return None
    kind = ctx.guest.kind
    found = {}
    for key, volid in ctx.memory.get("detached", {}).items():
        unused = volumes.find_unused(ctx.config, volid, kind)
        if unused and key not in ctx.config:
            found[unused] = volid
    if found:
        change = Change(
            delete=list(found),
            summary="destroy volume " + ", ".join("%s (%s)" % (volid, unused) for unused, volid in found.items()),
            on_failure=lambda exc: left_behind(found),
        )
        return Step(PURGE, list(found), destroying(ctx, change, found.values()))
    detaching = (
        {key: volid for key, volid in delete.change.remember["detached"].items() if key in delete.keys}
        if delete
        else {}
    )
    if detaching:
        change = Change(summary="destroy the volumes of " + ", ".join(detaching))
        return Step(PURGE, list(detaching), destroying(ctx, change, detaching.values()))
    return None


def destroying(ctx, change, volids):
    """``change`` remembering (and in check mode telling) the volumes it destroys: Proxmox frees only the ones
    the guest owns (volumes.destroy), the others are only removed from the config."""
    owned = sorted(volid for volid in volids if volumes.volume_owner(volid) == ctx.guest.vmid)
    destroyed = ctx.memory.get("destroyed", []) + owned
    change.remember["destroyed"] = destroyed
    change.result["destroyed_volumes"] = destroyed
    return change


# --- cloud-init ----------------------------------------------------------------------------------------------

# qemu-server src/PVE/QemuServer.pm $confdesc_cloudinit (ipconfigN added in its net loop); cloudinit_pending_properties
# adds name and netN: a change of any of them that the running VM applies is recorded in [special:cloudinit] by
# vmconfig_hotplug_pending ($cloudinit_record_changed), i.e. the cloud-init drive no longer matches the config.
CLOUDINIT_OPTIONS = ("citype", "ciuser", "cipassword", "ciupgrade", "cicustom", "searchdomain", "nameserver", "sshkeys")
_CLOUDINIT_NUMBERED = re.compile(r"^(?:ipconfig|net)\d+$")
# QemuServer/Drive.pm drive_is_cloudinit: a vm-<vmid>-cloudinit volume (any format)
_CLOUDINIT_VOLUME = re.compile(r"[:/](?:vm-\d+-)?cloudinit(?:\.[a-z0-9]+)?$")
_DRIVE = re.compile(r"^(?:ide|sata|scsi|virtio)\d+$")


def cloudinit_relevant(key):
    return key in CLOUDINIT_OPTIONS or key == "name" or bool(_CLOUDINIT_NUMBERED.match(key))


def has_cloudinit_drive(config):
    """Whether a drive of ``config`` is the cloud-init drive (``PVE::QemuConfig->has_cloudinit``)."""
    return any(is_cloudinit_drive(key, value) for key, value in config.items())


def is_cloudinit_drive(key, value):
    """A drive whose volume is a cloud-init one: ``vm-100-cloudinit`` or, as asked, ``STORAGE:cloudinit``."""
    if not _DRIVE.match(key) or isinstance(value, dict) and "file" not in value:
        return False
    text = value if isinstance(value, str) else property_string.format(value, key_format("qemu", key))
    return bool(_CLOUDINIT_VOLUME.search(str(property_string.parse(text, key_format("qemu", key)).get("file") or "")))


def same_cloudinit_drive(key, wanted, current):
    """``STORAGE:cloudinit`` asks for a cloud-init drive (API2/Qemu.pm create_disks allocates
    ``vm-<vmid>-cloudinit`` there): a cloud-init drive already on that storage is the same one."""
    if current is None or not (is_cloudinit_drive(key, wanted) and is_cloudinit_drive(key, current)):
        return False
    fmt = key_format("qemu", key)
    text = wanted if isinstance(wanted, str) else property_string.format(wanted, fmt)
    asked = str(property_string.parse(text, fmt).get("file"))
    return asked.endswith(":cloudinit") and volumes.volume_storage(asked) == volumes.volume_storage(
        str(property_string.parse(current, fmt).get("file"))
    )


def cloudinit_step(ctx, to_set):
    """``PUT .../cloudinit`` once this run changed cloud-init keys that a running VM applied, when Proxmox does
    not regenerate the drive itself.

    qemu-server: a running VM applies cloud-init options at once (they are ``$fast_plug_option``s) and records
    them in ``[special:cloudinit]``; ``vmconfig_hotplug_pending`` regenerates the drive only when ``hotplug``
    has ``cloudinit`` (``vmconfig_update_cloudinit_drive``). Otherwise the drive keeps the old values until
    ``PUT .../cloudinit`` (API2/Qemu.pm cloudinit_update -> vmconfig_update_cloudinit_drive, which also swaps the
    medium of the running VM) or the next start (vm_start_nolock: apply_cloudinit_config). A stopped VM applies
    its changes with ``vmconfig_apply_pending``, which records nothing: its drive is generated at the next start,
    so nothing is needed. A run decides after its set step (no request before it); check mode predicts it from
    the keys the set step would write.
    """
    if ctx.guest.kind != "qemu" or ctx.memory.get(CLOUDINIT) or ctx.memory.get(REBOOT):
        return None  # done, or the reboot's start regenerated it
    written = ctx.memory.get(CLOUDINIT_KEYS, [])
    if ctx.check_mode:
        written = [key for key in to_set if cloudinit_relevant(key)]
    applied = [key for key in written if key not in ctx.state.pending]
    if not applied or "cloudinit" in hotplug_features(ctx.config.get("hotplug")):
        return None
    # vmconfig_update_cloudinit_drive looks for the drive in the config in effect (foreach_volume($conf))
    if not has_cloudinit_drive(ctx.state.current) or not guest_running(ctx.api, ctx.guest):
        return None
    # API2/Qemu.pm cloudinit_update: PUT, no parameters but node and vmid (no digest), returns null - the drive is
    # regenerated inside the request, under the config lock (check_lock refuses a locked VM)
    path = ctx.guest.path + "/cloudinit"
    return Step(
        CLOUDINIT,
        applied,
        Change(
            perform=lambda api, clock: api.put(path),
            action=CLOUDINIT,
            remember={CLOUDINIT: True},
            summary="regenerate the cloud-init drive",
        ),
    )


# --- pending keys and the managed reboot ---------------------------------------------------------------------


def predicted_pending(ctx, steps):
    """Check mode: the keys that would be left pending once every step is written (reboot_prediction.py, from the
    state read now; a stopped guest leaves nothing pending)."""
    set_values, delete_keys = {}, []
    for step in steps:
        set_values.update(step.change.set)
        delete_keys.extend(key for key in step.change.delete if key not in delete_keys)
    if not set_values and not delete_keys:
        return sorted(ctx.state.pending)
    running = guest_running(ctx.api, ctx.guest)
    return predict_pending(ctx.guest.kind, ctx.state, running, set_values, delete_keys)


def reboot_step(ctx, params, steps, pending):
    """``reboot: if_needed``: once nothing but the reboot is left and keys are ``pending`` on a running guest,
    reboot it through the API and wait until it runs with them applied (reboot.reboot_and_wait); once per run.
    In check mode ``pending`` is the prediction for after the other steps."""
    if params["reboot"] != "if_needed" or ctx.memory.get(REBOOT) or (steps and not ctx.check_mode):
        return None
    if not pending or not guest_running(ctx.api, ctx.guest):
        return None
    guest, timeout = ctx.guest, params["reboot_timeout"]
    return Step(
        REBOOT,
        pending,
        Change(
            perform=lambda api, clock: reboot_and_wait(api, guest, timeout, clock)["task"],
            action=REBOOT,
            remember={REBOOT: True},
            summary="reboot to apply %s" % ", ".join(pending),
        ),
    )


def left_behind(found):
    """What a failed purge leaves: the volumes stay as ``unusedN`` and how to destroy them later."""
    keys = ", ".join(found)
    note = "volume %s may still be there as %s: to destroy it, run again with absent: [%s] and purge: true" % (
        ", ".join(found.values()),
        keys,
        keys,
    )
    return note, {"unused": dict(found)}


def whole_plan(ctx, steps, result):
    """The first step's change carrying the whole plan: its config, diff, words and result cover every step."""
    first = steps[0].change
    for step in steps:
        result.update(step.change.result)
    return WholePlan(
        steps,
        set=first.set,
        delete=first.delete,
        resize=first.resize,
        result=dict(result, steps=result["steps"] + [step.record() for step in steps]),
        summary=first.summary,
        preview="; then ".join(step.change.preview for step in steps),
    )


class WholePlan(Change):
    """Check mode: ``predict`` and ``diff`` apply every step, secrets masked."""

    def __init__(self, steps, **kwargs):
        super().__init__(**kwargs)
        self.steps = steps

    def keys(self):
        keys = []
        for step in self.steps:
            keys.extend(key for key in step.change.keys() if key not in keys)
        return keys

    def predict(self, config):
        for step in self.steps:
            config = step.change.predict(config)
        return masked(config)

    def diff(self, config):
        after_config = self.predict(config)
        before = {key: config[key] for key in self.keys() if key in config}
        after = {key: after_config[key] for key in self.keys() if key in after_config}
        return {"before": masked(before), "after": after}
