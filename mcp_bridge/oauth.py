"""OAuth 2.1 resource server: bearer JWTs from one configured issuer, checked with PyJWT against its JWKS.

A token is accepted when its signature verifies with a key of the issuer's JWKS (a file, or a URL fetched and
cached by ``jwt.PyJWKClient``) under one of the configured algorithms (never ``none``, never an HMAC secret),
``iss`` is the issuer, ``aud`` names this bridge's resource URL, and ``exp`` (required) has not passed. Its
scopes (``scope``, space-separated, or ``scp``, a list) are grants.py scope strings; scopes the bridge does not
know grant nothing. The principal is ``oauth:<sub>`` (or the client id when the token has no ``sub``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class JwtVerifier:
    """`mcp.server.auth.provider.TokenVerifier` for the issuer's JWTs."""

    def __init__(
        self,
        issuer: str,
        resource: str,
        *,
        jwks_file: str | None = None,
        jwks_url: str | None = None,
        algorithms: Iterable[str] = ("RS256", "ES256"),
        leeway: float = 30.0,
    ) -> None:
        if (jwks_file is None) == (jwks_url is None):
            raise ValueError("give exactly one of jwks_file and jwks_url")
        self.algorithms = list(algorithms)
        bad = [a for a in self.algorithms if a not in ASYMMETRIC]
        if bad or not self.algorithms:
            raise ValueError(f"algorithms must be asymmetric JWS algorithms ({', '.join(ASYMMETRIC)}), not {bad}")
        self.issuer = issuer
        self.resource = resource
        self.leeway = leeway
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10) if jwks_url else None
        self._keys = None
        if jwks_file is not None:
            self._keys = jwt.PyJWKSet.from_dict(json.loads(Path(jwks_file).expanduser().read_text()))

    def _key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in self._keys.keys if kid is None or k.key_id == kid]
        if len(keys) != 1:
            raise jwt.InvalidTokenError("no single key of the issuer's JWKS matches the token's kid")
        return keys[0].key

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims; raises jwt.PyJWTError (or PyJWKClientError) otherwise."""
        return jwt.decode(
            token,
            self._key(token),
            algorithms=self.algorithms,
            audience=self.resource,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "iss", "aud"]},
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await anyio.to_thread.run_sync(self.decode, token)
        except (jwt.PyJWTError, ValueError, KeyError):
            return None
        scopes = claims.get("scope", "")
        scopes = scopes.split() if isinstance(scopes, str) else []
        if isinstance(claims.get("scp"), list):
            scopes += [s for s in claims["scp"] if isinstance(s, str)]
        client_id = str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "unknown")
        subject = claims.get("sub")
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=str(subject) if subject is not None else None,
            claims={"iss": claims["iss"]},
        )


class Verifiers:
    """Static tokens first (one hash), then the issuer's JWTs (tokens that look like a JWS)."""

    def __init__(self, *verifiers: TokenVerifier | None) -> None:
        self.verifiers = [v for v in verifiers if v is not None]

    async def verify_token(self, token: str) -> AccessToken | None:
        for verifier in self.verifiers:
            if isinstance(verifier, JwtVerifier) and token.count(".") != 2:
                continue
            found = await verifier.verify_token(token)
            if found is not None:
                return found
        return None
