# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks that a storage can take a new volume, before anything is written.

PRIVATE to the pve.config collection.
"""

from __future__ import annotations

from ansible_collections.pve.config.plugins.module_utils.errors import ApiError, InvalidRequest


def check_storage(api, node, storage, content="images"):
    """One ``GET /nodes/{node}/storage?storage=X``: the storage must exist on the node, be enabled and hold
    ``content`` (``images`` for VM disks, ``rootdir`` for container volumes). Returns its status item."""
    try:
        items = api.get("nodes/%s/storage" % node, storage=storage) or []
    except (ApiError, InvalidRequest) as exc:
        # PVE (API2/Storage/Status.pm) answers an unknown storage with 400 and errors {storage: No such storage.}
        if "does not exist" in exc.msg or "No such storage" in str((exc.details.get("errors") or {}).get("storage")):
            items = []
        else:
            raise
    match = [item for item in items if item.get("storage") == storage]
    if not match:
        raise InvalidRequest("storage %r does not exist on node %s; nothing was changed" % (storage, node))
    item = match[0]
    if str(item.get("enabled", 1)) in ("0", "False", "false"):
        raise InvalidRequest("storage %r is disabled on node %s; nothing was changed" % (storage, node))
    contents = [c.strip() for c in str(item.get("content", "")).split(",") if c.strip()]
    if content not in contents:
        raise InvalidRequest(
            "storage %r cannot hold %s (its content types: %s); nothing was changed"
            % (storage, content, ", ".join(contents) or "none")
        )
    if str(item.get("active", 1)) in ("0", "False", "false"):
        raise InvalidRequest("storage %r is not active on node %s; nothing was changed" % (storage, node))
    return item
