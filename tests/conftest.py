"""Shared pytest setup: the collection is importable as ansible_collections.pve.config.

Fixture plugins are registered here (pytest accepts ``pytest_plugins`` only in the top-level conftest):
``harness`` (tests/unit: the ``api`` responses mock), ``ansible_warnings`` (tests/unit) and ``pve_sim.pytest_plugin`` (the HTTPS simulator:
``pve_sim_server``, ``sim``, ``sim_api``).
"""

import os
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for path in (TESTS, TESTS.parent, TESTS / "unit"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from collection_path import collection_root  # noqa: E402

ROOT = collection_root()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT))

pytest_plugins = ["harness", "ansible_warnings", "pve_sim.pytest_plugin"]
