"""pve.config.guest_config in ansible-playbook against the simulator (realism on): cloud-init keys, CD-ROM, tags,
boot order, VM disk create/grow, container mount points and rootfs, if_digest, re-runs and --check --diff."""

from __future__ import annotations

import json

from pve_sim.testing import proxmox_client

from .runner import expect_clean_failures

ISO = "local:iso/debian-12.8.0-amd64-netinst.iso"
SECRET = "Vault-0nly-pa55"


def volumes(sim, node, storage="local-lvm"):
    return {item["volid"] for item in proxmox_client(sim).nodes(node).storage(storage).content.get()}


def config_of(sim, vmid):
    guest = sim.simulator.guest_config(vmid)
    return {**guest["config"], **guest["pending"]}


VM_CONFIG = {
    "ide2": {"file": ISO, "media": "cdrom"},
    "ciuser": "admin",
    "cipassword": SECRET,
    "ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1",
    "nameserver": ["10.0.0.1", "10.0.0.2"],
    "searchdomain": "example.com",
    "sshkeys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc deploy@host\nssh-rsa AAAAB3Nza admin@host\n",
    "description": "managed by guest_config",
    "tags": "Web, prod",
    "boot": "order=scsi0;ide2;net0",
    "net0": {"firewall": False},
    "scsi1": {"size": "101G"},
    "scsi2": {"storage": "local-lvm", "size": "2G", "iothread": True},
}


def playbook(*tasks):
    """One play on localhost with ``tasks`` given as (name, module args[, task keywords])."""
    body = []
    for name, args, *extra in tasks:
        body.append(dict({"name": name, "pve.config.guest_config": args}, **(extra[0] if extra else {})))
    return [{"hosts": "localhost", "gather_facts": False, "tasks": body}]


def test_vm_cloud_init_cdrom_tags_boot_and_disks(play, sim):
    wanted = {"vmid": 101, "config": VM_CONFIG}
    eject = {"vmid": 101, "config": {"ide2": "none,media=cdrom"}}
    run = play(
        playbook(
            ("preview", wanted, {"check_mode": True}),
            ("apply", wanted),
            ("rerun", wanted),
            ("rerun with node", dict(wanted, node="pve1")),
            ("eject", eject),
            ("rerun eject", eject),
        )
    )
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert SECRET not in run.stdout and SECRET not in json.dumps([r.res for r in run.results])

    preview = run["preview"]
    assert preview.changed and preview.writes(log) == []
    assert [s["action"] for s in preview["steps"]] == ["create", "grow", "set"]
    assert preview["diff"]["after"]["cipassword"] == "********"
    assert preview["digest"]

    apply = run["apply"]
    assert apply.changed, apply.res
    assert apply["steps"] == preview["steps"], (apply["steps"], preview["steps"])
    assert apply.writes(log) == [
        ("POST", "/nodes/pve1/qemu/101/config"),
        ("PUT", "/nodes/pve1/qemu/101/resize"),
        ("POST", "/nodes/pve1/qemu/101/config"),
    ]
    assert apply["digest"] == preview["digest"]
    config = apply["config"]
    assert config["ide2"].startswith(ISO + ",media=cdrom") and config["cipassword"] == "**********"
    assert config["ciuser"] == "admin" and config["tags"] == "prod;web" and config["nameserver"] == "10.0.0.1 10.0.0.2"
    assert config["sshkeys"].startswith("ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIAbc%20deploy%40host%0A")
    assert config["boot"] == "order=scsi0;ide2;net0" and "firewall=0" in config["net0"]
    assert "size=101G" in config["scsi1"] and config["scsi2"].startswith("local-lvm:vm-101-disk-2,")
    assert "local-lvm:vm-101-disk-2" in volumes(sim, "pve1")

    rerun = run["rerun"]
    assert not rerun.changed, rerun.res
    assert rerun.writes(log) == [] and len(rerun.calls(log)) == 2
    # vmid and node without type: read as a VM at once, no lookup
    assert run["rerun with node"].calls(log) == [("GET", "/nodes/pve1/qemu/101/pending")]

    assert run["eject"].changed and config_of(sim, 101)["ide2"] == "none,media=cdrom"
    assert not run["rerun eject"].changed


