"""proxmox.py: the bridge's own read-only view of a guest (policy checks, the re-read after a stopped run),
against a faked Proxmox API (responses)."""

from __future__ import annotations

import pytest
import responses

from mcp_bridge.config import load
from mcp_bridge.proxmox import GuestReader


def reader() -> GuestReader:
    environ = {"PROXMOX_HOST": "pve.test", "PROXMOX_USER": "u@pve", "PROXMOX_TOKEN_ID": "t"}
    return GuestReader(load(None, environ={**environ, "PROXMOX_TOKEN_SECRET": "s"}).proxmox)


API = "https://pve.test:8006/api2/json"


def test_the_reread_reads_config_and_pending_from_the_guests_node():
    with responses.RequestsMock() as http:
        http.get(f"{API}/cluster/resources", json={"data": [{"vmid": 100, "node": "pve1", "type": "qemu"}]})
        rows = [
            {"key": "cores", "value": 2, "pending": 4},
            {"key": "scsi1", "value": "local-lvm:vm-100-disk-1,size=4G", "delete": 1},
            {"key": "net1", "pending": "virtio=BC:24:11:00:00:01,bridge=vmbr0"},
        ]
        http.get(f"{API}/nodes/pve1/qemu/100/pending", json={"data": rows})
        assert reader()(100) == {
            "node": "pve1",
            "guest_type": "qemu",
            "config": {"cores": 2, "scsi1": "local-lvm:vm-100-disk-1,size=4G"},
            "pending": {"cores": 4, "scsi1": None, "net1": "virtio=BC:24:11:00:00:01,bridge=vmbr0"},
        }
        http.get(f"{API}/cluster/resources", json={"data": []})
        assert reader()(4242) == {"exists": False}


@pytest.mark.parametrize("node", ["pve1/qemu/100/../../../../access", "pve\uff11", "-pve1", "pve1\n"])
def test_a_node_name_proxmox_would_not_accept_never_becomes_a_path(node):
    """Issue 9.12 (bridge side): the node read from /cluster/resources must match pve-node before the bridge
    builds /nodes/{node}/... from it (pve-common JSONSchema.pm pve_verify_node_name)."""
    with responses.RequestsMock() as http:
        http.get(f"{API}/cluster/resources", json={"data": [{"vmid": 100, "node": node, "type": "qemu"}]})
        with pytest.raises(ValueError, match="unusable node"):
            reader()(100)
        assert [call.request.url.split("?")[0] for call in http.calls] == [f"{API}/cluster/resources"]
