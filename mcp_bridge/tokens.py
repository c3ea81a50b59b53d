"""Static bearer tokens, stored hashed: ``sha256:<hex>`` of a random token of at least 32 characters.

A token made by ``pve-config-mcp hash-token`` is 43 URL-safe characters from `secrets` (256 bits): at that
entropy a plain SHA-256 cannot be reversed by guessing, so no slow hash is needed, and the check costs one
hash per request whatever the number of tokens. Shorter tokens are refused. The presented token's hash is
compared with every configured hash in constant time (`hmac.compare_digest`), all of them, so the time does
not tell which entry (or whether any) matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from mcp.server.auth.provider import AccessToken

PREFIX = "sha256:"
MIN_LENGTH = 32
LEGACY_NAME = "token"  # the principal of the deprecated plain `token` / PVE_MCP_TOKEN


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    if len(token) < MIN_LENGTH:
        raise ValueError(f"a static token needs at least {MIN_LENGTH} characters (use hash-token to make one)")
    return PREFIX + hashlib.sha256(token.encode()).hexdigest()


def check_hash(value: str) -> str:
    digest = value.removeprefix(PREFIX)
    if not value.startswith(PREFIX) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("a token hash is 'sha256:' and 64 lower-case hex digits (pve-config-mcp hash-token)")
    return value


@dataclass(frozen=True)
class StaticToken:
    name: str
    digest: bytes  # the SHA-256 of the token
    scopes: tuple[str, ...]


class StaticTokens:
    """`mcp.server.auth.provider.TokenVerifier` for the configured static tokens."""

    def __init__(self, tokens: Iterable[StaticToken]) -> None:
        self.tokens = tuple(tokens)

    @classmethod
    def from_config(cls, entries: Iterable[object], legacy: str | None = None) -> StaticTokens:
        """`entries`: config.StaticTokenSettings; `legacy`: the deprecated plain token (all scopes)."""
        tokens = [
            StaticToken(e.name, bytes.fromhex(e.hash.removeprefix(PREFIX)), tuple(e.scopes))  # type: ignore[attr-defined]
            for e in entries
        ]
        if legacy:
            from .grants import SCOPES

            tokens.append(StaticToken(LEGACY_NAME, hashlib.sha256(legacy.encode()).digest(), SCOPES))
        return cls(tokens)

    def match(self, token: str) -> StaticToken | None:
        presented = hashlib.sha256(token.encode()).digest()
        found = None
        for entry in self.tokens:
            if hmac.compare_digest(presented, entry.digest):
                found = entry
        return found

    async def verify_token(self, token: str) -> AccessToken | None:
        entry = self.match(token)
        if entry is None:
            return None
        return AccessToken(token=token, client_id=entry.name, scopes=list(entry.scopes))
