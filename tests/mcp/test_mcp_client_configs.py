"""The ready-to-paste client configs of docs/mcp.md "## Client configuration", each tried with the MCP SDK's own
client against the HTTPS simulator (issue 12, "Clean-ups in the bridge": "Ready-to-paste client configs (Claude
Desktop, VS Code, Cursor) in docs/mcp.md, each tried with a real client library over stdio and HTTP").

The JSON blocks are read from the docs, so the docs cannot drift from what is tested. A stdio block starts the
bridge through `mcp.client.stdio` with the block's command, args and env; an HTTP block connects through streamable
HTTP with the block's headers to a `--transport http` bridge holding a hashed token. Only the placeholders are
replaced: the PROXMOX_* values with the simulator's, `${input:...}` / `${env:...}` / `${userHome}` with test
values, the `--audit-log` path and the `--config` file with files in a temporary directory, the URL with the test
bridge's, the command with this environment's `pve-config-mcp`. Every bridge starts with `--no-warm` (quick).

The config shapes of each client:
- Claude Desktop, `claude_desktop_config.json`: `mcpServers` -> `command` / `args` / `env`.
- VS Code, `.vscode/mcp.json`: `servers` -> `type` ("stdio" with `command` / `args` / `env`, "http" with `url` /
  `headers`), `inputs` (`promptString`, referenced as `${input:id}`), `${userHome}`.
- Cursor, `~/.cursor/mcp.json` or `.cursor/mcp.json`: `mcpServers` -> `command` / `args` / `env` for stdio, `url` +
  `headers` for a remote streamable-HTTP server; `${env:NAME}` and `${userHome}` interpolation
  (https://cursor.com/docs/mcp, as quoted in https://www.developersdigest.tech/mcp-servers/clients/cursor and
  https://docs.apilayer.com/ipstack/docs/cursor-ide-integration).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_bridge.config import PROXMOX_ENV
from mcp_bridge.testing import BridgeProcess
from mcp_bridge.tokens import hash_token
from mcp_bridge.tools import TOOLS

pve_sim_testing = pytest.importorskip("pve_sim.testing")

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "mcp.md"
COMMAND = Path(sys.executable).with_name("pve-config-mcp")  # this venv's console script
HTTP_TOKEN = "client-configs-token-" + "c" * 32
SECRET_PLACEHOLDER = re.compile(r"\$\{(?:input|env):[^}]+\}")
CLIENTS = ("Claude Desktop", "VS Code", "Cursor")

pytestmark = pytest.mark.anyio


# ------------------------------------------------------------------------------------------ the docs' blocks


def client_configs() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(client, transport, server entry, whole document) for every server of every JSON block of the section."""
    text = DOCS.read_text()
    start = text.index("## Client configuration\n")
    section = text[start : text.index("\n## ", start + 1)]
    configs, prose_start = [], 0
    for block in re.finditer(r"```json\n(.*?)```", section, re.S):
        paragraph = section[prose_start : block.start()].strip().split("\n\n")[-1]
        prose_start = block.end()
        client = next(name for name in CLIENTS if name in paragraph)
        document = json.loads(block.group(1))
        for entry in (document.get("mcpServers") or document["servers"]).values():
            configs.append((client, "http" if "url" in entry else "stdio", entry, document))
    return configs


CONFIGS = client_configs()


def config_id(config) -> str:
    return f"{config[0]}-{config[1]}".replace(" ", "_")


def test_the_section_has_every_client_over_stdio_and_http():
    # Claude Desktop's config file starts stdio servers only (the docs give it a stdio block only)
    assert sorted((client, transport) for client, transport, _block, _intro in CONFIGS) == [
        ("Claude Desktop", "stdio"),
        ("Cursor", "http"),
        ("Cursor", "stdio"),
        ("VS Code", "http"),
        ("VS Code", "stdio"),
    ]


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_each_block_is_consistent_for_its_client(config):
    client, transport, entry, document = config
    if client == "VS Code":  # VS Code's `servers` entries name their transport; every ${input:id} is declared
        assert "servers" in document and entry["type"] == transport
        declared = {item["id"] for item in document.get("inputs", [])}
        assert set(re.findall(r"\$\{input:([^}]+)\}", json.dumps(entry))) <= declared
    else:
        assert "mcpServers" in document and "type" not in entry and "inputs" not in document
        assert "${input:" not in json.dumps(entry)  # only VS Code prompts
    if transport == "stdio":
        assert entry["command"] == "pve-config-mcp" and set(entry["env"]) <= set(PROXMOX_ENV.values())
    else:
        assert set(entry) - {"type"} == {"url", "headers"}


# ------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with pve_sim_testing.running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    sim.simulator.reset(realism=False)
    sim.simulator.clear_requests()


