"""Fixtures of the integration tests: one HTTPS simulator per session, reset before every test.

``sim`` (from the simulator's pytest plugin, registered in tests/conftest.py) is the running server, reseeded with no faults and an empty
request log, realism on (``pve_sim_realism`` below); ``play`` runs a playbook against it in a real ``ansible-playbook`` process.
"""

from __future__ import annotations

import os

import pytest

from .runner import run_playbook


@pytest.fixture
def pve_sim_realism():
    """The integration tests meet the simulator with realism on (storage rounding, pvestatd lag, partial
    pending writes ...: docs/simulator.md "Realism"), as a real cluster would answer."""
    return True


@pytest.fixture(autouse=True)
def no_inherited_connection(monkeypatch):
    """ansible-runner adds ``envvars`` to the caller's environment: drop a connection the developer's shell may
    carry, so every run talks to the simulator with exactly the credentials a test gives it."""
    for key in [k for k in os.environ if k.startswith("PROXMOX_")]:
        monkeypatch.delenv(key)


def connection_env(server, password=False):
    """The PROXMOX_* variables the modules read (env fallbacks): token auth, or password (ticket) auth."""
    env = {k: v for k, v in server.env.items() if k.startswith("PROXMOX_")}
    if password:
        del env["PROXMOX_TOKEN_ID"], env["PROXMOX_TOKEN_SECRET"]
        env["PROXMOX_PASSWORD"] = server.password
    return env


@pytest.fixture
def play(sim, no_inherited_connection):  # noqa: F811 - the plugin's fixture
    """``play(playbook, check=False, diff=True, password=False, extravars=None)`` -> PlaybookRun."""

    def run(playbook, *, password=False, **kwargs):
        return run_playbook(playbook, connection_env(sim, password=password), **kwargs)

    return run
