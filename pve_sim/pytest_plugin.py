"""pytest fixtures for the simulator.

Use from a conftest.py (pytest only allows ``pytest_plugins`` in the rootdir conftest)::

    from pve_sim.pytest_plugin import pve_sim_server, sim, sim_api  # noqa: F401

or, from the top-level conftest, ``pytest_plugins = ["pve_sim.pytest_plugin"]``.

* ``pve_sim_server`` (session): one HTTPS simulator for the whole run
  (:class:`pve_sim.server.SimServer`: url, host, port, user, token_id, token_secret,
  password, ca_path, env, simulator).
* ``sim`` (function): the same server, reset to the seeded inventory with no faults and an
  empty request log before the test, realism set from ``pve_sim_realism``.
* ``pve_sim_realism`` (function): False; override it in a conftest (``return True``) to run a
  directory's tests with the simulator's realism switch on.
* ``sim_api`` (function): a proxmoxer ``ProxmoxAPI`` with token auth against ``sim``.
"""

import pytest

from .testing import proxmox_client, running_simulator


@pytest.fixture(scope="session")
def pve_sim_server():
    with running_simulator() as server:
        yield server


@pytest.fixture
def pve_sim_realism():
    """Whether ``sim`` resets the simulator with realism on; override in a conftest."""
    return False


@pytest.fixture
def sim(pve_sim_server, pve_sim_realism):
    pve_sim_server.simulator.reset(realism=pve_sim_realism)
    yield pve_sim_server
    pve_sim_server.simulator.clear_faults()


@pytest.fixture
def sim_api(sim):
    return proxmox_client(sim)
