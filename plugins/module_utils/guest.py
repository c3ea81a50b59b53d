# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a guest and read its configuration (current values, pending values and digest in one GET).

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils.errors import GuestNotFound, InvalidRequest

KIND_LABEL = {"qemu": "QEMU VM", "lxc": "LXC container"}
OTHER_MODULES = {"qemu": "pve.config.container_*", "lxc": "pve.config.vm_*"}
# pve-common src/PVE/JSONSchema.pm: pve_verify_node_name (format pve-node) and pve_verify_vmid / the pve-vmid
# standard option (100 to 999999999). Checked before any request: both end up in API paths.
NODE_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?")
VMID_MIN, VMID_MAX = 100, 999999999


def check_node(node):
    """``node`` if it is a Proxmox node name, else ``InvalidRequest`` (nothing is sent)."""
    if not isinstance(node, str) or not NODE_NAME.fullmatch(node):
        raise InvalidRequest(
            "node %r is not a Proxmox node name (ASCII letters, digits and '-', starting and ending with a "
            "letter or digit: the pve-node format)" % (node,)
        )
    return node


def check_vmid(vmid):
    """``vmid`` as an int if it is a Proxmox VM ID (100 to 999999999), else ``InvalidRequest``."""
    if isinstance(vmid, bool) or not isinstance(vmid, int) or not VMID_MIN <= vmid <= VMID_MAX:
        raise InvalidRequest("vmid %r is not a Proxmox VM ID (%d to %d)" % (vmid, VMID_MIN, VMID_MAX))
    return vmid


def check_selection(params):
    """Check the guest selection options (``vmid``, ``node``) before anything is sent."""
    if params.get("vmid") is not None:
        check_vmid(params["vmid"])
    if params.get("node") is not None:
        check_node(params["node"])


class Guest(object):
    """Where a guest lives: ``kind`` is ``qemu`` or ``lxc``. ``vmid`` and ``node`` are checked here, so
    ``path`` is only ever built from a valid node name and VM ID. ``name``, ``status`` and ``lock`` are those of
    the guest's row when ``locate`` read one (``None`` otherwise), like ``pool``: the resource pool it is a
    member of (pve-manager PVE/API2/Cluster.pm resources: the row's ``pool``, left out unless the reading user
    has Pool.Audit on it); ``node_info``: the row of its node from the unfiltered ``/cluster/resources`` when
    the module asked for node facts (``None`` when it was not read)."""

    def __init__(self, vmid, node, kind, name=None, status=None, lock=None, node_info=None, pool=None):
        self.vmid = check_vmid(int(vmid))
        self.node = check_node(node)
        self.kind = kind
        self.name = name
        self.status = status
        self.lock = lock
        self.node_info = node_info
        self.pool = pool

    @property
    def path(self):
        return "nodes/%s/%s/%d" % (self.node, self.kind, self.vmid)

    @property
    def label(self):
        return "%s %d" % (KIND_LABEL[self.kind], self.vmid)


def locate(api, kind, vmid=None, name=None, node=None, lists_only=False, node_facts=False, resources=None):
    """Find the guest: one ``GET /cluster/resources?type=vm``, skipped when both ``vmid`` and ``node`` are given.

    ``kind`` is the type the module manages (``qemu``/``lxc``), or ``None`` to accept either. A ``name`` that
    the resource list does not match exactly once is confirmed through the nodes' own guest lists
    (``guests_named``) before anything fails; ``lists_only`` goes to those lists at once (the resource list
    was found stale). ``node_facts``: the module needs its node's row too (``Guest.node_info``), so the one
    request goes without the type filter and brings the node rows along (see ``read_resources``).
    ``resources``: the rows of ``GET /cluster/resources?type=vm`` when the caller has read them already
    (``fleet_config`` reads them once for all its guests).
    """
    check_selection(dict(vmid=vmid, node=node))
    if vmid is not None and node and kind:
        return Guest(vmid, node, kind)
    if lists_only:
        resources = []
    elif resources is None:
        resources = read_resources(api, node_facts)
    guests = [r for r in resources if r.get("type") in ("qemu", "lxc")]
    if vmid is not None:
        found = [r for r in guests if int(r.get("vmid", -1)) == int(vmid)]
        wanted = "vmid %s" % vmid
    else:
        found = [r for r in guests if r.get("name") == name]
        wanted = "name %r" % name
    if node:
        found = [r for r in found if r.get("node") == node]
        wanted += " on node %s" % node
    where = "in the cluster"
    if vmid is None and (len(found) != 1 or lists_only):
        found, nodes = guests_named(api, name, node)
        where += " (also checked in the guest lists of node%s %s)" % (
            "s" if len(nodes) != 1 else "",
            ", ".join(nodes) or "-",
        )
    if not found:
        raise GuestNotFound("no guest with %s %s" % (wanted, where))
    if len(found) > 1:
        raise InvalidRequest(
            "%d guests have %s (vmids %s); give vmid instead"
            % (len(found), wanted, ", ".join(str(r["vmid"]) for r in sorted(found, key=lambda r: int(r["vmid"]))))
        )
    res = found[0]
    if kind and res["type"] != kind:
        raise InvalidRequest(
            "guest %s is a %s, not a %s: use the %s modules for it"
            % (res["vmid"], KIND_LABEL[res["type"]], KIND_LABEL[kind], OTHER_MODULES[kind])
        )
    node_info = None
    if node_facts and not lists_only:
        node_info = next((r for r in resources if r.get("type") == "node" and r.get("node") == res["node"]), {})
    return Guest(
        res["vmid"],
        res["node"],
        res["type"],
        name=res.get("name"),
        status=res.get("status"),
        lock=res.get("lock"),
        node_info=node_info,
        pool=res.get("pool"),
    )


