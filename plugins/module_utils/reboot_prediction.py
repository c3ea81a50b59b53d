# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which keys a config write leaves pending until a reboot (check mode's ``reboot_required``).

PRIVATE to the pve.config collection.

A config update writes every change to ``[PENDING]`` first. A stopped guest then applies all of them
(qemu-server ``src/PVE/QemuServer.pm`` vmconfig_apply_pending, pve-container ``src/PVE/LXC/Config.pm``
vmconfig_apply_pending). A running guest applies only what it can change live, and only for the keys this
update touched (the ``$modified`` selection): qemu-server ``vmconfig_hotplug_pending`` and pve-container
``LXC/Config.pm`` ``vmconfig_hotplug_pending``; the rest stays pending until the guest is restarted. This module
replays the update on the state read before it (``guest.GuestState``) with those rules, without a request.

What it cannot know: a hot-plug that QEMU or LXC refuses at run time (the option is then left pending with a
``hotplug problem`` error), and the QEMU version (USB hot-plug needs QEMU 7.1: assumed).
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.memory_hotplug import (
    dimm_boundaries,
    hotplug_features,
    memory_mib,
    plugs_memory,
)

# qemu-server src/PVE/QemuServer.pm $fast_plug_option: committed at once, whatever the selection
QEMU_FAST_PLUG = frozenset(
    (
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
    )
)
# ... plus every key of $confdesc_cloudinit (QemuServer.pm: "for my $opt (keys %$confdesc_cloudinit)")
QEMU_CLOUDINIT = frozenset(
    ("citype", "ciuser", "cipassword", "ciupgrade", "cicustom", "searchdomain", "nameserver", "sshkeys")
)
# QemuServer.pm vmconfig_update_disk: changes of these need the drive re-plugged ("skip non hotpluggable value")
DISK_COLD_OPTIONS = ("aio", "discard", "iothread", "queues", "product", "cache", "ssd", "vendor", "ro")
# QemuServer.pm vmconfig_update_net: changes that need the NIC unplugged and plugged again
NET_REPLUG_OPTIONS = ("model", "macaddr", "queues", "mtu")
DRIVE = re.compile(r"^(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0|tpmstate0)$")
DRIVE_FORMAT = {"ide": "qemu_ide", "sat": "qemu_sata", "scs": "qemu_scsi", "vir": "qemu_virtio"}
# pve-container src/PVE/LXC/Config.pm $LXC_FASTPLUG_OPTIONS
LXC_FAST_PLUG = frozenset(
    ("description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "lock")
)


def predict_pending(kind, state, running, set_values, delete_keys):
    """The keys (sorted) pending after writing ``set_values`` (key -> text as sent) and deleting ``delete_keys``
    on a guest in ``state``, running or not. Keys pending before and not touched stay pending (except QEMU fast-plug
    options, which every update commits)."""
    update = _QemuUpdate(state) if kind == "qemu" else _LxcUpdate(state)
    update.write(set_values, delete_keys)
    update.cleanup_pending()
    if running and (update.pending or update.deletes):
        update.hotplug()
    elif not running:
        update.pending, update.deletes = {}, set()
    return sorted(set(update.pending) | update.deletes)


def guest_running(api, guest):
    """Whether the guest runs: the ``status`` its ``/cluster/resources`` row had when ``guest.locate`` read one,
    else one ``GET .../status/current`` (``unknown`` before pvestatd saw the guest also asks the guest)."""
    if guest.status in ("running", "stopped"):
        return guest.status == "running"
    return (api.get(guest.path + "/status/current") or {}).get("status") == "running"


class _Update(object):
    """The ``[PENDING]`` section during one update: values and deletions, and the ``$modified`` selection."""

    def __init__(self, state):
        self.current = dict(state.current)
        self.pending = {key: value for key, value in state.pending.items() if value is not None}
        self.deletes = {key for key, value in state.pending.items() if value is None}
        self.modified = set()

    def cleanup_pending(self):
        """pve-guest-common AbstractConfig.pm cleanup_pending: pending values equal to the current ones, and
        deletions of keys that are not set, are dropped."""
        for key in list(self.pending):
            if key in self.current and str(self.pending[key]) == str(self.current[key]):
                del self.pending[key]
        self.deletes &= set(self.current)

    def settle(self, key, stays):
        """The outcome of one hot-plug: applied (``stays`` false) or left pending."""
        if stays:
            return
        if key in self.deletes:
            self.deletes.discard(key)
            self.current.pop(key, None)
        else:
            self.current[key] = self.pending.pop(key)


class _QemuUpdate(_Update):
    def write(self, set_values, delete_keys):
        """qemu-server src/PVE/API2/Qemu.pm ``$update_vm_api``: what goes to ``[PENDING]``."""
        order = _boot_order(self.current.get("boot"))
        order_deleted = "bootorder" in delete_keys
        for key in delete_keys:
            if key not in self.current and key not in self.pending:
                continue  # "cannot delete '$opt' - not set in current configuration!": not in $modified
            self.modified.add(key)
            self.pending.pop(key, None)
            if not order_deleted and key in order:  # "remove from bootorder if necessary"
                order = [dev for dev in order if dev != key]
                self._pending_boot(order)
            if key == "tags" or key == "vmstate" or key.startswith("unused"):
                self.current.pop(key, None)  # deleted at once, never pending
            else:
                self.deletes.add(key)
        for key, value in set_values.items():
            self.modified.add(key)
            if self.pending.get(key) == value:
                continue  # "skip if nothing changed" (still in $modified)
            if key == "cipassword":
                self.current[key] = value  # "$conf->{cipassword} = $param->{cipassword}": not pending
                continue
            self.pending[key] = value
            if DRIVE.match(key) and order and _is_cdrom(key, value) and key not in order:
                order.append(key)  # "append new CD drives to bootorder to mark them bootable"
                self._pending_boot(order)
            self.deletes.discard(key)

    def _pending_boot(self, order):
        # print_bootorder of no device is "", a line parse_vm_config cannot read back: no pending boot
        if order:
            self.pending["boot"] = "order=" + ";".join(order)
        else:
            self.pending.pop("boot", None)
        self.modified.add("boot")

    def hotplug(self):
        """qemu-server src/PVE/QemuServer.pm ``vmconfig_hotplug_pending``."""
        for key in list(self.pending):
            if key in QEMU_FAST_PLUG or _is_cloudinit_key(key):
                self.current[key] = self.pending.pop(key)
        conf_hotplug = self.current.get("hotplug")
        features = hotplug_features(conf_hotplug)
        for key in sorted(self.deletes & self.modified):
            self.settle(key, self._delete_stays(key, features, conf_hotplug))
        cloudinit_drive = None
        for key in sorted(set(self.pending) & self.modified):
            if DRIVE.match(key) and _is_cloudinit_drive(key, self.pending[key]):
                cloudinit_drive = key  # "apply all the other changes first, then generate the cloudinit disk"
                continue
            self.settle(key, self._change_stays(key, self.pending[key], features, conf_hotplug))
        if cloudinit_drive:
            self.settle(cloudinit_drive, self._drive_stays(cloudinit_drive, self.pending[cloudinit_drive], features))

    def _delete_stays(self, key, features, conf_hotplug):
        """The pending-delete branch of vmconfig_hotplug_pending (``die "skip\\n"`` = stays)."""
        if key == "hotplug":
            return bool(re.search(r"cpu|memory", str(conf_hotplug or "")))
        if key in ("tablet", "vcpus") or re.match(r"^usb\d+$", key):
            return self._device_stays(key, features)
        if key == "balloon":  # "enable balloon device is not hotpluggable"
            return self.current.get("balloon") is not None and _number(self.current["balloon"]) == 0
        if key in QEMU_FAST_PLUG or _is_cloudinit_key(key) or key in ("cpuunits", "cpulimit"):
            return False
        if re.match(r"^net\d+$", key):
            return "network" not in features
        if DRIVE.match(key):
            return "disk" not in features or bool(re.match(r"^(efidisk|ide|sata|tpmstate)\d+$", key))
        if key == "memory":
            return "memory" not in features
        return True

    def _change_stays(self, key, value, features, conf_hotplug):
        """The add/change branch of vmconfig_hotplug_pending."""
        if key == "hotplug":
            return bool(re.search(r"memory|cpu", str(value)) or re.search(r"memory|cpu", str(conf_hotplug or "")))
        if key in ("tablet", "vcpus") or re.match(r"^usb\d+$", key):
            return self._device_stays(key, features)
        if key == "balloon":  # "enable/disable ballooning device is not hotpluggable"
            old = self.current.get("balloon")
            return (old is None or _number(old) != 0) != (_number(value) != 0)
        if re.match(r"^net\d+$", key):
            return self._net_replug(key, value) and "network" not in features
        if DRIVE.match(key):
            return self._drive_stays(key, value, features)
        if key == "memory":
            return self._memory_stays(value, features)
        if key in ("cpuunits", "cpulimit"):
            return False
        if key == "agent":
            return self._agent_stays(value)
        return True

    def _device_stays(self, key, features):
        """``tablet`` needs the ``usb`` feature, ``vcpus`` the ``cpu`` one, ``usbN`` ``$is_usb_hotplug_supported``:
        the ``usb`` feature and a Linux or Windows > 7 guest (and QEMU >= 7.1), for changes and deletes alike."""
        if key == "tablet":
            return "usb" not in features
        if key == "vcpus":
            return "cpu" not in features
        ostype = str(self.current.get("ostype") or "")
        return not ("usb" in features and (ostype == "l26" or bool(re.match(r"^win(8|10|11)$", ostype))))

    def _net_replug(self, key, value):
        """QemuServer.pm vmconfig_update_net: a new NIC, or a change of model, MAC, queues, MTU or between bridge
        and NAT mode, needs the device plugged (``die "skip\\n" if !$hotplug``); bridge, VLAN, firewall, rate and
        link changes are applied to the tap device."""
        if not self.current.get(key):
            return True
        old = property_string.parse(self.current[key], "qemu_net")
        new = property_string.parse(value, "qemu_net")
        if any(old.get(opt) != new.get(opt) for opt in NET_REPLUG_OPTIONS):
            return True
        return not (old.get("bridge") and new.get("bridge"))

    def _drive_stays(self, key, value, features):
        """The drive branch of vmconfig_hotplug_pending and QemuServer.pm vmconfig_update_disk."""
        if key in ("efidisk0", "tpmstate0"):
            return True
        fmt = DRIVE_FORMAT[key[:3]]
        new = property_string.parse(value, fmt)
        hotplug = "disk" in features
        if self.current.get(key):
            old = property_string.parse(self.current[key], fmt)
            if (new.get("media") or "disk") != (old.get("media") or "disk"):
                return True  # "unable to change media type": an error, the change stays pending
            if old.get("media") == "cdrom":
                return False  # change_medium
            if new.get("file") != old.get("file"):
                return not hotplug
            return any(new.get(opt) != old.get(opt) for opt in DISK_COLD_OPTIONS)
        return not hotplug or bool(re.match(r"^(ide|sata)\d+$", key))

    def _memory_stays(self, value, features):
        """Memory is hot-plugged with the ``memory`` feature (Memory.pm qemu_memory_hotplug); below the static
        memory it dies ("memory can't be lower than ..."), and such a VM needs ``numa: 1`` (Memory.pm config)."""
        if "memory" not in features:
            return True
        if not plugs_memory(self.current):
            return True
        wanted = memory_mib(value)
        return wanted != memory_mib(self.current.get("memory")) and wanted < dimm_boundaries(self.current)[0]

    def _agent_stays(self, value):
        """QemuServer.pm vmconfig_update_agent: only ``fstrim_cloned_disks`` changes live, on a set ``agent``."""
        if not self.current.get("agent"):
            return True
        old, new = _agent_options(self.current["agent"]), _agent_options(value)
        return any(old.get(opt) != new.get(opt) for opt in (set(old) | set(new)) - {"fstrim_cloned_disks"})


class _LxcUpdate(_Update):
    def write(self, set_values, delete_keys):
        """pve-container src/PVE/LXC/Config.pm ``update_pct_config``: deletions and values go to ``[PENDING]``."""
        for key in delete_keys:
            if key not in self.current and key not in self.pending:
                continue  # "cannot delete '$opt' - not set in current configuration!"
            self.modified.add(key)
            self.deletes.add(key)
        for key, value in set_values.items():
            self.modified.add(key)
            self.pending[key] = value
            self.deletes.discard(key)

    def hotplug(self):
        """pve-container src/PVE/LXC/Config.pm ``vmconfig_hotplug_pending`` (only the keys of this update)."""
        for key in sorted(set(self.pending) & self.modified):
            if key in LXC_FAST_PLUG:
                self.current[key] = self.pending.pop(key)
        for key in sorted(self.deletes & self.modified):
            # deletes of net0..net9 only: the source matches m/^net(\d)$/
            live = (
                key in LXC_FAST_PLUG or key in ("swap", "cpulimit", "cpuunits") or re.match(r"^(unused\d+|net\d)$", key)
            )
            self.settle(key, not live)
        for key in sorted(set(self.pending) & self.modified):
            if key in ("cpulimit", "cpuunits", "memory", "swap") or re.match(r"^net\d+$", key):
                stays = False
            elif re.match(r"^(mp|dev)\d+$", key):
                stays = key in self.current  # "don't try to hotplug over existing mp/dev"
            else:
                stays = True
            self.settle(key, stays)


def _is_cloudinit_key(key):
    return key in QEMU_CLOUDINIT or bool(re.match(r"^ipconfig\d+$", key))


def _boot_order(boot):
    """The devices of ``boot: order=a;b`` (pve-qm-boot); none for a legacy ``boot: cdn`` or no boot."""
    for part in str(boot or "").split(","):
        if part.startswith("order="):
            return [dev for dev in re.split(r"[;,\s]+", part[len("order=") :]) if dev]
    return []


def _drive(key, value):
    return property_string.parse(value, DRIVE_FORMAT[key[:3]]) if key[:3] in DRIVE_FORMAT else {}


def _is_cdrom(key, value):
    """QemuServer/Drive.pm drive_is_cdrom (with ``exclude_cloudinit``): ``media=cdrom`` but not cloud-init."""
    drive = _drive(key, value)
    return drive.get("media") == "cdrom" and not _is_cloudinit_drive(key, value)


def _is_cloudinit_drive(key, value):
    """QemuServer/Drive.pm drive_is_cloudinit: a ``vm-<vmid>-cloudinit`` volume, or a new ``STORAGE:cloudinit``."""
    file = str(_drive(key, value).get("file") or "")
    return bool(re.search(r"[:/]vm-\d+-cloudinit", file)) or file.endswith(":cloudinit")


def _agent_options(text):
    """``parse_guest_agent``: the ``agent`` property string (default key ``enabled``) as a dict of texts."""
    options = {}
    for part in str(text).split(","):
        if part:
            key, _sep, value = part.partition("=") if "=" in part else ("enabled", "", part)
            options[key] = value
    return options


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
