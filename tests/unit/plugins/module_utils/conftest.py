"""Fixtures for module_utils tests: ``pve`` is a real PveApi (token auth) talking to the ``api`` responses mock."""

import pytest
from harness import AUTH

from ansible_collections.pve.config.plugins.module_utils.client import connect


@pytest.fixture
def pve(api):
    return connect(dict(AUTH, api_timeout=5))
