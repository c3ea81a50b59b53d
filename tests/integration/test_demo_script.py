"""scripts/demo.sh, the README's main command, end to end: simulator up, demo twice, simulator gone."""

from __future__ import annotations

import os
import re
import socket
import subprocess

from collection_path import REPO

STARTED = re.compile(r"Started the Proxmox VE API simulator at https://127\.0\.0\.1:(\d+) .*CA (\S+)/ca\.pem\)")


def run_demo(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROXMOX_")}
    proc = subprocess.run(
        ["bash", "scripts/demo.sh", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    out = proc.stdout + proc.stderr
    started = STARTED.search(out)
    assert started, out[-3000:]
    return proc.returncode, out, int(started.group(1)), started.group(2)


def assert_stopped(port, state_dir):
    assert not os.path.exists(state_dir), "the simulator's state directory was left behind"
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the simulator is still listening"


def test_demo_applies_then_reports_no_change_and_stops_the_simulator():
    rc, out, port, state_dir = run_demo()
    assert rc == 0, out[-3000:]
    recaps = re.findall(r"^localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", out, re.M)
    assert recaps == ["4", "0"], out[-3000:]
    assert "+++ after" in out  # --diff
    assert "Second run reported changed=0" in out
    assert "export PROXMOX_TOKEN_SECRET=" in out  # how to point it at a real Proxmox
    assert_stopped(port, state_dir)


def test_demo_fails_cleanly_and_still_stops_the_simulator():
    rc, out, port, state_dir = run_demo("-e", "web_vmid=999")
    assert rc != 0
    assert "no guest with vmid 999" in out
    assert_stopped(port, state_dir)
