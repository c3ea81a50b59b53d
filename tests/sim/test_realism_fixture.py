"""A module (or conftest) that overrides ``pve_sim_realism`` gets the ``sim`` server with realism on, as
tests/integration/conftest.py does."""

import pytest


@pytest.fixture
def pve_sim_realism():
    return True


def test_sim_is_reset_with_realism_on_when_the_fixture_is_overridden(sim):
    assert sim.simulator.realism is True
