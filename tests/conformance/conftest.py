"""Fixtures of the conformance suite (docs/conformance.md).

* ``target`` (session): the real cluster named by ``PVE_TEST_VMID`` / ``PVE_TEST_CTID`` and ``PROXMOX_*``, or
  a ``pve_sim`` started here with realism on. Every test id carries the mode (``[real-cluster]`` /
  ``[simulator]``), and the run's header and summary say where it ran.
* ``proxy`` (session): the counting HTTPS forwarder (proxy.py) the modules talk to.
* ``scratch`` (session): the two scratch guests, snapshotted before the first test and restored at the end of
  the session, also after a failure (restore.py); ``restored``: the same, restored after the test too.
* ``play`` (uses ``restored``): runs a playbook in ``ansible-playbook`` (tests/integration/runner.py) through the forwarder;
  returns (PlaybookRun, request log).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from integration.runner import PlaybookRun, run_playbook

from pve_sim.testing import running_simulator

from .proxy import CountingProxy
from .restore import ScratchGuest
from .target import ENVIRONMENT, MODE, REAL, Target, real_target, simulator_target

RAN_AGAINST: list[str] = []  # the target's description, for the terminal summary


def pytest_report_header(config):
    return f"pve.config conformance: {MODE}" + (" (PVE_TEST_VMID/PVE_TEST_CTID set)" if MODE == REAL else "")


@pytest.fixture(scope="session", params=[MODE], ids=[MODE])
def target(request):
    if request.param == REAL:
        chosen = real_target(ENVIRONMENT)
        yield chosen
    else:
        with running_simulator(realism=True) as server:
            yield simulator_target(server, ENVIRONMENT)


@pytest.fixture(scope="session")
def version(target: Target) -> str:
    info = target.api().version.get()
    return f"{info.get('version')} (release {info.get('release')})"


@dataclass
class Scratch:
    vm: ScratchGuest
    ct: ScratchGuest

    def restore(self) -> None:
        problems = []
        for guest in (self.vm, self.ct):
            try:
                guest.restore()
            except Exception as exc:  # noqa: BLE001 - restore both guests, then report every problem
                problems.append(f"{type(exc).__name__}: {exc}")
        assert not problems, "restoring the scratch guests failed: " + " | ".join(problems)


@pytest.fixture(scope="session")
def scratch(target: Target, version: str):
    api = target.api()
    vm = ScratchGuest.locate(api, target.vmid, "qemu", target.storages)
    ct = ScratchGuest.locate(api, target.ctid, "lxc", target.storages)
    vm.snapshot()
    ct.snapshot()
    RAN_AGAINST.append(f"{target.describe()}; Proxmox VE {version}")
    guests = Scratch(vm, ct)
    yield guests
    guests.restore()


@pytest.fixture
def restored(scratch: Scratch):
    """The scratch guests, put back as snapshotted after the test, also when it failed."""
    yield scratch
    scratch.restore()


@pytest.fixture(autouse=True)
def no_inherited_connection(monkeypatch):
    """ansible-runner adds ``envvars`` to the caller's environment: drop the PROXMOX_* variables of the shell so
    the modules reach only the forwarder, with exactly the credentials the target gives them."""
    for key in [k for k in os.environ if k.startswith("PROXMOX_")]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def proxy(target: Target, tmp_path_factory):
    with CountingProxy(target.upstream(), str(tmp_path_factory.mktemp("conformance-tls"))) as forwarder:
        yield forwarder


@pytest.fixture
def play(target: Target, proxy: CountingProxy, restored: Scratch):
    """``play(playbook, **run_playbook options)`` -> (PlaybookRun, request log of the forwarder)."""
    env = {
        "PROXMOX_HOST": f"127.0.0.1:{proxy.port}",
        "PROXMOX_CA_PATH": proxy.ca_path,
        "PROXMOX_VALIDATE_CERTS": "true",
        "PROXMOX_TIMEOUT": "60",
        **target.auth_env(),
    }

    def run(playbook, **kwargs) -> tuple[PlaybookRun, list[dict]]:
        kwargs.setdefault("timeout", 900 if target.real else 300)
        result = run_playbook(playbook, env, **kwargs)
        assert result.rc == 0, f"[{target.mode}] {result.describe()}"
        return result, proxy.log()

    return run


def pytest_terminal_summary(terminalreporter):
    where = RAN_AGAINST[0] if RAN_AGAINST else f"{MODE} (no cycle ran)"
    terminalreporter.write_sep("=", "pve.config conformance", bold=MODE == REAL)
    terminalreporter.write_line(f"ran against: {where}", bold=MODE == REAL)