def toml_value(value: str) -> str:
    return value if value in ("true", "false") else json.dumps(value)


@pytest.fixture(scope="module")
def http_bridge(sim, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The bridge as docs/mcp.md's shared endpoint runs it: `--transport http` with a hashed token."""
    base = tmp_path_factory.mktemp("client-configs-http")
    config = base / "bridge.toml"
    config.write_text(
        "[[http.tokens]]\n"
        'name = "client-configs"\n'
        f'hash = "{hash_token(HTTP_TOKEN)}"\n'
        'scopes = ["pve:read", "pve:write", "pve:destroy"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXMOX_", "PVE_MCP_"))}
    env.update({k: v for k, v in sim.env.items() if k.startswith("PROXMOX_")})
    env["TMPDIR"] = str(base)
    audit = base / "audit.jsonl"
    args = ["--config", str(config), "--audit-log", str(audit), "--no-warm"]
    process = BridgeProcess(args, env, base / "server.log", cwd=base, command=[str(COMMAND)])
    try:
        yield {"url": process.url, "audit": audit}
    finally:
        process.stop(timeout=10)


# ----------------------------------------------------------------------------------------------- the calls


async def list_tools_and_read_vm_100(client: Client) -> None:
    assert {tool.name for tool in (await client.list_tools()).tools} == {spec.name for spec in TOOLS}
    result = await client.call_tool("get_guest_config", {"vmid": 100})
    assert not result.is_error, result.content
    assert result.structured_content["name"] == "web01" and "scsi0" in result.structured_content["disks"]


def audited_calls(audit: Path) -> list[str]:
    return [json.loads(line).get("tool") for line in audit.read_text().splitlines() if line.strip()]


def stdio_parameters(entry: dict[str, Any], sim, base: Path) -> tuple[StdioServerParameters, Path]:
    """The block's command/args/env with the placeholders filled; the audit log the bridge writes."""
    home, audit = base / "home", base / "audit.jsonl"
    args = [arg.replace("${userHome}", str(home)) for arg in entry["args"]]
    env = {key: sim.env[key] for key in entry["env"]}  # the simulator's host, user, token, CA
    if "--audit-log" in args:
        args[args.index("--audit-log") + 1] = str(audit)
    if "--config" in args:
        # the [proxmox] table holds what the block's env does not give (the connection; the secret comes from env)
        config = Path(args[args.index("--config") + 1])
        assert config.is_relative_to(home), config
        table = {option: sim.env[var] for option, var in PROXMOX_ENV.items() if var in sim.env and var not in env}
        config.parent.mkdir(parents=True)
        lines = ["[proxmox]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
        config.write_text("\n".join([*lines, "[bridge]", f"audit_log = {json.dumps(str(audit))}"]) + "\n")
    params = StdioServerParameters(command=str(COMMAND), args=[*args, "--no-warm"], env=env, cwd=str(base))
    return params, audit


STDIO = [config for config in CONFIGS if config[1] == "stdio"]
HTTP = [config for config in CONFIGS if config[1] == "http"]


@pytest.mark.parametrize("config", STDIO, ids=config_id)
async def test_stdio_config_starts_the_bridge_and_reads_a_guest(config, sim, tmp_path):
    params, audit = stdio_parameters(config[2], sim, tmp_path)
    with (tmp_path / "server.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await list_tools_and_read_vm_100(client)
    assert audited_calls(audit) == ["get_guest_config"]
    assert not [r for r in sim.simulator.requests() if r["method"] in ("POST", "PUT", "DELETE")]


@pytest.mark.parametrize("config", HTTP, ids=config_id)
async def test_http_config_connects_with_its_headers_and_reads_a_guest(config, http_bridge, sim):
    entry = config[2]
    assert urlsplit(entry["url"]).path == urlsplit(http_bridge["url"]).path  # the same endpoint path, /mcp
    headers = {key: SECRET_PLACEHOLDER.sub(HTTP_TOKEN, value) for key, value in entry["headers"].items()}
    assert headers == {"Authorization": f"Bearer {HTTP_TOKEN}"}
    before = len(audited_calls(http_bridge["audit"])) if http_bridge["audit"].exists() else 0
    http = create_mcp_http_client(headers=headers)
    async with http, Client(streamable_http_client(http_bridge["url"], http_client=http)) as client:
        await list_tools_and_read_vm_100(client)
    assert audited_calls(http_bridge["audit"])[before:] == ["get_guest_config"]


async def test_http_without_the_configs_header_is_refused(http_bridge):
    http = create_mcp_http_client(headers={"Authorization": "Bearer " + HTTP_TOKEN[:-1]})
    async with http:
        response = await http.post(http_bridge["url"], json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
