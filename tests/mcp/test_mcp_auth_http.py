"""Authorisation end to end: a bridge process over streamable HTTP with hashed static tokens and an OAuth issuer
(JWTs checked against a JWKS file), driven by the SDK's own client, running the real collection against the
HTTPS simulator.

A wrong token gets 401 with WWW-Authenticate; each token's scopes allow and refuse the right calls; a protected
guest (Proxmox `protection: 1`, or the protected tag) gets no destructive call even with `confirm`, and no write
reaches Proxmox; the audit log names the principal of every call; no token appears in any file left behind.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_bridge.testing import BridgeProcess
from mcp_bridge.tokens import hash_token

pve_sim_testing = pytest.importorskip("pve_sim.testing")

REPO = Path(__file__).resolve().parents[2]
TOKENS = {
    "reader": ("reader-token-" + "r" * 32, ["pve:read"]),
    "admin": ("admin-token-" + "a" * 32, ["pve:read", "pve:write", "pve:destroy"]),
    "web-ops": ("webops-token-" + "w" * 32, ["pve:read:tag:web", "pve:write:tag:web"]),
}
WRITES = ("POST", "PUT", "DELETE")
ISSUER = "https://idp.example.test/realms/pve"
RESOURCE = "https://mcp.example.test/mcp"
METADATA = "/.well-known/oauth-protected-resource/mcp"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


ISSUED: list[str] = []  # every JWT made, scanned for in the files the bridge leaves behind


def make_jwt(key=KEY, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": RESOURCE, "sub": "user1", "exp": now + 300, "iat": now, "scope": "pve:read"}
    body.update(claims)
    token = jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": "k1"})
    ISSUED.append(token)
    return token


pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with pve_sim_testing.running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    sim.simulator.reset(realism=False)
    sim.simulator.clear_requests()


@pytest.fixture(scope="module")
def bridge(sim, tmp_path_factory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("auth-bridge")
    config = base / "bridge.toml"
    lines = []
    for name, (token, scopes) in TOKENS.items():
        lines += [
            "[[http.tokens]]",
            f'name = "{name}"',
            f'hash = "{hash_token(token)}"',
            f"scopes = {json.dumps(scopes)}",
        ]
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())) | {"kid": "k1", "use": "sig"}
    (base / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    lines += ["[http.oauth]", f'issuer = "{ISSUER}"', f'resource = "{RESOURCE}"', f'jwks_file = "{base / "jwks.json"}"']
    config.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_"))}
    env.update({k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(base)
    audit, log = base / "audit.jsonl", base / "server.log"
    process = BridgeProcess(["--config", str(config), "--audit-log", str(audit)], env, log, cwd=REPO)
    try:
        yield {"url": process.url, "audit": audit, "log": log, "base": base}
    finally:
        process.stop(timeout=10)


@asynccontextmanager
async def client_as(bridge, name: str, token: str | None = None):
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token or TOKENS[name][0]}"})
    async with http, Client(streamable_http_client(bridge["url"], http_client=http)) as client:
        yield client


def text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def writes(sim) -> list[dict[str, Any]]:
    return [r for r in sim.simulator.requests() if r["method"] in WRITES]


def set_config(sim, vmid: int, **values: Any) -> None:
    with sim.simulator.state.lock:
        sim.simulator.state.guests[vmid].config.update(values)


async def test_wrong_or_missing_token_is_401_with_www_authenticate(bridge):
    async with httpx.AsyncClient() as http:
        for headers in (
            {},
            {"Authorization": "Bearer " + TOKENS["admin"][0] + "x"},
            {"Authorization": "Basic " + TOKENS["admin"][0]},
        ):
            response = await http.post(
                bridge["url"], headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
            )
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_scopes_and_tag_grants_over_http(bridge, sim):
    set_config(sim, 100, tags="web")
    async with client_as(bridge, "reader") as client:
        # pve:read: the reading tools and the plans (issue 12: "pve:read (get_guest_config, plans, resources)")
        assert {t.name for t in (await client.list_tools()).tools} == {
            "get_guest_config",
            "plan_guest_config",
            "plan_fleet_config",
        }
        assert not (await client.call_tool("get_guest_config", {"vmid": 101})).is_error
        refused = await client.call_tool("update_vm_resources", {"vmid": 100, "cores": 3})
        assert refused.is_error and "reader may not call update_vm_resources on guest 100" in text(refused)
    async with client_as(bridge, "web-ops") as client:
        done = await client.call_tool("update_vm_resources", {"vmid": 100, "cores": 3})
        assert not done.is_error, text(done)
        refused = await client.call_tool("update_vm_resources", {"vmid": 101, "cores": 3})
        assert refused.is_error and "needs pve:write" in text(refused)
    assert [(w["method"], w["path"]) for w in writes(sim)] == [("PUT", "/nodes/pve1/qemu/100/config")]
    entries = [json.loads(line) for line in bridge["audit"].read_text().splitlines()][-4:]
    assert [(e["principal"], e["tool"], e["outcome"]) for e in entries] == [
        ("reader", "get_guest_config", "ok"),
        ("reader", "update_vm_resources", "denied"),
        ("web-ops", "update_vm_resources", "ok"),
        ("web-ops", "update_vm_resources", "denied"),
    ]


@pytest.mark.parametrize("mark", [{"protection": "1"}, {"tags": "db;pve-config-protected"}])
async def test_protected_guest_refused_for_destroy_even_with_confirm(bridge, sim, mark):
    set_config(sim, 101, **mark)
    async with client_as(bridge, "admin") as client:
        args = {"vmid": 101, "disk_id": "scsi1", "delete_volume": True, "confirm": True}
        refused = await client.call_tool("remove_vm_disk", args)
        assert refused.is_error and "guest 101 is protected" in text(refused), text(refused)
        detach = await client.call_tool("remove_vm_disk", {"vmid": 101, "disk_id": "scsi1"})
        assert detach.is_error and "is protected" in text(detach)
    assert writes(sim) == [] and "scsi1" in sim.simulator.guest_config(101)["config"]
    entries = [json.loads(line) for line in bridge["audit"].read_text().splitlines()][-2:]
    assert [(e["principal"], e["outcome"]) for e in entries] == [("admin", "protected")] * 2


def base_url(bridge) -> str:
    return bridge["url"].removesuffix("/mcp")


async def test_protected_resource_metadata_and_401_names_it(bridge):
    async with httpx.AsyncClient() as http:
        metadata = await http.get(base_url(bridge) + METADATA)
        assert metadata.status_code == 200
        body = metadata.json()
        assert body["resource"] == RESOURCE and body["authorization_servers"] == [ISSUER]
        assert body["scopes_supported"] == ["pve:read", "pve:write", "pve:destroy"]
        refused = await http.post(bridge["url"], json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        assert f'resource_metadata="https://mcp.example.test{METADATA}"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize(
    "token",
    [
        make_jwt(key=OTHER_KEY),  # wrong signature
        make_jwt(iss="https://evil.example.test"),
        make_jwt(aud="https://other.example.test/mcp"),
        make_jwt(exp=int(time.time()) - 3600),
        make_jwt(exp=None),  # exp is required
        make_jwt(aud=None),
        "not-a-jwt",
    ],
    ids=["signature", "iss", "aud", "expired", "no-exp", "no-aud", "garbage"],
)
async def test_bad_jwts_are_401(bridge, token):
    async with httpx.AsyncClient() as http:
        refused = await http.post(
            bridge["url"],
            headers={"Authorization": f"Bearer {token}"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
    assert refused.status_code == 401


async def test_jwt_scopes_decide_and_the_audit_names_the_subject(bridge, sim):
    async with client_as(bridge, "", token=make_jwt(scope="openid pve:read")) as client:
        assert not (await client.call_tool("get_guest_config", {"vmid": 100})).is_error
        refused = await client.call_tool("update_vm_resources", {"vmid": 100, "cores": 3})
        assert refused.is_error and "oauth:user1 may not call update_vm_resources" in text(refused)
    async with client_as(bridge, "", token=make_jwt(sub="ops", scope="pve:write:vmid:100")) as client:
        assert not (await client.call_tool("update_vm_resources", {"vmid": 100, "cores": 3})).is_error
        assert (await client.call_tool("update_vm_resources", {"vmid": 101, "cores": 3})).is_error
    assert [(w["method"], w["path"]) for w in writes(sim)] == [("PUT", "/nodes/pve1/qemu/100/config")]
    entries = [json.loads(line) for line in bridge["audit"].read_text().splitlines()][-4:]
    assert [(e["principal"], e["outcome"]) for e in entries] == [
        ("oauth:user1", "ok"),
        ("oauth:user1", "denied"),
        ("oauth:ops", "ok"),
        ("oauth:ops", "denied"),
    ]


async def test_no_token_in_files_left_behind(bridge):
    # The warm pool prepares and removes run directories while the bridge idles, so a file listed here may be
    # gone by the time it is read; os.walk (unlike Path.rglob) ignores directories that vanish mid-walk.
    listed = [Path(root) / name for root, _dirs, names in os.walk(bridge["base"]) for name in names]
    files = [path for path in listed if path.is_file()]  # not the fork server's socket
    assert files, "the bridge left no files at all: the scan would prove nothing"
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        for token in [t for t, _scopes in TOKENS.values()] + ISSUED:
            assert token.encode() not in data, path
