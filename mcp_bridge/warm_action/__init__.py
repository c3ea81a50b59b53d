"""Ansible action plugins of the bridge's warm runs (put on ANSIBLE_ACTION_PLUGINS by mcp_bridge/pool.py)."""
