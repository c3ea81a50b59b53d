"""``python -m pve_sim``: starts, prints its coordinates, writes env files, stops on SIGTERM."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_writes_env_and_stops_on_sigterm(tmp_path):
    state_dir = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pve_sim",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            "--token-secret",
            "cli-secret",
            "--password",
            "cli-pass",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(tmp_path),
    )
    try:
        first = proc.stdout.readline()
        m = re.match(r"^pve_sim listening on (https://127\.0\.0\.1:(\d+))$", first.strip())
        assert m, first + proc.stderr.read() if proc.poll() is not None else first
        url, port = m.group(1), int(m.group(2))
        for _attempt in range(7):
            proc.stdout.readline()
        data = json.loads((state_dir / "env.json").read_text())
        assert data["PROXMOX_HOST"] == f"127.0.0.1:{port}"
        assert (data["PROXMOX_USER"], data["PROXMOX_TOKEN_ID"], data["PROXMOX_TOKEN_SECRET"]) == (
            "root@pam",
            "pve-config",
            "cli-secret",
        )
        assert (data["PROXMOX_CA_PATH"], data["PROXMOX_VALIDATE_CERTS"]) == (str(state_dir / "ca.pem"), "true")
        sh = (state_dir / "env.sh").read_text()
        assert sh.startswith(
            f"export PROXMOX_HOST=127.0.0.1:{port} PROXMOX_USER=root@pam PROXMOX_TOKEN_ID=pve-config "
            "PROXMOX_TOKEN_SECRET=cli-secret PROXMOX_CA_PATH="
        )
        assert oct((state_dir / "env.sh").stat().st_mode & 0o777) == "0o600"
        resp = requests.get(
            url + "/api2/json/nodes",
            verify=data["PROXMOX_CA_PATH"],
            timeout=10,
            headers={"Authorization": "PVEAPIToken=root@pam!pve-config=cli-secret"},
        )
        assert [n["node"] for n in resp.json()["data"]] == ["pve1", "pve2"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_refuses_a_non_loopback_address(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "pve_sim", "--host", "0.0.0.0", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "loopback only" in done.stderr
