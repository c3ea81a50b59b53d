# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``cpuunits`` as Proxmox stores it: clamped by the cgroup version of the guest's node.

PRIVATE to the pve.config collection.

qemu-server (``src/PVE/API2/Qemu.pm``, update_vm_api and create_vm) and pve-container
(``src/PVE/API2/LXC/Config.pm``, update_vm; ``src/PVE/API2/LXC.pm``, create_vm) pass ``cpuunits`` through
``PVE::CGroup::clamp_cpu_shares`` (pve-common ``src/PVE/CGroup.pm``) before they write the config, although
the schema allows up to 262144 (VM) / 500000 (container): on a cgroup v2 node 10000 and more is stored as
10000, on a cgroup v1 node less than 2 is stored as 2. Values from 2 to 10000 are stored as given on both.
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils.resources import Stored

V1_MINIMUM = 2  # clamp_cpu_shares: "$shares = 2 if $shares < 2" on cgroup v1
V2_MAXIMUM = 10000  # clamp_cpu_shares: "$shares = 10000 if $shares >= 10000" on cgroup v2
DEFAULT_MODE = 2  # pve-manager www/manager6/qemu/CreateWizard.js: "nodeInfo ? nodeInfo['cgroup-mode'] : 2"
MEMORY_KEY = "cgroup_mode"


def clamp_cpu_shares(shares, mode):
    """The value ``PVE::CGroup::clamp_cpu_shares`` returns for ``shares`` on a node with cgroup ``mode``."""
    if mode == 2:
        return min(shares, V2_MAXIMUM)
    return max(shares, V1_MINIMUM)


def kept_everywhere(shares):
    """Whether every cgroup version stores ``shares`` unchanged (then the node's mode need not be read)."""
    return V1_MINIMUM <= shares <= V2_MAXIMUM


def needs_cgroup_mode(params):
    """Whether the ``cpuunits`` asked for depends on the node's cgroup version (the ``node_facts`` hint of
    ``apply.run_config_module``: the guest lookup then brings the node's row along)."""
    return params.get("cpuunits") is not None and not kept_everywhere(params["cpuunits"])


def cgroup_mode(row):
    """The ``cgroup-mode`` of a node row of ``/cluster/resources``.

    pvestatd broadcasts it (pve-manager ``PVE/Service/pvestatd.pm`` broadcast_static_node_info) and
    ``PVE/API2/Cluster.pm`` (resources) adds it to the node rows; the node status call does not carry it.
    A row without it (pvestatd not run yet) counts as cgroup v2, as the web UI does.
    """
    mode = row.get("cgroup-mode")
    return int(mode) if mode is not None else DEFAULT_MODE


def node_cgroup_mode(api, node):
    """The ``cgroup-mode`` of ``node`` from its row in ``GET /cluster/resources?type=node`` (v2 without a row)."""
    for row in api.get("cluster/resources", type="node") or []:
        if row.get("type", "node") == "node" and row.get("node") == node:
            return cgroup_mode(row)
    return DEFAULT_MODE


def guest_node_mode(ctx):
    """The cgroup mode of the guest's node: from the node row the lookup read (``Guest.node_info``), else as an
    earlier round of this run remembered it, else one ``GET /cluster/resources?type=node`` (``node`` was given,
    so the lookup read no row)."""
    if ctx.guest.node_info is not None:
        return cgroup_mode(ctx.guest.node_info)
    mode = ctx.memory.get(MEMORY_KEY)
    if mode is None:
        mode = node_cgroup_mode(ctx.api, ctx.guest.node)
    return mode


def stored_cpuunits(ctx, wanted):
    """What Proxmox stores when ``cpuunits: wanted`` is written to ``ctx.guest``. The node's mode is read only
    for a value that some cgroup version changes (``guest_node_mode``) and remembered for the re-plans."""
    if kept_everywhere(wanted):
        return Stored(wanted)
    mode = guest_node_mode(ctx)
    value = clamp_cpu_shares(wanted, mode)
    note = None
    if value != wanted:
        note = "cpuunits %d is stored as %d: node %s uses cgroup v%d, where Proxmox clamps cpuunits to %s" % (
            wanted,
            value,
            ctx.guest.node,
            mode,
            "at most %d" % V2_MAXIMUM if mode == 2 else "at least %d" % V1_MINIMUM,
        )
    return Stored(value, note=note, remember={MEMORY_KEY: mode})
