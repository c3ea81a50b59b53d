"""Fixtures for unit tests: ``api`` (from harness.py) is a responses.RequestsMock for https://pve.test:8006/api2/json."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest_plugins = ["harness"]
