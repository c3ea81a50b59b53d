"""Bridge configuration: an optional TOML or YAML file, the PROXMOX_* environment, command-line overrides.

The Proxmox connection comes from the same PROXMOX_* variables the modules read (environment wins over the
file's ``[proxmox]`` table); tool arguments never carry connection settings or credentials.

```toml
[proxmox]            # all optional when PROXMOX_* are set
host = "pve1.example.com:8006"
user = "automation@pve"
token_id = "mcp"
token_secret = "..."          # or password = "..."
validate_certs = true
ca_path = "/etc/ssl/pve-ca.pem"

[bridge]
read_only = false
tools = ["get_guest_config", "update_vm_resources"]   # allow-list; default: all
vmids = [100, "200-299"]                              # allow-list of guests; default: all
pools = ["lab"]                                       # guests in these pools are allowed too
max_parallel = 4
timeout = 300
audit_log = "~/.local/state/pve-config-mcp/audit.jsonl"
warm = true                   # runs started ahead of calls (--no-warm: every call runs cold)
warm_size = 1                 # waiting runs per module
fork_server = true            # pre-loaded module interpreter for warm runs
plan_key_file = "/etc/pve-config-mcp/plan.key"       # or PVE_MCP_PLAN_KEY; default: a key per process
plan_ttl = 900                                        # seconds a plan of plan_guest_config stays valid
task_ttl = 3600                                       # seconds a task (MCP tasks extension) is kept after its call
approval = "model"            # "human": a destructive call waits for a person (approvals.py), confirm is not enough
approval_max_guests = 10      # human: a fleet apply over more guests than this needs a person too

[http]
host = "127.0.0.1"
port = 8765
token = "..."                 # deprecated: one plain token with every scope (or PVE_MCP_TOKEN / token_file)
[[http.tokens]]               # static tokens, stored hashed (pve-config-mcp hash-token), each with its grants
name = "alice"
hash = "sha256:..."
scopes = ["pve:read", "pve:write:vmid:100-199", "pve:destroy:tag:scratch"]
allowed_hosts = []            # extra Host values (DNS-rebinding protection)
allowed_origins = []
```
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

# Module option -> environment variable (the modules' env fallbacks, docs/design.md "Connection").
PROXMOX_ENV = {
    "host": "PROXMOX_HOST",
    "port": "PROXMOX_PORT",
    "user": "PROXMOX_USER",
    "password": "PROXMOX_PASSWORD",
    "token_id": "PROXMOX_TOKEN_ID",
    "token_secret": "PROXMOX_TOKEN_SECRET",
    "validate_certs": "PROXMOX_VALIDATE_CERTS",
    "ca_path": "PROXMOX_CA_PATH",
    "timeout": "PROXMOX_TIMEOUT",
}
TOKEN_ENV = "PVE_MCP_TOKEN"
PLAN_KEY_ENV = "PVE_MCP_PLAN_KEY"
DEFAULT_AUDIT_LOG = "~/.local/state/pve-config-mcp/audit.jsonl"


class ConfigError(ValueError):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProxmoxSettings(_Section):
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: SecretStr | None = None
    token_id: str | None = None
    token_secret: SecretStr | None = None
    validate_certs: bool | None = None
    ca_path: str | None = None
    timeout: int | None = None

    def envvars(self) -> dict[str, str]:
        """The PROXMOX_* variables for the module runs."""
        env: dict[str, str] = {}
        for key, var in PROXMOX_ENV.items():
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[var] = str(value)
        return env

    def secrets(self) -> list[str]:
        return [s.get_secret_value() for s in (self.password, self.token_secret) if s is not None]

    def check(self) -> None:
        if not self.host:
            raise ConfigError("no Proxmox host: set PROXMOX_HOST or [proxmox] host")
        has_token = self.token_id is not None or self.token_secret is not None
        if has_token and (self.token_id is None or self.token_secret is None):
            raise ConfigError("PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET are required together")
        if not has_token and self.password is None:
            raise ConfigError("no Proxmox credentials: set PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET or PROXMOX_PASSWORD")
        if not self.user:
            raise ConfigError("no Proxmox user: set PROXMOX_USER or [proxmox] user")


class BridgeSettings(_Section):
    read_only: bool = False
    tools: list[str] | None = Field(None, description="allow-list of tool names; None = all")
    vmids: list[int | str] | None = Field(None, description="allow-list of VMIDs or ranges '200-299'")
    pools: list[str] | None = None
    max_parallel: int = Field(4, ge=1, le=256)
    timeout: float = Field(300.0, gt=0, le=86400)
    audit_log: str | None = DEFAULT_AUDIT_LOG
    collections_path: str | None = None
    protected_tags: list[str] = Field(
        default_factory=lambda: ["pve-config-protected"],
        description="guests with one of these tags (or Proxmox protection: 1) get no destructive call",
    )
    # Warm runs (mcp_bridge/pool.py): runs started ahead of the calls; warm = false runs every call cold.
    warm: bool = True
    warm_size: int = Field(1, ge=0, le=16, description="waiting runs per module")
    warm_lifetime: float = Field(600.0, gt=0, le=86400, description="seconds a run may wait before it is replaced")
    warm_max_runs: int = Field(8, ge=1, le=256, description="waiting and starting runs in all (about 60 MB each)")
    warm_min_available_mb: int = Field(512, ge=0, description="below this MemAvailable, no run waits: calls run cold")
    fork_server: bool = True
    plan_key: SecretStr | None = Field(None, description="HMAC key of plans (PVE_MCP_PLAN_KEY); see plans.py")
    plan_key_file: str | None = None
    plan_ttl: float = Field(900.0, gt=0, le=7 * 86400)
    task_ttl: float = Field(3600.0, gt=0, le=7 * 86400, description="seconds a task is kept after its call ended")
    # Approvals (approvals.py): "model" = confirm / elicitation as before; "human" = a person approves on the
    # approval page or with `pve-config-mcp approve ID`.
    approval: Literal["model", "human"] = "model"
    approval_max_guests: int = Field(10, ge=1, description="human: fleet applies above this size need a person")
    approval_ttl: float = Field(900.0, gt=0, le=86400, description="seconds an approval request stays valid")
    approval_code_ttl: float = Field(300.0, gt=0, le=3600, description="seconds the approval page's code works")
    approval_wait: float = Field(120.0, ge=0, le=3600, description="seconds a call waits for the page's decision")
    approval_dir: str | None = Field(None, description="0700 directory of the approval socket (approve / reject)")
    resource_ttl: float = Field(5.0, ge=0, le=3600, description="seconds a resource read is reused (0: never)")

    def plan_key_bytes(self) -> bytes | None:
        """The configured plan key (environment first, then the file), or None: the bridge then makes its own."""
        if self.plan_key is not None:
            return self.plan_key.get_secret_value().encode("utf-8")
        if not self.plan_key_file:
            return None
        path = Path(self.plan_key_file).expanduser()
        try:
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(f"plan_key_file {path} is readable by others; chmod 600 it")
            key = path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read plan_key_file {path}: {exc.strerror}") from None
        if not key:
            raise ConfigError(f"plan_key_file {path} is empty")
        return key

    @field_validator("vmids")
    @classmethod
    def _vmid_ranges(cls, value: list[int | str] | None) -> list[int | str] | None:
        for item in value or ():
            parse_vmid_range(item)
        return value


class StaticTokenSettings(_Section):
    """One static bearer token: stored as its hash (tokens.hash_token), never in plain text."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="who holds it, as the audit log names them")
    hash: str
    scopes: list[str] = Field(min_length=1, description="grants.py scope strings")

    @field_validator("hash")
    @classmethod
    def _hash(cls, value: str) -> str:
        from .tokens import check_hash

        return check_hash(value)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        from .grants import parse_grant

        for scope in value:
            parse_grant(scope)
        return value


