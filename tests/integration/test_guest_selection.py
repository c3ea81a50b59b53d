"""Issue 9.12 end to end: a ``node`` that is not a node name never becomes a request path. Real ansible-playbook
runs against the simulator; the simulator's request log proves that nothing reached it (not even the login)."""

from __future__ import annotations

import pytest

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