def test_container_mount_point_create_grow_detach_and_purge(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: create
      pve.config.guest_config:
        vmid: 201
        type: lxc
        config:
          mp0: {storage: local-lvm, size: 2G, mp: /srv/data, backup: true}
          rootfs: {size: 20G}
    - name: rerun
      pve.config.guest_config:
        vmid: 201
        config:
          mp0: {storage: local-lvm, size: 2G, mp: /srv/data, backup: true}
          rootfs: {size: 20G}
    - name: grow
      pve.config.guest_config: {vmid: 201, node: pve2, type: lxc, config: {mp0: {size: 3G}}}
    - name: preview purge
      pve.config.guest_config: {vmid: 201, absent: [mp0], purge: true}
      check_mode: true
    - name: purge
      pve.config.guest_config: {vmid: 201, absent: [mp0], purge: true}
    - name: rerun purge
      pve.config.guest_config: {vmid: 201, absent: [mp0], purge: true}
""")
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()

    create = run["create"]
    assert create.changed and [s["action"] for s in create["steps"]] == ["create", "grow"]
    assert create.writes(log) == [("PUT", "/nodes/pve2/lxc/201/config"), ("PUT", "/nodes/pve2/lxc/201/resize")]
    volume = create["config"]["mp0"].split(",")[0]
    assert volume == "local-lvm:vm-201-disk-1"
    assert "size=20G" in create["config"]["rootfs"]
    assert not run["rerun"].changed and run["rerun"].writes(log) == []

    grow = run["grow"]
    assert grow.changed and grow.writes(log) == [("PUT", "/nodes/pve2/lxc/201/resize")]
    assert "size=3G" in grow["config"]["mp0"] and len(grow.calls(log)) > 2

    preview = run["preview purge"]
    assert preview.writes(log) == [] and preview["destroyed_volumes"] == [volume]
    assert [s["action"] for s in preview["steps"]] == ["delete", "purge"]

    purge = run["purge"]
    assert purge.changed and purge["destroyed_volumes"] == [volume]
    assert purge.writes(log) == [("PUT", "/nodes/pve2/lxc/201/config"), ("PUT", "/nodes/pve2/lxc/201/config")]
    assert "mp0" not in config_of(sim, 201) and not any(k.startswith("unused") for k in config_of(sim, 201))
    assert volume not in volumes(sim, "pve2")
    assert not run["rerun purge"].changed


def test_if_digest_binds_the_run_to_the_reviewed_config(play, sim):
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: plan
      pve.config.guest_config: {vmid: 200, config: {description: reviewed}}
      check_mode: true
      register: planned
    - name: someone else changes the guest
      pve.config.container_resources: {vmid: 200, cores: 2}
    - name: apply the stale plan
      pve.config.guest_config: {vmid: 200, config: {description: reviewed}, if_digest: "{{ planned.digest }}"}
      ignore_errors: true
    - name: plan again
      pve.config.guest_config: {vmid: 200, config: {description: reviewed}}
      check_mode: true
      register: again
    - name: apply the fresh plan
      pve.config.guest_config: {vmid: 200, config: {description: reviewed}, if_digest: "{{ again.digest }}"}
""")
    log = sim.simulator.requests()
    expect_clean_failures(run, {"apply the stale plan": "changed since the plan was made"})
    assert run["apply the stale plan"].writes(log) == []
    assert run["apply the fresh plan"].changed
    assert run["apply the fresh plan"].writes(log) == [("PUT", "/nodes/pve1/lxc/200/config")]


