"""``ansible_warnings``: the Ansible warnings a test's code recorded, and none of another test's.

Modules run in-process here, and ``ansible.module_utils.common.warnings`` keeps warnings in one dict for the
whole process (a real module process starts empty); the fixture empties it before and after the test.
"""

from __future__ import annotations

import pytest
from ansible.module_utils.common import warnings


@pytest.fixture
def ansible_warnings():
    """A function returning the messages of the warnings recorded so far in this test."""
    warnings._global_warnings.clear()
    yield lambda: [summary.event.msg for summary in warnings.get_warnings()]
    warnings._global_warnings.clear()