def read_resources(api, node_facts=False):
    """The rows of ``GET /cluster/resources``: only the guests (``type=vm``) unless ``node_facts`` is asked for.

    Without ``type`` the one call answers every kind of row at once: pool, vm, node, storage, sdn, network
    (pve-manager PVE/API2/Cluster.pm ``resources``: each block runs ``if (!$param->{type} || $param->{type} eq
    ...)``), so a guest's row and its node's row (with ``cgroup-mode``) cost one request, not two.
    """
    if node_facts:
        return api.get("cluster/resources") or []
    return api.get("cluster/resources", type="vm") or []


def guests_named(api, name, node=None):
    """``(rows, nodes)``: the guests called ``name`` in the per-node lists of ``node`` or of every online node.

    In ``/cluster/resources`` a guest's ``name`` and ``status`` come from pvestatd's RRD data (pve-manager
    PVE/API2Tools.pm ``extract_vm_stats``): missing right after a guest is created, stale after a rename. The
    node lists read the config itself: ``GET /nodes/{node}/qemu`` (qemu-server PVE/QemuServer.pm ``vmstatus``:
    ``name`` from the config) and ``GET /nodes/{node}/lxc`` (pve-container PVE/LXC.pm ``vmstatus``: the
    ``hostname`` without whitespace).
    """
    if node:
        nodes = [node]
    else:
        nodes = sorted(n["node"] for n in api.get("nodes") or [] if n.get("status") == "online" and n.get("node"))
    found = []
    for each in nodes:
        check_node(each)
        for kind in ("qemu", "lxc"):
            for row in api.get("nodes/%s/%s" % (each, kind)) or []:
                if row.get("name") == name:
                    found.append(dict(row, node=each, type=kind))
    return found, nodes


def config_name(kind, vmid, config):
    """The name the node lists give a guest, from its config: qemu-server PVE/QemuServer.pm ``vmstatus``
    (``name``, else "VM <vmid>"), pve-container PVE/LXC.pm ``vmstatus`` (``hostname`` without whitespace, else
    "CT<vmid>")."""
    if kind == "qemu":
        return config.get("name") or "VM %d" % vmid
    return re.sub(r"\s", "", config.get("hostname") or "CT%d" % vmid)


class GuestState(object):
    """A guest's configuration as read in one call.

    ``config``: every key with pending values applied and pending deletions removed (what the guest will
    run with after a reboot). ``current``: the values in effect now. ``pending``: key -> new value, or
    ``None`` for a pending deletion. ``digest``: the SHA1 Proxmox checks on writes.
    """

    def __init__(self, config, current, pending, digest):
        self.config = config
        self.current = current
        self.pending = pending
        self.digest = digest

    @property
    def lock(self):
        return self.config.get("lock")


def read_state(api, guest):
    """``GET .../pending`` gives current values, pending values and the digest item at once."""
    try:
        items = api.get(guest.path + "/pending") or []
    except GuestNotFound as exc:  # "Configuration file '...' does not exist": wrong node or kind
        raise GuestNotFound(
            "no %s %d on node %s (%s)" % (KIND_LABEL[guest.kind], guest.vmid, guest.node, exc.msg)
        ) from None
    config, current, pending = {}, {}, {}
    digest = None
    for item in items:
        key = item["key"]
        if key == "digest":
            digest = item.get("value")
            continue
        if "value" in item:
            current[key] = item["value"]
        if item.get("delete"):
            pending[key] = None
        elif "pending" in item:
            pending[key] = item["pending"]
            config[key] = item["pending"]
        elif "value" in item:
            config[key] = item["value"]
    if digest is None:  # older servers: the digest only comes with GET /config
        digest = (api.get(guest.path + "/config") or {}).get("digest")
    return GuestState(config, current, pending, digest)