def test_check_diff_writes_nothing_and_bad_keys_are_refused(play, sim):
    before = sim.simulator.guest_config(100)
    run = play(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: preview
      pve.config.guest_config:
        vmid: 100
        config: {cores: 4, scsi1: {storage: local-lvm, size: 1G}, tags: x}
        absent: [vmgenid]
    - name: read-only key
      pve.config.guest_config: {vmid: 100, config: {digest: abc}}
      ignore_errors: true
    - name: wrong type
      pve.config.guest_config: {vmid: 100, type: lxc, config: {cores: 4}}
      ignore_errors: true
""",
        check=True,
    )
    log = sim.simulator.requests()
    assert run["preview"].changed and run["preview"].writes(log) == []
    assert [s["action"] for s in run["preview"]["steps"]] == ["create", "set", "delete"]
    expect_clean_failures(run, {"read-only key": "digest cannot be managed", "wrong type": "not type lxc"})
    assert [e for e in log if e["method"] != "GET"] == []
    assert sim.simulator.guest_config(100) == before


def test_two_guests_managed_entirely_from_host_vars(play, sim):
    """playbooks/guests_from_host_vars.yml: --check --diff writes nothing, the run applies both host_vars, a
    re-run changes nothing."""
    book, hosts = "playbooks/guests_from_host_vars.yml", "playbooks/guests_from_host_vars/hosts.yml"
    check = play(book, check=True, inventory=hosts)
    assert check.rc == 0, check.describe()
    assert check.changed_count() == 2
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []

    apply = play(book, inventory=hosts)
    assert apply.rc == 0, apply.describe()
    assert apply.changed_count() == 2 and apply.failed_count() == 0
    web01, dns01 = config_of(sim, 100), config_of(sim, 200)
    assert web01["tags"] == "ansible;web" and web01["ciuser"] == "deploy" and "discard=on" in web01["scsi1"]
    assert "size=10G" in dns01["rootfs"] and "mp=/var/lib/unbound" in dns01["mp0"]

    sim.simulator.clear_requests()
    rerun = play(book, inventory=hosts)
    assert rerun.rc == 0, rerun.describe()
    assert rerun.changed_count() == 0
    assert [e for e in sim.simulator.requests() if e["method"] != "GET"] == []


def cloudinit_pending(sim, vmid, node="pve1"):
    """GET .../cloudinit: the cloud-init options whose drive is out of date (pending or delete items)."""
    items = proxmox_client(sim).nodes(node).qemu(vmid).cloudinit.get()
    return sorted(item["key"] for item in items if "pending" in item or item.get("delete"))


def test_cloud_init_drive_of_a_running_vm_is_regenerated(play, sim):
    drive = {"vmid": 100, "config": {"scsi5": "local-lvm:cloudinit"}}
    user = {"vmid": 100, "config": {"ciuser": "deploy", "sshkeys": "ssh-ed25519 AAAAC3Nza deploy@host"}}
    run = play(
        playbook(
            ("add the drive", drive),
            ("add the drive again", drive),
            ("preview", user, {"check_mode": True}),
            ("cloud-init user", user),
            ("rerun", user),
        )
    )
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert run["add the drive"].changed and not run["add the drive again"].changed
    assert [s["action"] for s in run["preview"]["steps"]] == ["set", "cloudinit"]
    done = run["cloud-init user"]
    assert [s["action"] for s in done["steps"]] == ["set", "cloudinit"]
    assert done.writes(log) == [("PUT", "/nodes/pve1/qemu/100/config"), ("PUT", "/nodes/pve1/qemu/100/cloudinit")]
    assert not done["reboot_required"]
    assert cloudinit_pending(sim, 100) == []
    assert not run["rerun"].changed
    # the same change without the regeneration leaves the drive stale, as qemu-server does
    proxmox_client(sim).nodes("pve1").qemu(100).config.put(ciuser="other")
    assert cloudinit_pending(sim, 100) == ["ciuser"]


def test_reboot_prediction_matches_what_the_simulator_leaves_pending(play, sim):
    """web01 (running, default hotplug) and dns01 (running container): --check predicts the pending keys, the run
    leaves exactly those pending, reboot: if_needed applies them."""
    vm = {"vmid": 100, "config": {"cores": 3, "description": "x", "net0": {"firewall": False}, "serial0": "socket"}}
    ct = {"vmid": 200, "config": {"swap": 256, "hostname": "dns02", "cores": 2, "nameserver": "10.0.0.53"}}
    run = play(
        playbook(
            ("predict vm", vm, {"check_mode": True}),
            ("apply vm", vm),
            ("predict ct", ct, {"check_mode": True}),
            ("apply ct", ct),
            ("reboot vm", dict(vm, reboot="if_needed")),
            ("rerun vm", dict(vm, reboot="if_needed")),
        )
    )
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    for guest in ("vm", "ct"):
        predicted, applied = run["predict " + guest], run["apply " + guest]
        assert predicted.writes(log) == [] and predicted["reboot_required"] is True
        assert predicted["pending_predicted"] == sorted(applied["pending"]), (guest, predicted.res, applied.res)
        assert applied["reboot_required"] is True and applied["rebooted"] is False
    assert run["predict vm"]["pending_predicted"] == ["cores", "serial0"]
    assert run["predict ct"]["pending_predicted"] == ["nameserver"]  # swap, hostname, cores: hot-applied

    reboot = run["reboot vm"]
    assert not reboot.changed or reboot["rebooted"], reboot.res  # nothing left to set: only the reboot
    assert reboot["rebooted"] is True and reboot["pending"] == {} and reboot["reboot_required"] is False
    assert ("POST", "/nodes/pve1/qemu/100/status/reboot") in reboot.writes(log)
    assert [s["action"] for s in reboot["steps"]] == ["reboot"]
    guest = sim.simulator.guest_config(100)
    assert guest["pending"] == {} and guest["config"]["cores"] == "3" and guest["config"]["serial0"] == "socket"
    rerun = run["rerun vm"]
    assert not rerun.changed and rerun["rebooted"] is False and rerun.writes(log) == []
