#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_nic
short_description: Add, change or remove a network interface of a Proxmox VE QEMU virtual machine
version_added: 1.0.0
description:
  - Manages one network device (C(netN) config key) of an existing QEMU VM.
  - With O(state=present) and an empty slot, a new NIC is added with O(model) V(virtio) and O(bridge) V(vmbr0)
    unless given; Proxmox generates the MAC address when O(macaddr) is not given, and the module returns it.
  - With O(state=present) and an existing NIC, only the options given are compared and changed; every other
    option of the NIC is kept, including its MAC address (also when O(model) changes) and options that a newer
    Proxmox VE writes and this collection does not know (such as C(host-tunnel)).
  - With O(state=absent), the NIC in O(interface) is removed; an empty slot is no change.
  - Every write carries the config digest, so a concurrent edit is detected and the change is re-planned.
  - On a running VM, Proxmox hot-plugs NIC changes when the VM's C(hotplug) setting allows it; otherwise they
    stay pending until the next reboot and the result lists them in RV(pending).
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
attributes:
  idempotent:
    support: partial
    details:
      - Without O(interface) (and without a O(macaddr) that an existing NIC already has), every run adds another NIC
        in the first free slot. Give O(interface) to make the task idempotent.
      - With O(if_exists=fail), a re-run that names the same O(interface) or O(macaddr) fails instead of reporting no change.
options:
  state:
    description:
      - V(present) adds the NIC or brings its options to the values given; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  interface:
    description:
      - Config slot of the NIC, V(net0) to V(net31). This is the key in the VM config, not the device name inside
        the guest.
      - Optional with O(state=present). When omitted, the NIC whose MAC address is O(macaddr) is managed if there is
        one; otherwise a new NIC is added in the first free slot, which RV(interface) returns.
      - Required with O(state=absent).
    type: str
  if_exists:
    description:
      - What to do, with O(state=present), when the NIC asked for already exists.
      - V(update) compares it with the options given and changes it where it differs.
      - V(fail) adds NICs only; an O(interface) that is in use (also one whose removal is still pending) or a
        O(macaddr) that an existing NIC has (its MAC address) is refused before anything is written, naming the existing NIC, so an
        existing NIC is never changed.
    type: str
    choices: [update, fail]
    default: update
  bridge:
    description:
      - Bridge to attach the NIC to. A new NIC gets V(vmbr0) when not given.
      - ASCII letters, digits, V(-), V(_) and V(.) only, as Proxmox's C(pve-bridge-id) format.
    type: str
  model:
    description:
      - NIC model. A new NIC gets V(virtio) when not given. Changing the model of an existing NIC keeps its MAC address.
    type: str
    choices: [e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa,
              ne2k_pci, pcnet, rtl8139, virtio, vmxnet3]
  macaddr:
    description:
      - MAC address of the NIC (V(BC:24:11:12:34:56)), compared case-insensitively. Must be a unicast address.
      - When not given, an existing NIC keeps its MAC address and Proxmox generates one for a new NIC.
    type: str
  tag:
    description:
      - VLAN tag, V(1) to V(4094).
    type: int
  firewall:
    description:
      - Whether the Proxmox firewall protects this NIC.
    type: bool
  link_down:
    description:
      - Whether the NIC is disconnected (like a pulled cable).
    type: bool
  rate:
    description:
      - Rate limit in MB/s (megabytes per second), V(0) or more. A boolean is refused.
    type: raw
  mtu:
    description:
      - MTU of the NIC, V(576) to V(65520); V(1) uses the MTU of the bridge. Only supported with O(model=virtio).
    type: int
  queues:
    description:
      - Number of packet queues (multiqueue), V(0) to V(64).
    type: int
  trunks:
    description:
      - VLAN IDs to pass through the NIC, separated by V(;), such as V(10;20;30); ranges such as V(100-110) are
        allowed.
    type: str
notes:
  - Setting an option back to nothing (such as removing a VLAN tag) is not supported; set another value or
    remove and re-add the NIC.
seealso:
  - module: pve.config.container_nic
  - module: pve.config.guest_info
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Put net0 of VM 100 into VLAN 20 behind the firewall (its MAC address and model are kept)
  pve.config.vm_nic:
    api_host: pve1.example.com
    api_token_id: automation
    api_token_secret: "{{ vault_pve_token_secret }}"
    vmid: 100
    interface: net0
    tag: 20
    firewall: true

