"""Unit tests use the ``api`` fixture of harness.py, registered in tests/conftest.py."""
