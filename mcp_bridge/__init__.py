"""MCP bridge for pve.config: each tool call is one ansible-runner run of a pve.config module."""

__version__ = "1.0.0"