- name: Add a second NIC on vmbr1 (slot net1), idempotent because the slot is given
  pve.config.vm_nic:
    vmid: 100
    interface: net1
    bridge: vmbr1

- name: Add a NIC in the first free slot with a fixed MAC address (re-runs find it by that MAC)
  pve.config.vm_nic:
    name: web01
    bridge: vmbr0
    model: e1000
    macaddr: BC:24:11:00:00:42
  register: nic

- name: Show where it went
  ansible.builtin.debug:
    msg: "{{ nic.interface }} has MAC {{ nic.macaddr }}"

- name: Add net3 only if it is free (an existing net3 is refused, never changed)
  pve.config.vm_nic:
    vmid: 100
    interface: net3
    bridge: vmbr1
    if_exists: fail

- name: Remove net2
  pve.config.vm_nic:
    vmid: 100
    interface: net2
    state: absent
"""

RETURN = r"""
interface:
  description: Config slot of the NIC that was managed (the chosen free slot when O(interface) was not given).
  returned: always
  type: str
  sample: net1
macaddr:
  description:
    - MAC address of the NIC as configured afterwards (generated by Proxmox for a new NIC).
    - With O(state=absent), the MAC address of the removed NIC (V(null) when the slot was empty).
    - V(null) in check mode for a new NIC without O(macaddr).
  returned: always
  type: str
  sample: BC:24:11:5E:7A:01
vmid:
  description: ID of the guest.
  returned: always
  type: int
  sample: 100
node:
  description: Node that runs the guest.
  returned: always
  type: str
  sample: pve1
guest_type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: qemu
diff:
  description: Before and after values of exactly the config keys that change (or would change in check mode).
  returned: always
  type: dict
  sample: {"before": {"net0": "virtio=BC:24:11:5E:7A:01,bridge=vmbr0"},
           "after": {"net0": "virtio=BC:24:11:5E:7A:01,bridge=vmbr0,tag=20"}}
config:
  description:
    - The guest config after the change (pending values applied), as Proxmox writes it; predicted in check mode.
  returned: always
  type: dict
  sample: {"net0": "virtio=BC:24:11:5E:7A:01,bridge=vmbr0,tag=20", "memory": "2048"}
pending:
  description:
    - Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {"net0": "virtio=BC:24:11:5E:7A:01,bridge=vmbr0,tag=20"}
reboot_required:
  description: Whether RV(pending) is not empty.
  returned: always
  type: bool
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
  sample: update net0 (tag) of QEMU VM 100 on pve1
"""

from ansible_collections.pve.config.plugins.module_utils.apply import run_config_module
from ansible_collections.pve.config.plugins.module_utils.errors import InvalidRequest
from ansible_collections.pve.config.plugins.module_utils.nic import (
    BRIDGE,
    FIREWALL,
    LINK_DOWN,
    RATE,
    TAG,
    Field,
    NicKind,
    mac_address,
)
from ansible_collections.pve.config.plugins.module_utils.validate import choices

FIELDS = [
    BRIDGE,
    Field("model", "str", choices=choices("qemu_net", "model")),
    Field("macaddr", "str", check=mac_address),
    TAG,
    FIREWALL,
    LINK_DOWN,
    RATE,
    Field("mtu", "int"),
    Field("queues", "int"),
    Field("trunks", "str"),
]


def new_defaults(_index):
    return {"model": "virtio", "bridge": "vmbr0"}


def check_nic(ctx, slot, values, desired):
    if values.get("mtu") is not None and values.get("model") != "virtio" and ("mtu" in desired or "model" in desired):
        raise InvalidRequest(
            "mtu is only supported by the virtio model, but %s of %s would be %s"
            % (slot, ctx.guest.label, values.get("model"))
        )


VM_NIC = NicKind(
    "qemu_net",
    FIELDS,
    mac_key="macaddr",
    match_key="macaddr",
    first_key="model",
    new_defaults=new_defaults,
    check_nic=check_nic,
    inside_name="the device name inside the guest (such as eth0 or ens18)",
)


def main():
    run_config_module(VM_NIC.options(), "qemu", VM_NIC.plan, prepare=VM_NIC.check_params)


if __name__ == "__main__":
    main()
