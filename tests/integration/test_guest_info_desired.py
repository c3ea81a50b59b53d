"""guest_info's ``desired`` round trip in ansible-playbook against the simulator (realism on): a VM with disks,
NICs, cloud-init and a CD-ROM, and a container with rootfs, a mount point and two NICs, are shaped with
guest_config, read with guest_info, and ``desired.config`` fed back to guest_config changes nothing (also in
check mode), with no write."""

from __future__ import annotations

import json

ISO = "local:iso/debian-12.8.0-amd64-netinst.iso"
SECRET = "Vault-0nly-pa55"

ROUND_TRIP = """
    - name: read
      pve.config.guest_info: {vmid: %(vmid)d}
      register: info
    - name: preview desired
      pve.config.guest_config:
        vmid: %(vmid)d
        type: "{{ info.desired.type }}"
        config: "{{ info.desired.config }}"
      check_mode: true
    - name: apply desired
      pve.config.guest_config:
        vmid: %(vmid)d
        type: "{{ info.desired.type }}"
        config: "{{ info.desired.config }}"
"""


def playbook(vmid: int, setup: str) -> str:
    return f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: setup
      pve.config.guest_config:
        vmid: {vmid}
{setup}
{ROUND_TRIP % {"vmid": vmid}}
"""


def assert_round_trip(run, sim) -> dict:
    assert run.rc == 0, run.describe()
    log = sim.simulator.requests()
    assert run["setup"].changed, run["setup"].res
    for task in ("preview desired", "apply desired"):
        assert not run[task].changed, (task, run[task]["diff"], run[task]["steps"])
        assert run[task]["steps"] == [] and run[task].writes(log) == []
    assert run["read"].writes(log) == [] and len(run["read"].calls(log)) == 2  # desired costs no extra GET
    return run["read"]["desired"]


def test_vm_with_disks_nics_cloud_init_and_cdrom(play, sim):
    setup = f"""        config:
          ide2: {{file: "{ISO}", media: cdrom}}
          ide0: {{file: "local-lvm:cloudinit", media: cdrom}}
          ciuser: admin
          cipassword: {SECRET}
          sshkeys: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc deploy@host"
          ipconfig0: ip=10.0.0.5/24,gw=10.0.0.1
          nameserver: 10.0.0.1 10.0.0.2
          tags: web;prod
          description: db server
          scsi2: {{storage: local-lvm, size: 2G, iothread: true, discard: "on"}}
          net1: {{model: virtio, bridge: vmbr0, tag: 20}}
          efidisk0: {{storage: local-lvm, size: 4M, efitype: 4m}}"""
    run = play(playbook(101, setup))
    desired = assert_round_trip(run, sim)
    assert SECRET not in run.stdout and SECRET not in json.dumps([r.res for r in run.results])
    config = desired["config"]
    assert desired["type"] == "qemu" and "cipassword" not in config and "meta" not in config
    assert config["scsi0"] == {"storage": "local-lvm", "size": "32G", "iothread": "1"}
    assert config["scsi1"] == {"storage": "local-lvm", "size": "100G", "iothread": "1"}
    assert config["scsi2"]["storage"] == "local-lvm" and config["scsi2"]["discard"] == "on"
    assert config["ide2"] == {"file": ISO, "media": "cdrom"}
    assert config["ide0"]["media"] == "cdrom" and config["ide0"]["file"].startswith("local-lvm:vm-101-cloudinit")
    assert config["net0"]["macaddr"] == "BC:24:11:00:01:01"  # MACs kept
    assert config["net1"]["macaddr"] and config["net1"]["tag"] == "20"
    assert config["efidisk0"]["storage"] == "local-lvm" and config["ciuser"] == "admin"


def test_container_with_rootfs_mount_point_and_nics(play, sim):
    setup = """        type: lxc
        config:
          mp0: {storage: local-lvm, size: 2G, mp: /srv/data, backup: true}
          rootfs: {size: 20G}
          net1: {name: eth1, bridge: vmbr0, ip: 10.0.1.5/24, tag: 30}
          nameserver: 10.0.0.1
          tags: dns"""
    run = play(playbook(201, setup))
    desired = assert_round_trip(run, sim)
    config = desired["config"]
    assert desired["type"] == "lxc" and "unprivileged" not in config
    assert config["rootfs"] == {"storage": "local-lvm", "size": "20G"}
    assert config["mp0"] == {"storage": "local-lvm", "size": "2G", "mp": "/srv/data", "backup": "1"}
    assert config["net0"]["hwaddr"] == "BC:24:11:00:02:01" and config["net1"]["hwaddr"]
