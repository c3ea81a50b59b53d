"""Issue 9.11 through ansible-playbook against the simulator: names with look-alike characters and IPv6 values
with a scope id are refused before any write, as pve-common's formats (pve-bridge-id, pve-lxc-network name,
ipv6) would refuse them, and nothing reaches the guest config."""

from __future__ import annotations

ATTACKS = [
    # (task name, module, arguments, words of the error)
    ("full-width zero", "vm_nic", {"vmid": 101, "interface": "net1", "bridge": "vmbr\uff10"}, "bridge must look like"),
    ("cyrillic a", "vm_nic", {"vmid": 101, "interface": "net1", "bridge": "vmbr\u0430"}, "bridge must look like"),
    ("arabic digit", "container_nic", {"vmid": 201, "interface": "net1", "name": "eth\u0661"}, "name must look like"),
    (
        "scope id",
        "container_nic",
        {"vmid": 201, "interface": "net0", "gw6": "fe80::1%ip=1.2.3.4"},
        "gw6 must be an IPv6 address",
    ),
    (
        "scope id in ip6",
        "container_nic",
        {"vmid": 201, "interface": "net0", "ip6": "fe80::1%eth0/64"},
        "ip6 must be auto, dhcp, manual or an IPv6 address",
    ),
    ("arabic trunks", "vm_nic", {"vmid": 101, "interface": "net0", "trunks": "\u0661\u0660"}, "trunks must look like"),
]


def test_look_alike_names_and_scoped_addresses_are_refused_before_any_write(play, sim):
    before = {vmid: sim.simulator.guest_config(vmid)["config"] for vmid in (101, 201)}
    run = play(
        [
            {
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [
                    {"name": name, f"pve.config.{module}": args, "ignore_errors": True}
                    for name, module, args, _words in ATTACKS
                ],
            }
        ]
    )
    log = sim.simulator.requests()
    for name, _module, _args, words in ATTACKS:
        result = run[name]
        assert result.failed, name
        assert words in result["msg"] and result["msg"].endswith("nothing was changed"), result["msg"]
        assert result.calls(log) == [], name  # refused before the first request
    assert {vmid: sim.simulator.guest_config(vmid)["config"] for vmid in (101, 201)} == before