class OAuthSettings(_Section):
    """OAuth 2.1 resource server (oauth.py): JWTs of one issuer, checked against its JWKS."""

    issuer: str = Field(pattern=r"^https?://", description="the authorization server, the tokens' `iss`")
    resource: str = Field(pattern=r"^https?://", description="this bridge's resource URL, the tokens' `aud`")
    jwks_file: str | None = None
    jwks_url: str | None = Field(None, pattern=r"^https?://")
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    leeway: float = Field(30.0, ge=0, le=300, description="seconds of clock skew allowed for exp / nbf / iat")

    @model_validator(mode="after")
    def _one_jwks(self) -> OAuthSettings:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of jwks_file and jwks_url")
        return self


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    path: str = "/mcp"
    token: SecretStr | None = None
    token_file: str | None = None
    tokens: list[StaticTokenSettings] = Field(default_factory=list)
    oauth: OAuthSettings | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    stateless: bool = False
    public_url: str | None = Field(
        None, pattern=r"^https?://", description="the bridge's URL as browsers reach it (approval page links)"
    )

    @field_validator("tokens")
    @classmethod
    def _distinct(cls, value: list[StaticTokenSettings]) -> list[StaticTokenSettings]:
        for attr in ("name", "hash"):
            seen = [getattr(entry, attr) for entry in value]
            if len(set(seen)) != len(seen):
                raise ValueError(f"two [[http.tokens]] entries have the same {attr}")
        return value

    def bearer_token(self) -> str | None:
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_file:
            token = Path(self.token_file).expanduser().read_text().strip()
            if not token:
                raise ConfigError(f"token_file {self.token_file} is empty")
            return token
        return None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


