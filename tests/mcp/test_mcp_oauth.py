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


async def test_jwks_from_a_url(tmp_path):
    """jwks_url: the keys are fetched over HTTP (PyJWKClient) and cached; an unknown kid is refused."""
    import http.server
    import threading

    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())) | {"kid": "e1"}
    body = json.dumps({"keys": [jwk]}).encode()
    fetched = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server interface
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/certs"
        verifier = JwtVerifier(ISSUER, RESOURCE, jwks_url=url, algorithms=["ES256"])
        assert (await verifier.verify_token(token())).subject == "u"
        assert (await verifier.verify_token(token(sub="v"))).subject == "v"
        assert fetched == ["/certs"]  # cached
        other = jwt.encode(
            {"iss": ISSUER, "aud": RESOURCE, "exp": int(time.time()) + 60}, KEY, algorithm="ES256", headers={"kid": "x"}
        )
        assert await verifier.verify_token(other) is None
    finally:
        server.shutdown()
