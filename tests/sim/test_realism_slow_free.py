"""The slow_free fault: vdisk_free on a storage takes longer than pveproxy waits (30 s, here shortened).
A synchronous PUT with delete=unusedN goes on after pveproxy answered 596; the POST variant returns a UPID."""

import time

import pytest
import requests
from proxmoxer.core import ResourceException

from pve_sim.testing import proxmox_client


@pytest.fixture
def vm(realism, wait):
    """VM 111 (stopped) with a fresh ceph-rbd volume in unused1; pveproxy gives up after 1 s."""
    api = proxmox_client(realism)
    vm = api.nodes("pve2").qemu(111)
    wait(api, "pve2", vm.config.post(scsi1="ceph-rbd:1"))
    vm.config.put(delete="scsi1")
    assert vm.config.get()["unused1"] == "ceph-rbd:vm-111-disk-2"
    realism.simulator.proxy_timeout = 1.0
    return api, vm


def assert_deleted(api, vm):
    assert "unused1" not in vm.config.get()
    assert "ceph-rbd:vm-111-disk-2" not in {
        v["volid"] for v in api.nodes("pve2").storage("ceph-rbd").content.get(vmid=111)
    }


def test_sync_delete_outlives_the_proxy_timeout_and_finishes_after_the_596(realism, vm):
    api, vm = vm
    realism.simulator.slow_free("ceph-rbd", 2.0)
    started = time.monotonic()
    with pytest.raises(ResourceException) as exc:
        vm.config.put(delete="unused1")
    waited = time.monotonic() - started
    # proxmoxer names 596 after AnyEvent::HTTP; the reason phrase is pveproxy's
    assert (exc.value.status_code, exc.value.content) == (596, "Connection timed out")
    assert 1.0 <= waited < 1.8
    assert "unused1" in vm.config.get()  # vdisk_free is still running
    time.sleep(1.2)
    assert_deleted(api, vm)


def test_sync_delete_within_the_timeout_just_takes_longer(realism, vm):
    api, vm = vm
    realism.simulator.slow_free("ceph-rbd", 0.5)
    started = time.monotonic()
    assert vm.config.put(delete="unused1") is None
    assert time.monotonic() - started >= 0.5
    assert "unused1" not in vm.config.get()


def test_post_returns_the_upid_at_once_and_the_task_does_the_slow_delete(realism, vm, wait):
    api, vm = vm
    fault = {"slow_free": {"storage": "ceph-rbd", "seconds": 1.5}}
    requests.post(realism.url + "/_sim/faults", json=fault, verify=realism.ca_path, timeout=10)
    started = time.monotonic()
    upid = vm.config.post(delete="unused1")
    assert time.monotonic() - started < 0.5
    assert api.nodes("pve2").tasks(upid).status.get()["status"] == "running"
    assert wait(api, "pve2", upid)["exitstatus"] == "OK"
    assert_deleted(api, vm)


def test_other_storages_and_plain_options_are_not_slowed(realism, vm):
    api, vm = vm
    realism.simulator.slow_free("san-lvm", 5.0)
    started = time.monotonic()
    vm.config.put(delete="unused1", cores=2)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"seconds": 3}, "'slow_free' needs 'storage' and 'seconds'"),
        ({"storage": "ceph-rbd", "seconds": -1}, "'seconds' must be >= 0"),
        ({"storage": "nope", "seconds": 1}, "no storage nope in the simulator"),
    ],
)
def test_bad_slow_free_specs_are_refused(realism, spec, error):
    resp = requests.post(realism.url + "/_sim/faults", json={"slow_free": spec}, verify=realism.ca_path, timeout=10)
    assert (resp.status_code, resp.json()) == (400, {"error": error})
    assert realism.simulator.faults.dump()["slow_free"] == {}


def test_a_write_meanwhile_waits_for_the_config_flock_and_then_applies(realism, vm):
    api, vm = vm
    realism.simulator.slow_free("ceph-rbd", 2.0)
    with pytest.raises(ResourceException):
        vm.config.put(delete="unused1")  # 596 after 1 s, vdisk_free goes on for another second
    started = time.monotonic()
    vm.config.put(cores=3)  # lock_config waits for the flock (up to 10 s), then writes
    assert 0.7 <= time.monotonic() - started < 1.8
    conf = vm.config.get()
    assert (conf["cores"], "unused1" in conf) == (3, False)


def test_a_write_that_waits_longer_than_lock_config_fails_with_the_flock_timeout(realism, vm, wait, monkeypatch):
    api, vm = vm
    monkeypatch.setattr(realism.simulator.state, "FLOCK_TIMEOUT", 0.3)  # lock_config's 10 s, shortened
    realism.simulator.slow_free("ceph-rbd", 2.0)
    with pytest.raises(ResourceException):
        vm.config.put(delete="unused1")
    error = "can't lock file '/var/lock/qemu-server/lock-111.conf' - got timeout"
    with pytest.raises(ResourceException) as exc:
        vm.config.put(cores=3)
    assert exc.value.content == error
    assert wait(api, "pve2", vm.config.post(cores=3))["exitstatus"] == error
    assert wait(api, "pve2", vm.resize.put(disk="scsi0", size="+1G"))["exitstatus"] == error
    assert vm.config.get()["cores"] == 4
