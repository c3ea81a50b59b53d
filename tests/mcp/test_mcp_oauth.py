"""The OAuth verifier (oauth.py) on its own: what it accepts, what it refuses, and its configuration."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mcp_bridge.config import ConfigError, load
from mcp_bridge.oauth import JwtVerifier, Verifiers
from mcp_bridge.tokens import StaticTokens

ISSUER, RESOURCE = "https://idp.example.test", "https://mcp.example.test/mcp"
KEY = ec.generate_private_key(ec.SECP256R1())

pytestmark = pytest.mark.anyio


@pytest.fixture
def verifier(tmp_path) -> JwtVerifier:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())) | {"kid": "e1"}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    return JwtVerifier(ISSUER, RESOURCE, jwks_file=str(tmp_path / "jwks.json"), algorithms=["ES256"])


def token(key=KEY, algorithm="ES256", **claims) -> str:
    body = {"iss": ISSUER, "aud": [RESOURCE, "other"], "sub": "u", "exp": int(time.time()) + 60} | claims
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": "e1"})


async def test_good_token_gives_scopes_subject_and_issuer(verifier):
    found = await verifier.verify_token(token(scope="pve:read openid", scp=["pve:write:tag:web"], azp="cli"))
    assert found.scopes == ["pve:read", "openid", "pve:write:tag:web"]
    assert (found.client_id, found.subject, found.claims, found.resource) == ("cli", "u", {"iss": ISSUER}, RESOURCE)


async def test_refused_tokens(verifier):
    other = ec.generate_private_key(ec.SECP256R1())
    assert await verifier.verify_token(token(key=other)) is None
    assert await verifier.verify_token(token(iss="https://idp.example.test/")) is None
    assert await verifier.verify_token(token(aud="https://mcp.example.test/other")) is None
    assert await verifier.verify_token(token(exp=int(time.time()) - 120)) is None
    assert await verifier.verify_token(token(nbf=int(time.time()) + 600)) is None
    # an HMAC token "signed" with the public key (algorithm confusion) and an unsigned one
    assert await verifier.verify_token(token(key="secret-of-32-bytes-at-least-xxxxx", algorithm="HS256")) is None
    assert await verifier.verify_token(jwt.encode({"iss": ISSUER, "aud": RESOURCE}, None, algorithm="none")) is None


async def test_static_tokens_before_jwts(verifier):
    both = Verifiers(StaticTokens.from_config([], legacy="plain-token"), verifier)
    assert (await both.verify_token("plain-token")).client_id == "token"
    assert (await both.verify_token(token())).subject == "u"
    assert await both.verify_token("a.b.c") is None


def test_configuration_is_checked(tmp_path):
    with pytest.raises(ValueError, match="asymmetric"):
        JwtVerifier(ISSUER, RESOURCE, jwks_url="https://idp.example.test/jwks", algorithms=["HS256"])
    for oauth, problem in [
        ({"issuer": ISSUER, "resource": RESOURCE}, "exactly one of jwks_file and jwks_url"),
        ({"issuer": ISSUER, "resource": RESOURCE, "jwks_file": "f", "jwks_url": "https://x/j"}, "exactly one"),
        ({"issuer": "idp", "resource": RESOURCE, "jwks_file": "f"}, "issuer"),
    ]:
        with pytest.raises(ConfigError, match=problem):
            load(None, environ={}, overrides={"http": {"oauth": oauth}})
