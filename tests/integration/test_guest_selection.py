"""Issue 9.12 end to end: a ``node`` that is not a node name never becomes a request path. Real ansible-playbook
runs against the simulator; the simulator's request log proves that nothing reached it (not even the login)."""

from __future__ import annotations

import pytest

from pve_sim.testing import proxmox_client

TRAVERSAL = "pve1/qemu/100/../../../../access"


@pytest.mark.parametrize("password", [False, True], ids=["token", "ticket"])
def test_a_path_traversal_in_node_is_refused_before_any_request(play, sim, password):
    run = play(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: change
      pve.config.vm_resources: {{vmid: 100, node: "{TRAVERSAL}", memory: 1024}}
      ignore_errors: true
    - name: info
      pve.config.guest_info: {{vmid: 100, node: "{TRAVERSAL}"}}
      ignore_errors: true
""",
        password=password,
    )
    assert run.rc == 0, run.describe()
    for task in ("change", "info"):
        result = run[task]
        assert result.failed, result.res
        assert result.msg.startswith(f"node {TRAVERSAL!r} is not a Proxmox node name ("), result.msg
    assert run["change"].msg.endswith("; nothing was changed") and run["change"]["changed"] is False
    assert sim.simulator.requests() == []


def test_a_name_that_pvestatd_has_not_caught_up_with_is_found_and_a_shared_name_is_refused(play, sim):
    # realism on: /cluster/resources shows names from the last pvestatd tick (pve-manager API2Tools.pm)
    assert sim.simulator.realism
    api = proxmox_client(sim)
    api.nodes("pve1").qemu(101).config.put(name="db02")  # renamed; the resources still say db01
    api.nodes("pve1").qemu(100).config.put(name="twin")
    api.nodes("pve1").lxc(200).config.put(hostname="twin")
    stale = {r["vmid"]: r.get("name") for r in api.cluster.resources.get(type="vm")}
    assert stale[101] == "db01" and stale[100] == "web01"
    run = play("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: renamed
      pve.config.vm_resources: {name: db02, cores: 2}
    - name: shared
      pve.config.guest_info: {name: twin}
      ignore_errors: true
""")
    assert run.rc == 0, run.describe()
    renamed = run["renamed"]
    assert renamed["vmid"] == 101 and renamed.changed, renamed.res
    shared = run["shared"]
    assert shared.failed and shared.msg == "2 guests have name 'twin' (vmids 100, 200); give vmid instead", shared.res
