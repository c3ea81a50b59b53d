#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_nic
short_description: Add, change or remove a network interface of a Proxmox VE LXC container
version_added: 1.0.0
description:
  - Manages one network interface (C(netN) config key) of an existing LXC container.
  - With O(state=present) and an empty slot, a new C(veth) interface is added, named V(eth<N>) for slot C(netN)
    and attached to V(vmbr0) unless O(name) and O(bridge) are given; Proxmox generates the MAC address when
    O(hwaddr) is not given, and the module returns it.
  - With O(state=present) and an existing interface, only the options given are compared and changed; every
    other option is kept, including its MAC address and options that a newer Proxmox VE writes and this
    collection does not know.
  - With O(state=absent), the interface in O(interface) is removed; an empty slot is no change.
  - Every write carries the config digest, so a concurrent edit is detected and the change is re-planned.
  - Proxmox applies network changes of a running container at once.
extends_documentation_fragment:
  - pve.config.auth
  - pve.config.guest
  - pve.config.guest.wait
  - pve.config.attributes
attributes:
  idempotent:
    support: partial
    details:
      - Without O(interface) and without O(name), every run adds another interface in the first free slot.
        Give O(interface) (or a O(name)) to make the task idempotent.
      - With O(if_exists=fail), a re-run that names the same O(interface) or O(name) fails instead of reporting no change.
options:
  vmid:
    description:
      - ID of the container. Required here, because O(name) is the name of the interface inside the container
        (not the name of the guest, as in other modules of this collection).
    type: int
    required: true
  state:
    description:
      - V(present) adds the interface or brings its options to the values given; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  interface:
    description:
      - Config slot of the interface, V(net0) to V(net31). This is the key in the container config; the name
        inside the container is O(name).
      - Optional with O(state=present). When omitted, the interface named O(name) is managed if there is one;
        otherwise a new interface is added in the first free slot, which RV(interface) returns.
      - Required with O(state=absent).
    type: str
  name:
    description:
      - Name of the interface inside the container, such as V(eth1). A new interface in slot C(netN) gets V(ethN)
        when not given. Must be unique among the container's interfaces.
      - ASCII letters, digits, V(-), V(_) and V(.) only.
    type: str
  if_exists:
    description:
      - What to do, with O(state=present), when the interface asked for already exists.
      - V(update) compares it with the options given and changes it where it differs.
      - V(fail) adds interfaces only; an O(interface) that is in use (also one whose removal is still pending) or a
        O(name) that an existing interface has is refused before anything is written, naming the existing interface, so an
        existing interface is never changed.
    type: str
    choices: [update, fail]
    default: update
  bridge:
    description:
      - Bridge to attach the interface to. A new interface gets V(vmbr0) when not given.
      - ASCII letters, digits, V(-), V(_) and V(.) only.
    type: str
  hwaddr:
    description:
      - MAC address of the interface (V(BC:24:11:12:34:56)), compared case-insensitively. Must be a unicast address.
      - When not given, an existing interface keeps its MAC address and Proxmox generates one for a new interface.
    type: str
  ip:
    description:
      - IPv4 configuration, V(dhcp), V(manual) or an address with prefix length (V(8) to V(32)) such as
        V(192.0.2.10/24).
    type: str
  gw:
    description:
      - IPv4 default gateway, such as V(192.0.2.1).
    type: str
  ip6:
    description:
      - IPv6 configuration, V(auto) (SLAAC), V(dhcp), V(manual) or an address with prefix length (V(8) to
        V(128)) such as V(2001:db8::10/64). No zone or scope id (V(fe80::1%eth0)).
    type: str
  gw6:
    description:
      - IPv6 default gateway, such as V(2001:db8::1). No zone or scope id.
    type: str
  tag:
    description:
      - VLAN tag, V(1) to V(4094).
    type: int
  firewall:
    description:
      - Whether the Proxmox firewall protects this interface.
    type: bool
  link_down:
    description:
      - Whether the interface is disconnected (like a pulled cable).
    type: bool
  rate:
    description:
      - Rate limit in MB/s (megabytes per second), V(0) or more. A boolean is refused.
    type: raw
  mtu:
    description:
      - MTU of the interface, V(64) to V(65535).
    type: int
notes:
  - Setting an option back to nothing (such as removing a VLAN tag or a gateway) is not supported; set another
    value or remove and re-add the interface.
seealso:
  - module: pve.config.vm_nic
  - module: pve.config.guest_info
author:
  - pve.config contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Give container 200 a DHCP interface on vmbr0 (net0, eth0)
  pve.config.container_nic:
    api_host: pve1.example.com
    api_token_id: automation
    api_token_secret: "{{ vault_pve_token_secret }}"
    vmid: 200
    interface: net0
    ip: dhcp