class Config(_Section):
    proxmox: ProxmoxSettings = Field(default_factory=ProxmoxSettings)
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)

    def secrets(self) -> list[str]:
        """Every secret value the bridge knows: redacted from results, errors and the audit log."""
        found = self.proxmox.secrets()
        if self.http.token is not None:
            found.append(self.http.token.get_secret_value())
        if self.bridge.plan_key is not None:
            found.append(self.bridge.plan_key.get_secret_value())
        return found


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_vmid_range(item: int | str) -> range:
    if isinstance(item, int):
        return range(item, item + 1)
    text = str(item).strip()
    low, sep, high = text.partition("-")
    try:
        start = int(low)
        end = int(high) if sep else start
    except ValueError:
        raise ValueError(f"vmids entry {item!r} is not a VMID or a range like '200-299'") from None
    if end < start:
        raise ValueError(f"vmids range {item!r} is empty")
    return range(start, end + 1)


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path).expanduser()
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    try:
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix in (".yml", ".yaml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {p} must end in .toml, .yml or .yaml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {p} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table/mapping")
    proxmox = data.get("proxmox") or {}
    bridge = data.get("bridge") or {}
    holds_secret = any(k in proxmox for k in ("password", "token_secret")) or "plan_key" in bridge
    if holds_secret and p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"config file {p} holds a secret but is readable by others; chmod 600 it")
    return data


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """File, then PROXMOX_* / PVE_MCP_TOKEN from `environ`, then `overrides` (command line)."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = read_file(path) if path else {}
    for section in ("proxmox", "bridge", "http"):
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ConfigError(f"[{section}] must be a table/mapping")
    for key, var in PROXMOX_ENV.items():
        if environ.get(var) not in (None, ""):
            data["proxmox"][key] = environ[var]
    if environ.get(TOKEN_ENV):
        data["http"]["token"] = environ[TOKEN_ENV]
    if environ.get(PLAN_KEY_ENV):
        data["bridge"]["plan_key"] = environ[PLAN_KEY_ENV]
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        # Locations and reasons only: the rejected values may be secrets.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None
