"""Configuration loading, operator policy and the HTTP guards, as plain functions."""

from __future__ import annotations

import os

import httpx
import pytest

from mcp_bridge import cli
from mcp_bridge.config import ConfigError, HttpSettings, is_loopback, load, parse_vmid_range
from mcp_bridge.policy import Policy, PolicyError
from mcp_bridge.tokens import StaticTokens
from mcp_bridge.tools import TOOLS_BY_NAME
from mcp_bridge.transport import RequireBearer, http_app, transport_security

TOML = """
[proxmox]
host = "pve1.example:8006"
user = "automation@pve"
token_id = "mcp"
token_secret = "file-secret-123"
validate_certs = false

[bridge]
read_only = true
tools = ["get_guest_config"]
vmids = [100, "200-299"]
max_parallel = 2
timeout = 60
audit_log = "off"

[http]
port = 9000
"""


def write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_toml_file_then_environment_then_overrides(tmp_path):
    path = write(tmp_path / "bridge.toml", TOML)
    config = load(path, environ={"PROXMOX_HOST": "pve2:8006", "PVE_MCP_TOKEN": "t0k"}, overrides={"http": {"port": 0}})
    assert config.proxmox.host == "pve2:8006" and config.proxmox.user == "automation@pve"
    assert config.proxmox.envvars() == {
        "PROXMOX_HOST": "pve2:8006",
        "PROXMOX_USER": "automation@pve",
        "PROXMOX_TOKEN_ID": "mcp",
        "PROXMOX_TOKEN_SECRET": "file-secret-123",
        "PROXMOX_VALIDATE_CERTS": "false",
    }
    assert config.bridge.read_only and config.bridge.vmids == [100, "200-299"] and config.bridge.timeout == 60
    assert config.http.port == 0 and config.http.bearer_token() == "t0k"
    assert sorted(config.secrets()) == ["file-secret-123", "t0k"]
    assert "file-secret-123" not in repr(config)  # SecretStr
    config.proxmox.check()


def test_yaml_file(tmp_path):
    path = write(
        tmp_path / "bridge.yaml", "proxmox:\n  host: h\n  user: u@pam\n  password: pw\nbridge:\n  pools: [lab]\n"
    )
    config = load(path, environ={})
    assert config.proxmox.envvars()["PROXMOX_PASSWORD"] == "pw" and config.bridge.pools == ["lab"]


@pytest.mark.parametrize(
    ("name", "text", "mode", "message"),
    [
        ("c.toml", TOML, 0o644, "readable by others"),
        ("c.json", "{}", 0o600, "must end in"),
        ("c.toml", "[proxmox\n", 0o600, "not valid"),
        ("c.yaml", "- a list\n", 0o600, "table/mapping"),
        ("c.toml", "[bridge]\nmax_parallel = 0\n", 0o600, "bridge.max_parallel"),
        ("c.toml", "[bridge]\nvmids = ['1-x']\n", 0o600, "bridge.vmids"),
        ("c.toml", "[proxmox]\nnope = 1\n", 0o600, "proxmox.nope"),
    ],
)
def test_bad_config_files(tmp_path, name, text, mode, message):
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path / name, text, mode), environ={})


def test_invalid_values_are_reported_without_the_value(tmp_path):
    path = write(tmp_path / "c.toml", '[proxmox]\nport = "not-a-port-s3cr3t"\n')
    with pytest.raises(ConfigError) as err:
        load(path, environ={})
    assert "proxmox.port" in str(err.value) and "s3cr3t" not in str(err.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no Proxmox host"),
        ({"PROXMOX_HOST": "h", "PROXMOX_USER": "u"}, "no Proxmox credentials"),
        ({"PROXMOX_HOST": "h", "PROXMOX_USER": "u", "PROXMOX_TOKEN_ID": "t"}, "required together"),
        ({"PROXMOX_HOST": "h", "PROXMOX_PASSWORD": "p"}, "no Proxmox user"),
    ],
)
def test_connection_checks(env, message):
    with pytest.raises(ConfigError, match=message):
        load(None, environ=env).proxmox.check()


@pytest.mark.parametrize(
    ("item", "expected"), [(100, range(100, 101)), ("200-202", range(200, 203)), (" 7 ", range(7, 8))]
)
def test_vmid_ranges(item, expected):
    assert parse_vmid_range(item) == expected


def test_policy_tables():
    spec = TOOLS_BY_NAME
    policy = Policy(read_only=True)
    assert policy.allows_tool(spec["get_guest_config"]) and not policy.allows_tool(spec["add_vm_disk"])
    with pytest.raises(PolicyError, match="read-only"):
        policy.check_tool(spec["add_vm_disk"])
    listed = Policy(tools=frozenset({"add_vm_disk"}))
    assert [s.name for s in listed.enabled(spec.values())] == ["add_vm_disk"]
    guests = Policy(vmids=(range(100, 110),), pools=frozenset({"lab"}))
    guests.check_guest(105, None)
    guests.check_guest(500, {500: "lab"}.get)
    with pytest.raises(PolicyError, match="allow-list"):
        guests.check_guest(501, {501: "prod"}.get)
    Policy().check_guest(12345, None)  # no lists: every guest
    with pytest.raises(ValueError, match="unknown tools"):
        Policy.from_settings(load(None, environ={}, overrides={"bridge": {"tools": ["rm_rf"]}}).bridge)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("pve-mcp.example", False)],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_non_loopback_needs_a_token():
    with pytest.raises(ConfigError, match="without bearer tokens"):
        http_app(None, HttpSettings(host="0.0.0.0"))  # refused before the server is touched


def test_transport_security_lists():
    settings = transport_security(HttpSettings(host="10.0.0.5", allowed_hosts=["mcp.example"]))
    assert settings.enable_dns_rebinding_protection
    assert {"127.0.0.1:*", "localhost:*", "[::1]:*", "10.0.0.5:*", "10.0.0.5", "mcp.example"} <= set(
        settings.allowed_hosts
    )
    assert "http://localhost:*" in settings.allowed_origins


@pytest.mark.anyio
async def test_bearer_auth_middleware():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guarded = RequireBearer(app, StaticTokens.from_config([], legacy="right-token"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://127.0.0.1") as http:
        refused = await http.get("/mcp")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer error=")
        assert (await http.get("/mcp", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await http.get("/mcp", headers={"Authorization": "Bearer right-token2"})).status_code == 401
        assert (await http.get("/mcp", headers={"Authorization": "Basic right-token"})).status_code == 401
        response = await http.get("/mcp", headers={"Authorization": "Bearer right-token"})
        assert response.status_code == 200 and response.text == "ok"


def test_cli_refuses_unsafe_http_and_missing_connection(monkeypatch, capsys):
    for var in [v for v in os.environ if v.startswith(("PROXMOX_", "PVE_MCP_"))]:
        monkeypatch.delenv(var)
    assert cli.main(["--audit-log", "off"]) == 2
    assert "no Proxmox host" in capsys.readouterr().err
    for key, value in {"PROXMOX_HOST": "h", "PROXMOX_USER": "u@pam", "PROXMOX_PASSWORD": "pw"}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["--transport", "http", "--host", "0.0.0.0", "--audit-log", "off"]) == 2
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err
    assert cli.main(["--check", "--read-only", "--audit-log", "off"]) == 0
    assert "tools: plan_guest_config, get_guest_config, plan_fleet_config\n" in capsys.readouterr().out
    monkeypatch.setenv("PVE_MCP_PLAN_KEY", "short")
    assert cli.main(["--check", "--audit-log", "off"]) == 2
    assert "the plan key must be at least 32 bytes" in capsys.readouterr().err