- name: Add a static interface in VLAN 30 (slot net1, named eth1 inside)
  pve.config.container_nic:
    vmid: 200
    interface: net1
    bridge: vmbr1
    tag: 30
    ip: 192.0.2.10/24
    gw: 192.0.2.1
    ip6: auto
  register: nic

- name: Show its MAC address
  ansible.builtin.debug:
    msg: "{{ nic.name }} ({{ nic.interface }}) has MAC {{ nic.hwaddr }}"

- name: Manage the interface named mgmt wherever it is (added in the first free slot when missing)
  pve.config.container_nic:
    vmid: 200
    name: mgmt
    bridge: vmbr2
    firewall: true

- name: Add an interface named backup, refused if the container already has one by that name
  pve.config.container_nic:
    vmid: 200
    name: backup
    bridge: vmbr1
    if_exists: fail

- name: Remove net1
  pve.config.container_nic:
    vmid: 200
    interface: net1
    state: absent
"""

RETURN = r"""
interface:
  description: Config slot of the interface that was managed (the chosen free slot when O(interface) was not given).
  returned: always
  type: str
  sample: net1
hwaddr:
  description:
    - MAC address of the interface as configured afterwards (generated by Proxmox for a new interface).
    - With O(state=absent), the MAC address of the removed interface (V(null) when the slot was empty).
    - V(null) in check mode for a new interface without O(hwaddr).
  returned: always
  type: str
  sample: BC:24:11:5E:7A:02
name:
  description:
    - Name of the interface inside the container; with O(state=absent), the name of the removed interface
      (V(null) when the slot was empty).
  returned: always
  type: str
  sample: eth1
vmid:
  description: ID of the guest.
  returned: always
  type: int
  sample: 200
node:
  description: Node that runs the guest.
  returned: always
  type: str
  sample: pve1
guest_type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: lxc
diff:
  description: Before and after values of exactly the config keys that change (or would change in check mode).
  returned: always
  type: dict
  sample: {"before": {}, "after": {"net1": "name=eth1,bridge=vmbr1,ip=192.0.2.10/24,gw=192.0.2.1,type=veth"}}
config:
  description:
    - The guest config after the change (pending values applied), as Proxmox writes it; predicted in check mode.
  returned: always
  type: dict
  sample: {"net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:02,ip=dhcp,type=veth", "memory": 512}
pending:
  description:
    - Config keys whose new value takes effect only after a reboot, with that value (V(null) for a pending removal).
  returned: always
  type: dict
  sample: {}
reboot_required:
  description: Whether RV(pending) is not empty.
  returned: always
  type: bool
msg:
  description: One-line summary of what was done.
  returned: always
  type: str
  sample: add net1 of LXC container 200 on pve1
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
    ip_address,
    ip_config,
    mac_address,
    other_nics,
    same_ip,
)

FIELDS = [
    Field("name", "str"),
    BRIDGE,
    Field("hwaddr", "str", check=mac_address),
    Field("ip", "str", check=ip_config(4, ("dhcp", "manual")), same=same_ip),
    Field("gw", "str", check=ip_address(4), same=same_ip),
    Field("ip6", "str", check=ip_config(6, ("auto", "dhcp", "manual")), same=same_ip),
    Field("gw6", "str", check=ip_address(6), same=same_ip),
    TAG,
    FIREWALL,
    LINK_DOWN,
    RATE,
    Field("mtu", "int"),
]


def new_defaults(index):
    return {"name": "eth%d" % index, "bridge": "vmbr0", "type": "veth"}


def check_nic(ctx, slot, values, desired):
    if slot in ctx.config and "name" not in desired:
        return
    for other, nic in other_nics(ctx.config, slot, "lxc_net").items():
        if nic.get("name") == values["name"]:
            hint = "" if "name" in desired else "; give another name"
            raise InvalidRequest(
                "name %s is already used by %s of %s: interface names must be unique%s"
                % (values["name"], other, ctx.guest.label, hint)
            )


CONTAINER_NIC = NicKind(
    "lxc_net",
    FIELDS,
    mac_key="hwaddr",
    match_key="name",
    first_key="name",
    new_defaults=new_defaults,
    check_nic=check_nic,
    result_keys=("hwaddr", "name"),
    inside_name="the name inside the container (that is the option name)",
)


def options():
    # ``name`` is the interface name inside the container, so the container is chosen by vmid only.
    return dict(CONTAINER_NIC.options(), vmid=dict(type="int", required=True))


def main():
    run_config_module(options(), "lxc", CONTAINER_NIC.plan, prepare=CONTAINER_NIC.check_params)


if __name__ == "__main__":
    main()
