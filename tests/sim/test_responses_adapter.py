"""The simulator inside a responses.RequestsMock: same model, no sockets."""

import pytest
import responses
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from pve_sim.responses_adapter import install


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        sim = install(rsps, host="pve.example.com", port=8006)
        api = ProxmoxAPI(
            "pve.example.com",
            user="root@pam",
            token_name=sim.token_name,
            token_value=sim.token_secret,
            verify_ssl=False,
        )
        yield sim, api


def test_proxmoxer_round_trip_with_task(mocked):
    sim, api = mocked
    vm = api.nodes("pve1").qemu(101)
    upid = vm.config.post(scsi2="local-lvm:8")
    assert api.nodes("pve1").tasks(upid).status.get()["exitstatus"] == "OK"
    assert vm.config.get()["scsi2"] == "local-lvm:vm-101-disk-2,size=8G"
    assert sim.guest_config(101)["config"]["scsi2"] == "local-lvm:vm-101-disk-2,size=8G"
    assert [(r["method"], r["path"]) for r in sim.requests()] == [
        ("POST", "/nodes/pve1/qemu/101/config"),
        ("GET", f"/nodes/pve1/tasks/{upid}/status"),
        ("GET", "/nodes/pve1/qemu/101/config"),
    ]


def test_errors_keep_the_pve_reason_phrase(mocked):
    sim, api = mocked
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve1").qemu(101).config.put(memory="8")
    assert (exc.value.status_code, exc.value.content) == (400, "Parameter verification failed.")
    assert exc.value.errors == {
        "memory": "invalid format - format error\nmemory.current: value must have a minimum value of 16\n"
    }
    sim.lock_guest(101, "backup")
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve1").qemu(101).config.put(cores=1)
    assert (exc.value.status_code, exc.value.content) == (500, "VM is locked (backup)")


def test_bad_token_through_the_adapter(mocked):  # pylint: disable=unused-argument
    api = ProxmoxAPI("pve.example.com", user="root@pam", token_name="pve-config", token_value="nope", verify_ssl=False)
    with pytest.raises(ResourceException) as exc:
        api.version.get()
    assert (exc.value.status_code, exc.value.content) == (401, "invalid token value!")
