"""Headless Chromium for the tests that render HTML (the drift report, the MCP App view of the plan tools): find
or install the browser, run it with a throw-away profile. Tests that need it are skipped, with the reason, where no
Chromium can be had."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest


def chromium() -> str:
    """Debian's chromium, installed here when missing and possible; else the test is skipped, with the reason."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no chromium on PATH and apt-get is not usable here (not root or not Debian): browser test skipped")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd, limit in ((["apt-get", "update", "-qq"], 300), (["apt-get", "install", "-y", "-qq", "chromium"], 600)):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"installing chromium timed out ({' '.join(cmd)}): browser test skipped")
        if done.returncode != 0:
            pytest.skip(f"installing chromium failed ({' '.join(cmd)}): {done.stderr.strip()[-300:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium but it is not on PATH: browser test skipped")
    return found


def headless(browser: str, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="pve-chromium-")
    try:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                 "--user-data-dir=" + profile, "--virtual-time-budget=3000"]  # fmt: skip
        return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=45, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
