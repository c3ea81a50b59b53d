"""pve.config.container_mountpoint in ansible-playbook against the simulator (realism on): add, grow, rootfs grow,
detach, purge, bind mounts, pending on a running container, and bad input (a clear error and no write)."""

from __future__ import annotations

from pve_sim.testing import proxmox_client

from .runner import expect_clean_failures


def volumes(sim, node, storage="local-lvm"):
    """Volume ids on a storage, read through the API like a user would (GET .../storage/X/content)."""
    return {item["volid"] for item in proxmox_client(sim).nodes(node).storage(storage).content.get()}


def test_add_grow_rootfs_detach_and_purge_on_a_stopped_container(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp0, storage: local-lvm, size: 2G, path: /srv/data}
      check_mode: true
    - name: create
      pve.config.container_mountpoint:
        {vmid: 201, mountpoint: mp0, storage: local-lvm, size: 2G, path: /srv/data, backup: true}
    - name: rerun
      pve.config.container_mountpoint:
        {vmid: 201, mountpoint: mp0, storage: local-lvm, size: 2G, path: /srv/data, backup: true}
    - name: grow and set ro
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp0, size: 3G, ro: true}
    - name: rerun grow
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp0, size: 3G, ro: true}
    - name: rootfs grow
      pve.config.container_mountpoint: {name: proxy01, mountpoint: rootfs, size: 20G}
    - name: first free slot
      pve.config.container_mountpoint: {vmid: 201, storage: local-lvm, size: 512M, path: /cache}
    - name: detach
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp0, state: absent}
    - name: purge the other
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp1, state: absent, purge: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    path = "/nodes/pve2/lxc/201"

    preview = run["preview"]
    assert preview.changed and preview.writes(log) == []
    assert preview["diff"] == {"before": {}, "after": {"mp0": "local-lvm:2,mp=/srv/data"}}

    create = run["create"]
    assert create.changed and create.writes(log) == [("PUT", path + "/config")]
    assert create["volume"] == "local-lvm:vm-201-disk-1" and create["size"] == "2G"
    assert create["config"]["mp0"] == "local-lvm:vm-201-disk-1,mp=/srv/data,backup=1,size=2G"
    rerun = run["rerun"]
    assert not rerun.changed and rerun.writes(log) == [] and len(rerun.calls(log)) <= 2

    grow = run["grow and set ro"]
    assert grow.writes(log) == [("PUT", path + "/resize"), ("PUT", path + "/config")]
    assert ":resize:201:" in grow["task"]
    assert grow["config"]["mp0"] == "local-lvm:vm-201-disk-1,mp=/srv/data,backup=1,ro=1,size=3G"
    assert not run["rerun grow"].changed

    rootfs = run["rootfs grow"]
    assert rootfs.writes(log) == [("PUT", path + "/resize")]
    assert rootfs["config"]["rootfs"] == "local-lvm:vm-201-disk-0,size=20G"

    free = run["first free slot"]
    assert free["mountpoint"] == "mp1" and free["volume"] == "local-lvm:vm-201-disk-2"

    detach = run["detach"]
    assert detach.writes(log) == [("PUT", path + "/config")]
    assert detach["config"]["unused0"] == "local-lvm:vm-201-disk-1" and "mp0" not in detach["config"]

    purge = run["purge the other"]
    assert purge.writes(log) == [("PUT", path + "/config"), ("PUT", path + "/config")]
    assert purge["destroyed_volume"] == "local-lvm:vm-201-disk-2"

    on_storage = volumes(sim, "pve2")
    assert "local-lvm:vm-201-disk-1" in on_storage and "local-lvm:vm-201-disk-2" not in on_storage
    config = sim.simulator.guest_config(201)["config"]
    assert config["unused0"] == "local-lvm:vm-201-disk-1" and "mp1" not in config


