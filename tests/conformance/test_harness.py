"""The suite's own machinery, against a private simulator (never the configured target): the target read from
the environment, the counting forwarder, the snapshot and restore of scratch guests."""

from __future__ import annotations

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from pve_sim.testing import proxmox_client, running_simulator

from .proxy import CountingProxy, Upstream
from .restore import PreconditionError, ScratchGuest
from .target import REAL, ConfigurationError, real_target, split_host, wants_real_cluster

SECRET = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
REAL_ENV = {
    "PROXMOX_HOST": "pve1.lab.example:8443",
    "PROXMOX_USER": "automation@pve",
    "PROXMOX_TOKEN_ID": "conformance",
    "PROXMOX_TOKEN_SECRET": SECRET,
    "PVE_TEST_VMID": "9001",
    "PVE_TEST_CTID": "9002",
}


@pytest.fixture(scope="module")
def private_sim():
    with running_simulator(realism=True) as server:
        yield server


@pytest.fixture
def fresh(private_sim):
    private_sim.simulator.reset()
    return private_sim


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pve1", ("pve1", 8006)),
        ("pve1:8443", ("pve1", 8443)),
        ("[fd00::1]:8443", ("fd00::1", 8443)),
        ("[fd00::1]", ("fd00::1", 8006)),
        ("fd00::1", ("fd00::1", 8006)),
    ],
)
def test_split_host(value, expected):
    assert split_host(value, 8006) == expected


def test_real_target_from_environment_hides_secrets():
    assert wants_real_cluster(REAL_ENV) and not wants_real_cluster({"PROXMOX_HOST": "pve1"})
    target = real_target({**REAL_ENV, "PROXMOX_VALIDATE_CERTS": "false", "PVE_TEST_STORAGE": "ceph-vm"})
    assert (target.mode, target.host, target.port, target.vmid, target.ctid) == (
        REAL,
        "pve1.lab.example",
        8443,
        9001,
        9002,
    )
    assert (target.storage, target.bridge, target.validate_certs) == ("ceph-vm", "vmbr0", False)
    assert target.auth_env()["PROXMOX_TOKEN_SECRET"] == SECRET and "PROXMOX_PASSWORD" not in target.auth_env()
    assert SECRET not in repr(target) and SECRET not in target.describe()
    assert "NOT verified" in target.describe() and "REAL-CLUSTER" in target.describe()


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("PVE_TEST_CTID", "PVE_TEST_CTID"),
        ("PROXMOX_HOST", "PROXMOX_HOST"),
        ("PROXMOX_TOKEN_SECRET", "PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET (or PROXMOX_PASSWORD)"),
    ],
)
def test_real_target_incomplete_is_an_error(drop, named):
    env = {k: v for k, v in REAL_ENV.items() if k != drop}
    with pytest.raises(ConfigurationError, match=named.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        real_target(env)


def test_real_target_vmid_must_be_an_integer():
    with pytest.raises(ConfigurationError, match="PVE_TEST_VMID must be the vmid"):
        real_target({**REAL_ENV, "PVE_TEST_VMID": "web01"})


def through(proxy: CountingProxy, server, token_value=None) -> ProxmoxAPI:
    return ProxmoxAPI(
        "127.0.0.1",
        port=proxy.port,
        user=server.user,
        token_name=server.token_id,
        token_value=token_value or server.token_secret,
        verify_ssl=proxy.ca_path,
        timeout=10,
    )


def test_proxy_forwards_counts_and_keeps_no_secret(fresh, tmp_path):
    with CountingProxy(Upstream(fresh.host, fresh.port, True, fresh.ca_path), str(tmp_path)) as proxy:
        api = through(proxy, fresh)
        assert api.version.get()["version"]
        api.nodes("pve1").qemu(100).config.put(description="conformance")
        with pytest.raises(ResourceException) as refused:
            through(proxy, fresh, token_value="wrong").version.get()
        assert refused.value.status_code == 401
        log = proxy.log()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/version", 200),
        ("PUT", "/nodes/pve1/qemu/100/config", 200),
        ("GET", "/version", 401),
    ]
    assert all(set(entry) == {"time", "method", "path", "status"} for entry in log)
    assert fresh.token_secret not in repr(log)
    assert proxmox_client(fresh).nodes("pve1").qemu(100).config.get()["description"] == "conformance"


def test_proxy_verifies_the_target_as_configured(fresh, tmp_path):
    """The simulator's CA is not a system CA: with validate_certs and no ca_path the forwarder refuses it."""
    with CountingProxy(Upstream(fresh.host, fresh.port, True, None), str(tmp_path)) as proxy:
        with pytest.raises((ResourceException, requests.exceptions.RequestException, AuthenticationError)):
            through(proxy, fresh).version.get()
        assert [(e["method"], e["status"]) for e in proxy.log()] == [("GET", 502)]
    with CountingProxy(Upstream(fresh.host, fresh.port, False, None), str(tmp_path / "insecure")) as proxy:
        assert through(proxy, fresh).version.get()["version"]


def test_restore_puts_back_changed_added_and_allocated(fresh):
    api = proxmox_client(fresh)
    vm = ScratchGuest.locate(api, 100, "qemu", ("local-lvm",))
    ct = ScratchGuest.locate(api, 200, "lxc", ("local-lvm",))
    vm.snapshot()
    ct.snapshot()
    qemu, lxc = api.nodes("pve1").qemu(100), api.nodes("pve1").lxc(200)
    qemu.config.post(memory=3072, scsi7="local-lvm:1", net5="virtio,bridge=vmbr0", sata3="local-lvm:1")
    detached = qemu.config.post(scsi8="local-lvm:1")  # then detached: an unused volume the suite created
    assert detached
    qemu.config.post(delete="scsi8")
    lxc.config.put(memory=1024, net4="name=eth4,bridge=vmbr0,type=veth")
    changed = vm.differences()
    assert any(line.startswith("volume ") for line in changed) and any("memory" in line for line in changed)
    assert {line.split(" ")[0] for line in ct.differences()} == {"memory:", "added"}

    assert vm.restore() and ct.restore()
    assert vm.differences() == [] and ct.differences() == []
    assert vm.owned_volumes() == vm.volumes
    assert vm.restore() == [] and ct.restore() == []  # nothing left to do


def test_snapshot_refuses_pending_changes_and_the_wrong_kind(fresh):
    api = proxmox_client(fresh)
    with pytest.raises(PreconditionError, match="is a lxc guest"):
        ScratchGuest.locate(api, 200, "qemu", ("local-lvm",))
    with pytest.raises(PreconditionError, match="not found"):
        ScratchGuest.locate(api, 4242, "qemu", ("local-lvm",))
    api.nodes("pve1").qemu(100).config.post(cores=4)  # a running VM without CPU hot-plug: pending
    vm = ScratchGuest.locate(api, 100, "qemu", ("local-lvm",))
    with pytest.raises(PreconditionError, match=r"pending changes \(cores\)"):
        vm.snapshot()
    with pytest.raises(PreconditionError, match="storage 'nope'"):
        ScratchGuest.locate(api, 101, "qemu", ("local-lvm", "nope")).snapshot()
