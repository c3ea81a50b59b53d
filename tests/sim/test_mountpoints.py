"""Container mount points as pve-container handles them: bind mounts (root@pam only), resize of a host path,
a volume swapped on a stopped container, what stays pending on a running one."""

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException


def root_login(sim):
    """root@pam with its password (a ticket): the only user pve-container lets write bind mounts."""
    return ProxmoxAPI(sim.host, port=sim.port, user="root@pam", password=sim.password, verify_ssl=sim.ca_path)


def test_a_token_may_not_write_a_bind_mount(sim_api):
    # pve-container LXC.pm check_ct_modify_config_perm: the token's user is root@pam!pve-config, not root@pam
    ct = sim_api.nodes("pve2").lxc(201)
    for value, kind in (("/srv/media,mp=/media", "bind"), ("/dev/sdb1,mp=/data", "device")):
        with pytest.raises(ResourceException) as exc:
            ct.config.put(mp1=value)
        assert (exc.value.status_code, exc.value.content) == (
            403,
            f"Permission check failed (mount point type {kind} is only allowed for root@pam)",
        )
    assert "mp1" not in ct.config.get()


def test_root_writes_and_removes_a_bind_mount_without_unused(sim, sim_api):
    ct = root_login(sim).nodes("pve2").lxc(201)
    ct.config.put(mp1="/srv/media,mp=/media,ro=1")
    assert ct.config.get()["mp1"] == "/srv/media,mp=/media,ro=1"
    sim_api.nodes("pve2").lxc(201).config.put(delete="mp1")  # deleting is not checked for the type
    config = ct.config.get()
    assert "mp1" not in config and not [k for k in config if k.startswith("unused")]


def test_resize_of_a_bind_mount_is_refused(sim, sim_api):
    root_login(sim).nodes("pve2").lxc(201).config.put(mp1="/srv/media,mp=/media")
    with pytest.raises(ResourceException) as exc:
        sim_api.nodes("pve2").lxc(201).resize.put(disk="mp1", size="4G")
    assert (exc.value.status_code, exc.value.content) == (500, "unable to parse volume ID '/srv/media'")


def test_swapping_the_volume_of_a_stopped_container_keeps_the_old_one_as_unused(sim_api):
    # LXC/Config.pm apply_pending_mountpoint: add_unused_volume for the old volume
    ct = sim_api.nodes("pve2").lxc(201)
    ct.config.put(mp0="local-lvm:1,mp=/a")
    ct.config.put(mp0="local-lvm:2,mp=/a")
    config = ct.config.get()
    assert config["mp0"] == "local-lvm:vm-201-disk-2,mp=/a,size=2G"
    assert config["unused0"] == "local-lvm:vm-201-disk-1"
    ct.config.put(mp0="local-lvm:vm-201-disk-2,mp=/b,backup=1")  # same volume, other options: no unusedN
    config = ct.config.get()
    assert config["mp0"] == "local-lvm:vm-201-disk-2,mp=/b,backup=1,size=2G"
    assert sorted(k for k in config if k.startswith("unused")) == ["unused0"]


def test_running_container_hotplugs_a_new_mount_point_and_keeps_changes_pending(sim_api):
    ct = sim_api.nodes("pve1").lxc(200)  # running
    ct.config.put(mp0="local-lvm:1,mp=/a")
    assert ct.config.get(current=1)["mp0"] == "local-lvm:vm-200-disk-1,mp=/a,size=1G"
    ct.config.put(mp0="local-lvm:vm-200-disk-1,mp=/b,size=1G")
    ct.config.put(delete="mp0")
    pending = {item["key"]: item for item in ct.pending.get()}
    assert pending["mp0"]["value"] == "local-lvm:vm-200-disk-1,mp=/a,size=1G"
    assert pending["mp0"]["delete"] == 1
