"""``ansible_warnings``: the Ansible warnings a test's code recorded, and none of another test's.

Modules run in-process here, and ``ansible.module_utils.common.warnings`` keeps warnings in one dict for the
whole process (a real module process starts empty); the fixture empties it before and after the test.

Once any test of the same process has imported a controller module (a callback or inventory plugin imports
``ansible.plugins.*``), ``ansible.module_utils._internal.is_controller`` is true and ``warn()`` sends warnings
to the controller's Display instead of recording them (ansible-core 2.19); a module process never is the
controller, so the fixture makes it false for the test.
"""

from __future__ import annotations

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings


@pytest.fixture
def ansible_warnings(monkeypatch):
    """A function returning the messages of the warnings recorded so far in this test."""
    monkeypatch.setattr(_internal, "is_controller", False)
    warnings._global_warnings.clear()
    yield lambda: [summary.event.msg for summary in warnings.get_warnings()]
    warnings._global_warnings.clear()
