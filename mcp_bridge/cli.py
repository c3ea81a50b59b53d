"""Command line: `pve-config-mcp` / `python -m mcp_bridge`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import MutableMapping, Sequence

import anyio

from . import __version__
from .collection import CollectionNotFound
from .config import DEFAULT_AUDIT_LOG, PLAN_KEY_ENV, TOKEN_ENV, Config, ConfigError, load
from .runner import SECRET_ENV
from .server import Bridge, build_server
from .stdio import serve_stdio
from .tokens import hash_token, new_token
from .tools import TOOLS


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pve-config-mcp",
        description="MCP server that configures Proxmox VE guests through the pve.config Ansible modules. "
        "The Proxmox connection comes from PROXMOX_HOST, PROXMOX_USER, PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET "
        "(or PROXMOX_PASSWORD), PROXMOX_VALIDATE_CERTS and PROXMOX_CA_PATH, or the [proxmox] table of --config.",
        epilog=f"Tools: {', '.join(spec.name for spec in TOOLS)}. The HTTP bearer token is read from {TOKEN_ENV} "
        "or the config file, never from the command line. `pve-config-mcp hash-token` makes a static token and its "
        "hash for [[http.tokens]].",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--config", "-c", metavar="FILE", help="TOML or YAML configuration file")
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    p.add_argument("--host", help="HTTP bind address (default 127.0.0.1; others need a bearer token)")
    p.add_argument("--port", type=int, help="HTTP port (default 8765, 0 = any free port)")
    p.add_argument("--path", help="HTTP endpoint path (default /mcp)")
    p.add_argument("--stateless", action="store_true", default=None, help="stateless streamable HTTP")
    p.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        metavar="HOST[:PORT]",
        help="extra Host header value to accept (repeatable)",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        dest="allowed_origins",
        metavar="ORIGIN",
        help="extra Origin header value to accept (repeatable)",
    )
    p.add_argument("--token-file", help="file holding the HTTP bearer token")
    p.add_argument("--read-only", action="store_true", default=None, help="offer only read-only tools")
    p.add_argument("--tools", type=_csv, help="comma-separated allow-list of tools")
    p.add_argument("--vmids", type=_csv, help="comma-separated allow-list of VMIDs or ranges (100,200-299)")
    p.add_argument("--pools", type=_csv, help="comma-separated allow-list of pools")
    p.add_argument("--max-parallel", type=int, help="parallel module runs on different guests (default 4)")
    p.add_argument("--timeout", type=float, help="seconds per call before the run is stopped (default 300)")
    p.add_argument(
        "--audit-log", metavar="PATH", help=f"JSON-lines audit log, '-' for stderr, 'off' (default {DEFAULT_AUDIT_LOG})"
    )
    p.add_argument("--collections-path", help="directory holding ansible_collections/pve/config")
    p.add_argument(
        "--no-warm",
        dest="warm",
        action="store_false",
        default=None,
        help="start every run at the call (cold), no runs waiting ahead of calls",
    )
    p.add_argument("--warm-size", type=int, help="runs waiting ahead of calls, per module (default 1)")
    p.add_argument(
        "--no-fork-server",
        dest="fork_server",
        action="store_false",
        default=None,
        help="warm runs start the module with the plain interpreter instead of the pre-loaded one",
    )
    p.add_argument(
        "--plan-key-file",
        help=f"file holding the key that signs plans (or {PLAN_KEY_ENV}); default: a new key per process, so only "
        "this process can apply its plans",
    )
    p.add_argument("--plan-ttl", type=float, help="seconds a plan stays valid (default 900)")
    p.add_argument(
        "--task-ttl", type=float, help="seconds a task of a long call is kept after the call ended (default 3600)"
    )
    p.add_argument(
        "--approval",
        choices=("model", "human"),
        help="who approves destructive calls: model (confirm / elicitation, the default) or human (a person, on "
        "the approval page or with `pve-config-mcp approve ID`)",
    )
    p.add_argument("--approval-dir", help="0700 directory of the approval socket (default $XDG_RUNTIME_DIR/...)")
    p.add_argument("--resource-ttl", type=float, help="seconds a read of the pve:// resources is reused (default 5)")
    p.add_argument("--check", action="store_true", help="validate the configuration, print a summary and exit")
    return p


def configure(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, Config]:
    ns = parser().parse_args(argv)
    overrides = {
        "bridge": {
            "read_only": ns.read_only,
            "tools": ns.tools,
            "vmids": ns.vmids,
            "pools": ns.pools,
            "max_parallel": ns.max_parallel,
            "timeout": ns.timeout,
            "audit_log": ns.audit_log,
            "collections_path": ns.collections_path,
            "warm": ns.warm,
            "warm_size": ns.warm_size,
            "fork_server": ns.fork_server,
            "plan_key_file": ns.plan_key_file,
            "plan_ttl": ns.plan_ttl,
            "task_ttl": ns.task_ttl,
            "approval": ns.approval,
            "approval_dir": ns.approval_dir,
            "resource_ttl": ns.resource_ttl,
        },
        "http": {
            "host": ns.host,
            "port": ns.port,
            "path": ns.path,
            "stateless": ns.stateless,
            "allowed_hosts": ns.allowed_hosts,
            "allowed_origins": ns.allowed_origins,
            "token_file": ns.token_file,
        },
    }
    return ns, load(ns.config, overrides=overrides)


def forget_secrets(environ: MutableMapping[str, str]) -> None:
    """Drop the secrets from the bridge's own environment once they are in its configuration: no process the
    bridge starts inherits them (the runs get theirs through the launcher, see runner.py)."""
    for name in (*SECRET_ENV, TOKEN_ENV, PLAN_KEY_ENV):
        environ.pop(name, None)


def hash_token_command(argv: Sequence[str]) -> int:
    """`pve-config-mcp hash-token [--stdin]`: a new random token and its hash, or the hash of the token on stdin,
    for a [[http.tokens]] entry. The token itself is printed once and stored nowhere."""
    p = argparse.ArgumentParser(
        prog="pve-config-mcp hash-token",
        description="Make a new static bearer token (printed once) and the hash to put in [[http.tokens]].",
    )
    p.add_argument("--stdin", action="store_true", help="hash the token read from stdin instead of making one")
    ns = p.parse_args(argv)
    token = sys.stdin.readline().strip() if ns.stdin else new_token()
    try:
        digest = hash_token(token)
    except ValueError as exc:
        print(f"pve-config-mcp: {exc}", file=sys.stderr)
        return 2
    if not ns.stdin:
        print(f"token: {token}")
    print(f'hash = "{digest}"')
    return 0


def http_principals(config: Config) -> str:
    """Who may call over HTTP, for --check: the static tokens with their scopes, the OAuth issuer."""
    http = config.http
    found = [f"{t.name} ({' '.join(t.scopes)})" for t in http.tokens]
    if http.token is not None or http.token_file:
        found.append("token (deprecated plain token: every scope)")
    if http.oauth is not None:
        found.append(f"oauth:<sub> of {http.oauth.issuer} for {http.oauth.resource} (the token's scopes)")
    return "; ".join(found) or "none (loopback only, as local)"


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["hash-token"]:
        return hash_token_command(argv[1:])
    if argv[:1] in (["approve"], ["reject"], ["approvals"]):
        from .approval_cli import approval_command

        return approval_command(argv[0], argv[1:])
    try:
        ns, config = configure(argv)
        config.proxmox.check()
        bridge = Bridge(config)
        mcp = build_server(bridge)
        if ns.check:
            tools = ", ".join(spec.name for spec in bridge.policy.enabled(TOOLS))
            print(f"pve-config-mcp {__version__}: Proxmox {config.proxmox.host} as {config.proxmox.user}")
            print(f"collection: {bridge.runner.collections_path}")
            print(f"tools: {tools}")
            print(f"http principals: {http_principals(config)}")
            print(f"runs: {'warm' if config.bridge.warm and config.bridge.warm_size else 'cold'}")
            print(f"approval: {config.bridge.approval}")
            return 0
        if ns.transport == "http":
            from .transport import http_app, serve_http

            app = http_app(mcp, config.http)  # refuses an unsafe configuration before anything listens
            if bridge.approvals is not None:
                from .approval_page import ApprovalPage

                app = ApprovalPage(app, bridge.approvals, config.http.path)
            forget_secrets(os.environ)
            bridge.start()
            try:
                anyio.run(serve_http, app, config.http, bridge.interrupt)
            finally:
                bridge.stop()
        else:
            forget_secrets(os.environ)
            bridge.start()
            try:
                anyio.run(serve_stdio, mcp, bridge)
            finally:
                bridge.stop()
    except (ConfigError, CollectionNotFound, ValueError, OSError) as exc:
        print(f"pve-config-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
