"""Packaging: one pip install brings the bridge and the collection it runs.

The slow test builds the wheel, installs it into a throwaway venv (dependencies from the configured package
index) and makes a real tool call against the simulator with the venv's `pve-config-mcp`, from a directory
outside the checkout. Set PVE_CONFIG_SKIP_WHEEL_TEST=1 to skip it on a machine without a package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parents[2]
COLLECTION_PACKAGE = "ansible_collections.pve.config"


def setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def python_dirs(root: Path) -> set[str]:
    return {
        str(d.relative_to(REPO)).replace("/", ".")
        for d in [root, *root.rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    }


def test_the_package_list_covers_the_tree():
    packages = set(setuptools_config()["packages"])
    expected = python_dirs(REPO / "mcp_bridge") | python_dirs(REPO / "pve_sim")
    expected |= {COLLECTION_PACKAGE + "." + p for p in python_dirs(REPO / "plugins")}
    expected |= {COLLECTION_PACKAGE, COLLECTION_PACKAGE + ".plugins"}
    assert packages == expected
    assert setuptools_config()["package-dir"] == {COLLECTION_PACKAGE: "."}


def test_the_console_script_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"pve-config-mcp": "mcp_bridge.cli:main"}


@pytest.mark.skipif(os.environ.get("PVE_CONFIG_SKIP_WHEEL_TEST") == "1", reason="PVE_CONFIG_SKIP_WHEEL_TEST=1")
@pytest.mark.anyio
async def test_wheel_installs_the_bridge_with_its_collection(tmp_path):
    sim_testing = pytest.importorskip("pve_sim.testing")
    wheels, env_dir, outside = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    outside.mkdir()
    pip_env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", str(REPO), "--no-deps", "-w", str(wheels)],
        check=True, env=pip_env, timeout=300,
    )  # fmt: skip
    wheel = next(wheels.glob("pve_config-*.whl"))
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, env=pip_env, timeout=600)
    installed = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    for part in ("galaxy.yml", "meta/runtime.yml", "plugins/modules/vm_resources.py", "plugins/module_utils/apply.py"):
        assert (installed / "ansible_collections" / "pve" / "config" / part).is_file(), part

    script = env_dir / "bin" / "pve-config-mcp"
    help_text = subprocess.run([str(script), "--help"], cwd=outside, check=True, capture_output=True, text=True)
    assert "usage: pve-config-mcp" in help_text.stdout

    with sim_testing.running_simulator() as sim:
        env = {k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")}
        env["PATH"] = os.environ.get("PATH", os.defpath)  # without the checkout's venv first
        check = subprocess.run(
            [str(script), "--check", "--audit-log", "off"],
            cwd=outside,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        assert f"collection: {installed}" in check.stdout
        params = StdioServerParameters(
            command=str(script), args=["--audit-log", str(tmp_path / "audit.jsonl")], env=env, cwd=str(outside)
        )
        async with Client(params) as client:
            info = await client.call_tool("get_guest_config", {"vmid": 100})
            change = await client.call_tool("update_vm_resources", {"vmid": 101, "cores": 6})
        assert not info.is_error and info.structured_content["name"] == "web01"
        assert not change.is_error and change.structured_content["changed"] is True
        assert sim.simulator.guest_config(101)["config"]["cores"] == "6"
