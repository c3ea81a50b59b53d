"""guest_config.plan as fleet_config calls it: ``apply.apply_change(api, guest, params, plan, check_mode)`` with a
plain params dict (defaults filled by ``settings``), against a faked HTTP API (exact requests)."""

import pytest
from harness import pending, requests_made, url
from responses import matchers

from ansible_collections.pve.config.plugins.module_utils import config_values, guest_config
from ansible_collections.pve.config.plugins.module_utils.apply import Context, apply_change
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.guest import Guest, GuestState

VM = Guest(100, "pve1", "qemu", status="stopped")
CT = Guest(200, "pve1", "lxc", status="running")
CONFIG = {"cores": 2, "memory": "2048", "net0": "virtio=BC:24:11:00:01:00,bridge=vmbr0", "description": "old\n"}


def read(api, guest, config, digest):
    api.get(url(guest.path + "/pending"), json=pending(config, digest))


def ctx(config, params, memory=None, check_mode=False, guest=VM):
    state = GuestState(dict(config), dict(config), {}, "d1")
    return Context(None, guest, params, state, dict(memory or {}), check_mode)


def test_a_params_dict_with_only_config_gets_the_module_defaults(api, pve):
    read(api, CT, CONFIG, "d1")
    api.put(
        url(CT.path + "/config"),
        json={"data": None},
        match=[matchers.urlencoded_params_matcher({"cores": "4", "digest": "d1"})],
    )
    read(api, CT, dict(CONFIG, cores=4), "d2")
    result = apply_change(pve, CT, {"config": {"cores": 4}}, guest_config.plan)
    assert result["changed"] is True and result["steps"] == [{"action": "set", "keys": ["cores"]}]
    assert [r[0] for r in requests_made(api)] == ["GET", "PUT", "GET"]


def test_check_mode_through_apply_change_predicts_and_sends_no_write(api, pve):
    read(api, CT, CONFIG, "d1")
    result = apply_change(pve, CT, {"config": {"cores": 4}, "absent": ["description"]}, guest_config.plan, True)
    assert requests_made(api) == [("GET", "/" + CT.path + "/pending", {})]
    assert result["steps"] == [{"action": "set", "keys": ["cores"]}, {"action": "delete", "keys": ["description"]}]
    assert result["config"]["cores"] == "4" and "description" not in result["config"]


def test_settings_fill_the_defaults_and_keep_what_is_given():
    params = guest_config.settings({"config": None, "absent": ["x"], "purge": True, "unrelated": 1})
    assert params["config"] == {} and params["absent"] == ["x"] and params["purge"] is True
    assert params["update_password"] == "on_create" and params["if_digest"] is None and params["type"] is None


def test_the_digest_is_checked_only_before_the_first_write():
    params = guest_config.settings({"config": {"cores": 4}, "if_digest": "d0"})
    with pytest.raises(InvalidRequest, match="changed since the plan was made"):
        guest_config.plan(ctx(CONFIG, params))
    after_own_write = guest_config.plan(ctx(CONFIG, params, memory={"digest": "d0", "steps": []}))
    assert after_own_write.set == {"cores": "4"}


def test_the_whole_plan_masks_secrets_in_its_prediction():
    params = guest_config.settings({"config": {"cipassword": "hunter2", "cores": 3}, "absent": ["description"]})
    change = guest_config.plan(ctx(CONFIG, params, check_mode=True))
    assert change.set == {"cipassword": "hunter2", "cores": "3"}  # the write itself carries it
    assert change.predict(CONFIG)["cipassword"] == config_values.MASK
    assert change.diff(CONFIG) == {
        "before": {"cores": 2, "description": "old\n"},
        "after": {"cipassword": config_values.MASK, "cores": "3"},
    }
    assert change.preview == "set cipassword, cores; then delete description"


def test_a_real_run_plans_one_step_and_counts_the_rest():
    params = guest_config.settings({"config": {"cores": 3}, "absent": ["description"]})
    change = guest_config.plan(ctx(CONFIG, params))
    assert change.set == {"cores": "3"} and change.delete == [] and change.writes == 2 + 2  # room: reboot, cloudinit
    assert change.remember["steps"] == [{"action": "set", "keys": ["cores"]}]


@pytest.mark.parametrize(
    "wanted, current, same",
    [
        ("local-lvm:cloudinit", "local-lvm:vm-100-cloudinit,media=cdrom", True),
        ("local:cloudinit", "local:100/vm-100-cloudinit.qcow2,media=cdrom", True),
        ("ceph:cloudinit", "local-lvm:vm-100-cloudinit,media=cdrom", False),  # another storage: a new drive
        ("local-lvm:cloudinit", "local-lvm:vm-100-disk-1,size=4M", False),
        ("local-lvm:cloudinit", None, False),
        ({"file": "local-lvm:cloudinit"}, "local-lvm:vm-100-cloudinit,media=cdrom", True),
    ],
)
def test_a_cloud_init_drive_asked_as_storage_cloudinit(wanted, current, same):
    assert guest_config.same_cloudinit_drive("ide0", wanted, current) is same
