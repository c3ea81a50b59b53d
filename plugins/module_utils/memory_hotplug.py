# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU ``memory`` as Proxmox stores it when it hot-plugs memory: whole DIMMs.

PRIVATE to the pve.config collection.

On a running VM whose ``hotplug`` includes ``memory`` (which needs ``numa: 1`` to start at all: qemu-server
``src/PVE/QemuServer/Memory.pm``, config), the new ``memory`` is applied at once by
``vmconfig_hotplug_pending`` (``src/PVE/QemuServer.pm``) through ``qemu_memory_hotplug`` (Memory.pm), which
adds or removes DIMMs and writes the config after each one. The DIMMs come from ``foreach_dimm``: above a
static 1024 MiB (1024 MiB per socket with 1 GiB hugepages), 32 DIMMs of 512 MiB (1024 MiB with 1 GiB
hugepages), then 32 of twice that size, and so on for 8 rounds. Growing stops at the first DIMM boundary at
or above the request, shrinking at the first one at or below it, so an amount between two boundaries is
stored as one of them. An amount below the static memory is refused ("memory can't be lower than ...") after
the update wrote it as pending.
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils import property_string
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.resources import Stored

STATIC_MEMORY = 1024  # Memory.pm: my $STATICMEM = 1024
DEFAULT_MEMORY = 512  # Memory.pm: $memory_fmt current default
DEFAULT_HOTPLUG = "network,disk,usb"  # QemuServer.pm: $confdesc->{hotplug}->{default}
DIMM_ROUNDS = 8  # foreach_dimm: for ($j = 0; $j < 8; $j++)
DIMMS_PER_ROUND = 32  # foreach_dimm: for ($i = 0; $i < 32; $i++)
MEMORY_KEY = "memory_status_after_write"  # Change.remember: a memory write was planned on the VM's status


def hotplug_features(value):
    """``parse_hotplug_features`` (QemuServer.pm): the set of features of a ``hotplug`` value (unset = ``1``)."""
    text = "1" if value is None else str(value)
    if text == "0":
        return set()
    if text == "1":
        text = DEFAULT_HOTPLUG
    # PVE::Tools::split_list (pve-common ParseUtils.pm): items separated by commas, semicolons or spaces
    return set(text.replace(",", " ").replace(";", " ").split())


def memory_mib(value):
    """``get_current_memory`` (Memory.pm): MiB of a ``memory`` value (``[current=]<MiB>``), 512 when unset."""
    if value is None:
        return DEFAULT_MEMORY
    return int(property_string.parse(value, "qemu_memory").get("current", DEFAULT_MEMORY))


def dimm_boundaries(conf):
    """Every amount of memory a hot-plugging VM can have: the static memory, then one more DIMM at a time."""
    hugepages_1g = str(conf.get("hugepages")) == "1024"  # foreach_dimm: $conf->{hugepages} == 1024
    sockets = int(conf.get("sockets") or 1)
    total = STATIC_MEMORY * sockets if hugepages_1g else STATIC_MEMORY
    size = 1024 if hugepages_1g else 512
    bounds = [total]
    for _round in range(DIMM_ROUNDS):
        for _dimm in range(DIMMS_PER_ROUND):
            total += size
            bounds.append(total)
        size *= 2
    return bounds


def plugs_memory(conf):
    """Whether a VM with this (current) config hot-plugs memory when it runs."""
    return "memory" in hotplug_features(conf.get("hotplug")) and str(conf.get("numa", "0")) == "1"


def aligned(conf, running, wanted):
    """``(stored, neighbours)``: what ``qemu_memory_hotplug`` leaves in the config when a VM running with
    ``running`` MiB is asked for ``wanted`` MiB, and the DIMM boundaries at and around ``wanted``."""
    bounds = dimm_boundaries(conf)
    if wanted < bounds[0] or wanted == running or wanted in bounds:
        return wanted, {wanted}
    below = max([b for b in bounds if b < wanted] or [bounds[0]])
    above = min([b for b in bounds if b > wanted] or [bounds[-1]])
    return (above if wanted > running else below), {below, above}


def stored_memory(ctx, wanted):
    """What Proxmox stores when ``memory: wanted`` is written to ``ctx.guest``.

    Only a VM that hot-plugs memory and is asked for an amount between two DIMM boundaries (or below its static
    memory) needs to know whether it runs (``runs``). A config that holds either boundary around ``wanted``
    already is as requested: writing would move it to the other one and a re-run back again. Less than the
    static memory of a running VM is refused before the write: ``qemu_memory_hotplug`` dies on it after the
    update wrote it as pending, and ``update_vm_api`` then fails the request.
    """
    current = ctx.state.current
    if not plugs_memory(current):
        return Stored(wanted)
    static = dimm_boundaries(current)[0]
    stored, neighbours = aligned(current, memory_mib(current.get("memory")), wanted)
    if neighbours == {wanted} and wanted >= static:
        return Stored(wanted)
    remember = {MEMORY_KEY: True}  # a write planned on this: its re-plans read the status fresh
    if not runs(ctx):
        return Stored(wanted, remember=remember)
    if wanted < static:
        raise InvalidRequest(
            "memory %d MiB is less than the %d MiB that running %s keeps with memory hotplug (qemu-server refuses "
            'it: "memory can\'t be lower than %d MB"); stop the VM first' % (wanted, static, ctx.guest.label, static)
        )
    note = "memory %d MiB is hot-plugged in whole DIMMs on running %s: Proxmox stores %s MiB" % (
        wanted,
        ctx.guest.label,
        " or ".join(str(b) for b in sorted(neighbours)),
    )
    return Stored(stored, accept=neighbours, note=note, remember=remember)


def runs(ctx):
    """Whether the VM runs: the ``status`` of its ``/cluster/resources`` row when the lookup read one and no write
    of this run came after it, else ``GET .../status/current``.

    The row's status is what pvestatd saw at its last round (pve-manager PVE/API2Tools.pm ``extract_vm_stats``,
    every 10 s: ``$updatetime`` in PVE/Service/pvestatd.pm), ``unknown`` before pvestatd saw the guest; the
    status call asks the VM itself (qemu-server PVE/QemuServer.pm ``vmstatus``: ``check_running``). A stale row
    costs at most one write that Proxmox stores differently; the re-plan after it (``MEMORY_KEY`` remembered)
    reads the status fresh, so it compares with what Proxmox really stored and neither loops nor reports a
    difference. Without a row (``node`` given) the status is always read.
    """
    if not ctx.memory.get(MEMORY_KEY) and ctx.guest.status in ("running", "stopped"):
        return ctx.guest.status == "running"
    return (ctx.api.get(ctx.guest.path + "/status/current") or {}).get("status") == "running"
