"""The bridge's own, read-only view of Proxmox: a guest's existence (before asking to destroy data) and its config
(after a stopped run).

Both read with the bridge's credentials through proxmoxer, never write. A node name read from
``/cluster/resources`` is checked against Proxmox's ``pve-node`` format before it becomes part of a path.
"""

from __future__ import annotations

import re
from typing import Any

from .config import ProxmoxSettings

# pve-common src/PVE/JSONSchema.pm, pve_verify_node_name (format 'pve-node'): ASCII letters, digits, inner '-'.
NODE_NAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?")


def is_node_name(value: object) -> bool:
    return isinstance(value, str) and NODE_NAME.fullmatch(value) is not None


def connect(settings: ProxmoxSettings):
    """A proxmoxer client with the bridge's connection settings."""
    from proxmoxer import ProxmoxAPI

    s = settings
    verify: bool | str = s.validate_certs if s.validate_certs is not None else True
    if verify and s.ca_path:
        verify = s.ca_path
    kwargs: dict[str, object] = {"user": s.user, "verify_ssl": verify, "timeout": s.timeout or 30}
    if s.port:
        kwargs["port"] = s.port
    if s.token_id is not None and s.token_secret is not None:
        kwargs.update(token_name=s.token_id, token_value=s.token_secret.get_secret_value())
    elif s.password is not None:
        kwargs["password"] = s.password.get_secret_value()
    return ProxmoxAPI(s.host, **kwargs)


def find_guest(api, vmid: int) -> dict[str, Any] | None:
    """The guest's row of ``GET /cluster/resources?type=vm``, or None."""
    for item in api.cluster.resources.get(type="vm"):
        if int(item.get("vmid", -1)) == vmid:
            return item
    return None


class ClusterRows:
    """Every guest row of ``GET /cluster/resources?type=vm`` (what the fleet tools choose their guests from)."""

    def __init__(self, settings: ProxmoxSettings) -> None:
        self.settings = settings

    def __call__(self) -> list[dict[str, Any]]:
        return list(connect(self.settings).cluster.resources.get(type="vm"))


class GuestReader:
    """What a guest looks like now: ``{"node", "guest_type", "config", "pending"}`` or ``{"exists": False}``.

    `config` holds the current values and `pending` the changes waiting for a reboot (``null`` = pending
    delete), both from ``GET /nodes/{node}/{qemu|lxc}/{vmid}/pending`` (qemu-server API2/Qemu.pm
    vm_pending, pve-container API2/LXC.pm vm_pending: rows of key, value, pending, delete).
    """

    def __init__(self, settings: ProxmoxSettings) -> None:
        self.settings = settings

    def __call__(self, vmid: int) -> dict[str, Any]:
        api = connect(self.settings)
        row = find_guest(api, vmid)
        if row is None:
            return {"exists": False}
        node, kind = row.get("node"), row.get("type")
        if not is_node_name(node) or kind not in ("qemu", "lxc"):
            raise ValueError(f"/cluster/resources returned an unusable node/type for guest {vmid}")
        config: dict[str, Any] = {}
        pending: dict[str, Any] = {}
        for item in api.nodes(node).get(kind, vmid, "pending"):
            key = item.get("key")
            if "value" in item:
                config[key] = item["value"]
            if item.get("delete"):
                pending[key] = None
            elif "pending" in item:
                pending[key] = item["pending"]
        return {"node": node, "guest_type": kind, "config": config, "pending": pending}