def test_running_container_hotplugs_new_mount_points_and_keeps_the_rest_pending(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: add
      pve.config.container_mountpoint: {vmid: 200, mountpoint: mp0, storage: local-lvm, size: 1G, path: /data}
    - name: grow while running
      pve.config.container_mountpoint: {vmid: 200, mountpoint: mp0, size: 2G}
    - name: move the path
      pve.config.container_mountpoint: {vmid: 200, mountpoint: mp0, path: /srv}
    - name: rerun move
      pve.config.container_mountpoint: {vmid: 200, mountpoint: mp0, path: /srv}
    - name: purge
      pve.config.container_mountpoint: {vmid: 200, mountpoint: mp0, state: absent, purge: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    add = run["add"]
    assert add.changed and add["pending"] == {} and add["reboot_required"] is False  # hot-plugged
    grow = run["grow while running"]
    assert grow.writes(log) == [("PUT", "/nodes/pve1/lxc/200/resize")] and grow["size"] == "2G"

    move = run["move the path"]
    assert move.changed and move["reboot_required"] is True
    assert move["pending"] == {"mp0": "local-lvm:vm-200-disk-1,mp=/srv,size=2G"}
    assert "(pending until reboot: mp0)" in move.msg
    rerun = run["rerun move"]
    assert not rerun.changed and rerun["reboot_required"] is True

    purge = run["purge"]
    assert purge.writes(log) == [("PUT", "/nodes/pve1/lxc/200/config")]
    assert "destroyed_volume" not in purge.res and purge["pending"]["mp0"] is None
    assert "the removal is pending until the container reboots" in purge.msg
    assert "local-lvm:vm-200-disk-1" in volumes(sim, "pve1")
    guest = sim.simulator.guest_config(200)
    assert guest["config"]["mp0"].startswith("local-lvm:vm-200-disk-1,") and "mp0" in guest["delete"]


BIND = "{vmid: 201, mountpoint: mp2, volume: /srv/media, path: /media, ro: true}"


def test_bind_mount_as_root_and_refused_for_a_token(play, sim):
    root = play(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - {{name: add, pve.config.container_mountpoint: {BIND}}}
    - {{name: rerun, pve.config.container_mountpoint: {BIND}}}
""",
        password=True,
    )
    assert root.rc == 0, root.describe()
    assert root["add"].changed and root["add"]["config"]["mp2"] == "/srv/media,mp=/media,ro=1"
    assert not root["rerun"].changed
    sim.simulator.clear_requests()
    digest = sim.simulator.guest_config(201)["digest"]

    token = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: token bind
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp3, volume: /srv/other, path: /other}
      ignore_errors: true
    - name: token change
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp2, ro: false}
      ignore_errors: true
    - name: purge a bind mount
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp2, state: absent, purge: true}
      ignore_errors: true
""")
    assert token.rc == 0, token.describe()
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []
    assert sim.simulator.guest_config(201)["digest"] == digest
    expect_clean_failures(
        token,
        {
            "token bind": "needs api_user root@pam with api_password",
            "token change": "needs api_user root@pam with api_password",
            "purge a bind mount": "there is no volume to destroy",
        },
    )

    remove = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: remove with a token
      pve.config.container_mountpoint: {vmid: 201, mountpoint: mp2, state: absent}
""")
    assert remove.rc == 0, remove.describe()
    assert remove["remove with a token"].changed and "mp2" not in sim.simulator.guest_config(201)["config"]
    assert not [k for k in sim.simulator.guest_config(201)["config"] if k.startswith("unused")]


def test_bad_input_fails_clearly_without_a_write(play, sim):
    before = volumes(sim, "pve1")
    digests = {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in (200, 201)}
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: shrink, pve.config.container_mountpoint: {vmid: 200, mountpoint: rootfs, size: 4G},
       ignore_errors: true}
    - {name: slot in use, pve.config.container_mountpoint:
         {vmid: 200, mountpoint: rootfs, size: 8G, if_exists: fail}, ignore_errors: true}
    - {name: storage without rootdir, pve.config.container_mountpoint:
         {vmid: 200, mountpoint: mp0, storage: local, size: 1G, path: /x}, ignore_errors: true}
    - {name: disabled storage, pve.config.container_mountpoint:
         {vmid: 200, mountpoint: mp0, storage: old-nfs, size: 1G, path: /x}, ignore_errors: true}
    - {name: no path, pve.config.container_mountpoint:
         {vmid: 200, mountpoint: mp0, storage: local-lvm, size: 1G}, ignore_errors: true}
    - {name: bad path, pve.config.container_mountpoint:
         {vmid: 200, mountpoint: mp0, storage: local-lvm, size: 1G, path: /srv/../etc}, ignore_errors: true}
    - {name: rootfs absent, pve.config.container_mountpoint: {vmid: 200, mountpoint: rootfs, state: absent},
       ignore_errors: true}
    - {name: a VM, pve.config.container_mountpoint: {vmid: 100, mountpoint: mp0, storage: local-lvm, size: 1G,
       path: /x}, ignore_errors: true}
""")
    assert run.rc == 0, run.describe()
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []
    assert {vmid: sim.simulator.guest_config(vmid)["digest"] for vmid in digests} == digests
    assert volumes(sim, "pve1") == before
    expect_clean_failures(
        run,
        {
            "shrink": "shrinking it to 4G is not supported",
            "slot in use": "mount point rootfs of LXC container 200 is in use",
            "storage without rootdir": "storage 'local' cannot hold rootdir",
            "disabled storage": "disabled",
            "no path": "needs path",
            "bad path": "illegal character sequences",
            "rootfs absent": "rootfs cannot be removed",
            "a VM": "100",
        },
    )
