"""Scopes and grants (grants.py), static token hashes (tokens.py), their configuration, and protection facts."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from mcp_bridge import cli
from mcp_bridge.access import facts_from_guest_info, protection_reason, required_scopes
from mcp_bridge.config import ConfigError, load
from mcp_bridge.grants import DESTROY, LOCAL, READ, WRITE, GuestFacts, Principal, parse_grant, split_tags
from mcp_bridge.tokens import StaticTokens, hash_token
from mcp_bridge.tools import TOOLS_BY_NAME

TOKEN = "x" * 40
HASH = "sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()


def test_scope_strings_parse_and_bad_ones_are_refused():
    assert str(parse_grant("pve:read")) == "pve:read"
    assert str(parse_grant("pve:write:vmid:100-199")) == "pve:write:vmid:100-199"
    assert str(parse_grant("pve:destroy:vmid:7")) == "pve:destroy:vmid:7"
    assert parse_grant("pve:read:tag:web").value == "web"
    assert parse_grant("pve:write:pool:lab").kind == "pool"
    for bad in ("pve:admin", "pve:read:node:pve1", "pve:read:tag:", "pve:write:vmid:9-1", "pve", "read", "pve:read:x"):
        with pytest.raises(ValueError):
            parse_grant(bad)


def test_grants_by_vmid_tag_and_pool():
    alice = Principal.from_scopes("alice", ["openid", "pve:read", "pve:write:vmid:100-199", "pve:destroy:tag:scratch"])
    assert [str(g) for g in alice.grants] == ["pve:read", "pve:write:vmid:100-199", "pve:destroy:tag:scratch"]
    assert alice.holds(READ, 5000, None)
    assert alice.holds(WRITE, 150, None) and not alice.holds(WRITE, 200, None)
    assert not alice.needs_facts((WRITE,), 200)  # a VMID grant decides without reading the guest
    assert alice.needs_facts((WRITE, DESTROY), 150)  # the tag grant needs the guest's tags
    assert not alice.holds(DESTROY, 150, None)  # no facts: not granted (fail closed)
    assert alice.holds(DESTROY, 150, GuestFacts(tags=frozenset({"scratch"})))
    assert not alice.holds(DESTROY, 150, GuestFacts(tags=frozenset({"web"})))
    lab = Principal.from_scopes("bob", ["pve:write:pool:lab"])
    assert lab.holds(WRITE, 1, GuestFacts(pool="lab")) and not lab.holds(WRITE, 1, GuestFacts(pool="prod"))
    assert not lab.holds(WRITE, 1, GuestFacts()) and not lab.holds(READ, 1, GuestFacts(pool="lab"))
    assert all(LOCAL.holds(scope, 100, None) for scope in (READ, WRITE, DESTROY))


def test_required_scopes_per_tool():
    assert required_scopes(TOOLS_BY_NAME["get_guest_config"], False) == (READ,)
    assert required_scopes(TOOLS_BY_NAME["update_vm_resources"], False) == (WRITE,)
    assert required_scopes(TOOLS_BY_NAME["remove_vm_disk"], False) == (WRITE,)
    assert required_scopes(TOOLS_BY_NAME["remove_vm_disk"], True) == (WRITE, DESTROY)


def test_tags_and_protection_from_guest_info():
    # pve-common ParseUtils.pm split_list: ',', ';' and white space separate tags
    assert split_tags("web;DB, x  y") == {"web", "db", "x", "y"}
    facts = facts_from_guest_info(
        {"current": {"tags": "web"}, "config": {"tags": "web;pve-config-protected", "protection": 0}, "pool": "lab"}
    )
    assert facts == GuestFacts(tags=frozenset({"web", "pve-config-protected"}), pool="lab", protected=False)
    assert protection_reason(facts, ["pve-config-protected"]) == "tag pve-config-protected"
    assert protection_reason(facts, ["other"]) is None
    assert facts_from_guest_info({"current": {"protection": 1}, "config": {}}).protected
    assert protection_reason(GuestFacts(protected=True), []) == "Proxmox protection: 1"


def test_static_tokens_match_by_hash_only():
    tokens = StaticTokens.from_config(load(None, environ={}, overrides={"http": {"tokens": [entry()]}}).http.tokens)
    assert tokens.match(TOKEN).name == "alice"
    assert tokens.match(TOKEN + "x") is None and tokens.match("") is None
    assert hash_token(TOKEN) == HASH
    with pytest.raises(ValueError, match="at least 32"):
        hash_token("short")


def entry(**changes):
    return {"name": "alice", "hash": HASH, "scopes": ["pve:read"], **changes}


@pytest.mark.parametrize(
    ("tokens", "problem"),
    [
        ([entry(hash=TOKEN)], "sha256"),
        ([entry(hash="sha256:" + "A" * 64)], "sha256"),
        ([entry(scopes=["pve:all"])], "pve:read"),
        ([entry(scopes=[])], "scopes"),
        ([entry(name="a b")], "name"),
        ([entry(), entry(name="bob")], "same hash"),
        ([entry(), entry(hash="sha256:" + "0" * 64)], "same name"),
    ],
)
def test_bad_token_entries_are_refused(tokens, problem):
    with pytest.raises(ConfigError, match=problem):
        load(None, environ={}, overrides={"http": {"tokens": tokens}})


def test_hash_token_cli(capsys, monkeypatch):
    assert cli.main(["hash-token"]) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[0].removeprefix("token: ")
    assert out[1] == f'hash = "{hash_token(token)}"' and len(token) >= 32
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert cli.main(["hash-token", "--stdin"]) == 0
    assert capsys.readouterr().out == f'hash = "{HASH}"\n'
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["hash-token", "--stdin"]) == 2
    assert "at least 32" in capsys.readouterr().err


def test_check_lists_the_http_principals(tmp_path, monkeypatch, capsys):
    for var in [v for v in os.environ if v.startswith(("PROXMOX_", "PVE_MCP_"))]:
        monkeypatch.delenv(var)
    for key, value in {"PROXMOX_HOST": "h", "PROXMOX_USER": "u@pam", "PROXMOX_PASSWORD": "pw"}.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "bridge.toml"
    path.write_text(f'[[http.tokens]]\nname = "alice"\nhash = "{HASH}"\nscopes = ["pve:read", "pve:write:tag:web"]\n')
    assert cli.main(["--check", "--audit-log", "off", "--config", str(path)]) == 0
    assert "http principals: alice (pve:read pve:write:tag:web)\n" in capsys.readouterr().out
    monkeypatch.setenv("PVE_MCP_TOKEN", "plain")
    assert cli.main(["--check", "--audit-log", "off", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "alice (pve:read pve:write:tag:web); token (deprecated plain token: every scope)" in out
    assert "plain" not in out.replace("plain token", "")
