"""Streamable HTTP: loopback by default, Host/Origin checks against DNS rebinding, bearer tokens.

Listening on a non-loopback address is refused unless bearer tokens are configured; with tokens every request
must carry ``Authorization: Bearer <token>`` that the token verifier accepts, or gets 401 with
``WWW-Authenticate``. The checks are the SDK's own (``mcp.server.auth.middleware``): ``BearerAuthBackend``
asks the verifier, ``AuthContextMiddleware`` makes the token's principal visible to the tool call
(``get_access_token``), ``RequireAuthMiddleware`` answers 401.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jwt
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import ConfigError, HttpSettings, OAuthSettings, is_loopback
from .grants import SCOPES
from .oauth import JwtVerifier, Verifiers
from .tokens import StaticTokens

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
LEGACY_WARNING = (
    "pve-config-mcp: warning: the plain bearer token ([http] token, token_file, PVE_MCP_TOKEN) is deprecated: it "
    "grants every scope (pve:read, pve:write, pve:destroy) as principal 'token'. Use [[http.tokens]] entries "
    "with a hash from `pve-config-mcp hash-token` and their own scopes instead."
)


class RequireBearer:
    """ASGI wrapper: every HTTP request needs a bearer token `verifier` accepts (lifespan passes through),
    except the protected-resource metadata (`metadata_routes`, RFC 9728), which is public; a 401 then names the
    metadata URL in ``WWW-Authenticate`` (``resource_metadata=...``)."""

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        resource_metadata_url: AnyHttpUrl | None = None,
        metadata_routes: Sequence[Route] = (),
    ) -> None:
        self.app = app
        self.guarded = AuthenticationMiddleware(
            AuthContextMiddleware(RequireAuthMiddleware(app, [], resource_metadata_url)),
            backend=BearerAuthBackend(verifier),
        )
        self.metadata_paths = {route.path for route in metadata_routes}
        self.metadata = Starlette(routes=list(metadata_routes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["path"] in self.metadata_paths:
            await self.metadata(scope, receive, send)
        else:
            await self.guarded(scope, receive, send)


def static_tokens(settings: HttpSettings) -> StaticTokens | None:
    """The verifier of the configured static tokens (and the deprecated plain token, with a warning), or None."""
    legacy = settings.bearer_token()
    if legacy:
        print(LEGACY_WARNING, file=sys.stderr, flush=True)
    if not settings.tokens and not legacy:
        return None
    return StaticTokens.from_config(settings.tokens, legacy)


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


def oauth_verifier(settings: OAuthSettings | None) -> JwtVerifier | None:
    if settings is None:
        return None
    try:
        return JwtVerifier(
            settings.issuer,
            settings.resource,
            jwks_file=settings.jwks_file,
            jwks_url=settings.jwks_url,
            algorithms=settings.algorithms,
            leeway=settings.leeway,
        )
    except (ValueError, OSError, jwt.PyJWTError) as exc:
        raise ConfigError(f"[http.oauth]: {exc}") from None


def http_app(mcp: MCPServer, settings: HttpSettings) -> ASGIApp:
    static, issuer = static_tokens(settings), oauth_verifier(settings.oauth)
    if not settings.loopback and static is None and issuer is None:
        raise ConfigError(
            f"refusing to listen on {settings.host}, which is not a loopback address, without bearer tokens: "
            "configure [[http.tokens]] or [http.oauth] (or the deprecated PVE_MCP_TOKEN / [http] token / token_file)"
        )
    app: ASGIApp = mcp.streamable_http_app(
        streamable_http_path=settings.path,
        stateless_http=settings.stateless,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    if static is None and issuer is None:
        return app
    metadata_url, routes = None, []
    if settings.oauth is not None:
        resource = AnyHttpUrl(settings.oauth.resource)
        # RFC 9728 through the SDK: /.well-known/oauth-protected-resource<resource path>
        routes = create_protected_resource_routes(
            resource_url=resource,
            authorization_servers=[AnyHttpUrl(settings.oauth.issuer)],
            scopes_supported=list(SCOPES),
            resource_name="pve-config-mcp",
        )
        metadata_url = build_resource_metadata_url(resource)
    return RequireBearer(app, Verifiers(static, issuer), metadata_url, routes)


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
