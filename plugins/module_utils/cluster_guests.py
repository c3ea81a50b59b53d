# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guests of ``GET /cluster/resources?type=vm``: their facts, and filters on them.

PRIVATE to the pve.config collection.

Shared by the ``pve.config.guests`` inventory plugin (``filters``) and ``fleet_config`` (``select``), so a
guest is chosen by tag, pool, node, type, status, name or vmid the same way in both.
"""

from __future__ import annotations

import re

from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import check_vmid

GUEST_TYPES = ("qemu", "lxc")
# Proxmox splits a tag list at ';', ',' and white space: pve-common src/PVE/ParseUtils.pm split_list (the
# guest config side), pve-manager www/manager6/Utils.js renderTags (split(/[,; ]/), the GUI).
TAG_SEPARATORS = re.compile(r"[;,\s]+")
# filter key -> the fact it is matched against (a guest matches a filter when one of its values is listed)
FILTER_FACTS = {
    "tags": "tags",
    "pools": "pool",
    "nodes": "node",
    "types": "type",
    "status": "status",
    "names": "name",
    "vmids": "vmid",
}


def guest_facts(row):
    """What one /cluster/resources row says about a guest.

    Row fields: pve-manager PVE/API2/Cluster.pm (resources) and PVE/API2Tools.pm (extract_vm_stats): vmid, node,
    type always; name, status and template only once pvestatd has reported the guest (status 'unknown' and no
    name before); lock, tags from the guest config and pool from user.cfg only when set.
    """
    return {
        "vmid": int(row["vmid"]),
        "node": row.get("node"),
        "type": row["type"],
        "name": row.get("name") or None,
        "status": row.get("status") or "unknown",
        "tags": tag_list(row.get("tags")),
        "pool": row.get("pool") or None,
        "lock": row.get("lock") or None,
        "template": bool(int(row.get("template") or 0)),
    }


def cluster_guests(rows, include_templates=False):
    """The facts of every guest row (QEMU and LXC; templates only when asked), in vmid order."""
    guests = [guest_facts(row) for row in rows or [] if row.get("type") in GUEST_TYPES]
    return sorted(
        (guest for guest in guests if include_templates or not guest["template"]), key=lambda guest: guest["vmid"]
    )


def tag_list(tags):
    return [tag for tag in TAG_SEPARATORS.split(tags or "") if tag]


def checked_filters(filters, allowed, where="filters"):
    """``filters`` as {key: set of values}; refuses a key not in ``allowed``, a value that is not a list, a type
    other than qemu/lxc and a vmid that is not a VM ID (``InvalidRequest``, before any request)."""
    unknown = sorted(set(filters) - set(allowed), key=str)
    if unknown:
        raise InvalidRequest("unknown %s key(s) %s: use %s" % (where, ", ".join(map(str, unknown)), ", ".join(allowed)))
    checked = {}
    for key, values in filters.items():
        if isinstance(values, str) or not isinstance(values, list):
            raise InvalidRequest("%s.%s must be a list, not %r" % (where, key, values))
        if key == "vmids":
            checked[key] = set(check_vmid(value) for value in values)
        else:
            checked[key] = set(str(value) for value in values)
    bad_types = sorted(checked.get("types", set()) - set(GUEST_TYPES))
    if bad_types:
        raise InvalidRequest("%s.types: %s is not qemu or lxc" % (where, ", ".join(bad_types)))
    return checked


def matches(guest, filters):
    """True when the guest's facts match every filter of ``checked_filters``."""
    for key, wanted in filters.items():
        value = guest[FILTER_FACTS[key]]
        values = set(value) if isinstance(value, list) else {value}
        if not values & wanted:
            return False
    return True
