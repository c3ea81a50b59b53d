"""Streamable HTTP: loopback by default, Host/Origin checks against DNS rebinding, bearer token.

Listening on a non-loopback address is refused unless a bearer token is configured; with a token every request
must carry ``Authorization: Bearer <token>`` (compared in constant time) or gets 401.
"""

from __future__ import annotations

import hmac
import json
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import ConfigError, HttpSettings, is_loopback

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class BearerAuth:
    """ASGI middleware: every HTTP request needs the bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("empty bearer token")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                given = value
                break
        if not hmac.compare_digest(given, self._expected):
            body = json.dumps({"error": "unauthorized", "error_description": "a valid bearer token is required"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="pve-config-mcp"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.app(scope, receive, send)


def _host_entry(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def transport_security(settings: HttpSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: only loopback names, the bind address and the configured extras."""
    hosts = list(LOOPBACK_HOSTS)
    if not is_loopback(settings.host) and settings.host not in ("0.0.0.0", "::"):
        hosts.append(_host_entry(settings.host))
    allowed_hosts = [f"{h}:*" for h in hosts] + list(hosts) + list(settings.allowed_hosts)
    allowed_origins = [f"http://{h}:*" for h in LOOPBACK_HOSTS] + list(settings.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
    )


def http_app(mcp: MCPServer, settings: HttpSettings) -> ASGIApp:
    token = settings.bearer_token()
    if not settings.loopback and not token:
        raise ConfigError(
            f"refusing to listen on {settings.host}, which is not a loopback address, without a bearer token: "
            "set PVE_MCP_TOKEN (or [http] token / token_file)"
        )
    app: ASGIApp = mcp.streamable_http_app(
        streamable_http_path=settings.path,
        stateless_http=settings.stateless,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    return BearerAuth(app, token) if token else app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one), created before serving so the real port is known."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve_http(app: ASGIApp, settings: HttpSettings, on_exit: Callable[[str], None] | None = None) -> None:
    """Serve `app` (from `http_app`) on settings.host/port; prints the URL on stderr once listening.

    `on_exit(signal name)` is called when uvicorn receives SIGTERM/SIGINT (`Bridge.interrupt`: the runs in
    progress are stopped like a cancel instead of being waited for), before uvicorn shuts down.
    """
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if on_exit is not None:
                on_exit(signal.Signals(sig).name)
            super().handle_exit(sig, frame)

    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"pve-config-mcp: listening on http://{shown}:{port}{settings.path}", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    await Server(config).serve(sockets=[sock])
