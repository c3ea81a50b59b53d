"""What the conformance suite runs against: a real cluster named by the environment, or the simulator.

Real-cluster mode is chosen by ``PVE_TEST_VMID`` / ``PVE_TEST_CTID`` (both required then, with ``PROXMOX_HOST``
and credentials); without them the suite starts ``pve_sim`` with its realism switch on. The connection is read
from the same ``PROXMOX_*`` variables the modules read (design.md, Connection). Secrets stay in this object:
``describe()`` and ``repr()`` never show them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from proxmoxer import ProxmoxAPI

from .proxy import Upstream

REAL = "real-cluster"
SIMULATOR = "simulator"
# the simulator's scratch guests (pve_sim/seed.py, realism on): edge01, a running VM as PVE 9 writes it
# (cpu guest-phys-bits and net0 host-tunnel, which the collection's tables need not know; memory hot-plug with
# NUMA, so memory changes are DIMM-aligned) and dns01, a running container
SIM_VMID, SIM_CTID = 110, 200
DEFAULT_STORAGE, DEFAULT_BRIDGE = "local-lvm", "vmbr0"
# thick LVM with 4 MiB extents in the simulator's realism (pve-storage LVMPlugin alloc_lvm_image): the disk cycle
# runs on it too, so CI meets a storage that rounds sizes whatever PVE_TEST_STORAGE is
SIM_ROUNDING_STORAGE = "san-lvm"
FALSE = ("0", "false", "no", "off")


class ConfigurationError(Exception):
    """The environment names a real cluster incompletely."""


@dataclass
class Target:
    mode: str
    host: str
    port: int
    user: str
    vmid: int
    ctid: int
    storage: str = DEFAULT_STORAGE
    bridge: str = DEFAULT_BRIDGE
    token_id: str | None = None
    token_secret: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    validate_certs: bool = True
    ca_path: str | None = None
    extra_storages: tuple[str, ...] = ()

    @property
    def real(self) -> bool:
        return self.mode == REAL

    @property
    def storages(self) -> tuple[str, ...]:
        """Every storage the suite may create volumes on (the restore checks them all)."""
        return (self.storage, *(s for s in self.extra_storages if s != self.storage))

    def upstream(self) -> Upstream:
        return Upstream(self.host, self.port, self.validate_certs, self.ca_path)

    def auth_env(self) -> dict[str, str]:
        """The PROXMOX_* credentials the modules get (token, or password when no token is configured)."""
        env = {"PROXMOX_USER": self.user}
        if self.token_id:
            env.update(PROXMOX_TOKEN_ID=self.token_id, PROXMOX_TOKEN_SECRET=self.token_secret or "")
        else:
            env["PROXMOX_PASSWORD"] = self.password or ""
        return env

    def api(self, timeout: int = 60) -> ProxmoxAPI:
        """proxmoxer straight to the target (not through the counting forwarder): snapshot and restore."""
        verify: bool | str = (self.ca_path or True) if self.validate_certs else False
        auth = (
            {"token_name": self.token_id, "token_value": self.token_secret}
            if self.token_id
            else {"password": self.password}
        )
        return ProxmoxAPI(self.host, port=self.port, user=self.user, verify_ssl=verify, timeout=timeout, **auth)

    def describe(self) -> str:
        auth = f"token {self.user}!{self.token_id}" if self.token_id else f"password of {self.user}"
        tls = f"ca_path {self.ca_path}" if self.ca_path else ("system CAs" if self.validate_certs else "NOT verified")
        return (
            f"{self.mode.upper()} https://{self.host}:{self.port} ({auth}, TLS {tls}); "
            f"scratch VM {self.vmid}, scratch CT {self.ctid}, storage {self.storage}, bridge {self.bridge}"
        )


def split_host(value: str, default_port: int) -> tuple[str, int]:
    """``pve1``, ``pve1:8006``, ``[fe80::1]:8006`` or a bare IPv6 address -> (host, port)."""
    if value.startswith("["):
        host, _bracket, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, default_port


def _int(env: dict[str, str], name: str) -> int:
    try:
        return int(env[name])
    except (KeyError, ValueError):
        raise ConfigurationError(
            f"{name} must be the vmid of a scratch guest (an integer), got {env.get(name)!r}"
        ) from None


def wants_real_cluster(env: dict[str, str]) -> bool:
    return bool(env.get("PVE_TEST_VMID") or env.get("PVE_TEST_CTID"))


def real_target(env: dict[str, str]) -> Target:
    """The real cluster the environment names; a clear error for what is missing (no silent simulator run)."""
    missing = [name for name in ("PROXMOX_HOST", "PROXMOX_USER", "PVE_TEST_VMID", "PVE_TEST_CTID") if not env.get(name)]
    if not (env.get("PROXMOX_PASSWORD") or (env.get("PROXMOX_TOKEN_ID") and env.get("PROXMOX_TOKEN_SECRET"))):
        missing.append("PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET (or PROXMOX_PASSWORD)")
    if missing:
        raise ConfigurationError("real-cluster conformance run needs " + ", ".join(missing))
    host, port = split_host(env["PROXMOX_HOST"], int(env.get("PROXMOX_PORT") or 8006))
    return Target(
        mode=REAL,
        host=host,
        port=port,
        user=env["PROXMOX_USER"],
        vmid=_int(env, "PVE_TEST_VMID"),
        ctid=_int(env, "PVE_TEST_CTID"),
        storage=env.get("PVE_TEST_STORAGE") or DEFAULT_STORAGE,
        bridge=env.get("PVE_TEST_BRIDGE") or DEFAULT_BRIDGE,
        token_id=env.get("PROXMOX_TOKEN_ID") or None,
        token_secret=env.get("PROXMOX_TOKEN_SECRET") or None,
        password=env.get("PROXMOX_PASSWORD") or None,
        validate_certs=(env.get("PROXMOX_VALIDATE_CERTS") or "true").lower() not in FALSE,
        ca_path=env.get("PROXMOX_CA_PATH") or None,
    )


def simulator_target(server, env: dict[str, str]) -> Target:
    """A running ``pve_sim`` server (pve_sim.server.SimServer) with the seeded scratch guests."""
    return Target(
        mode=SIMULATOR,
        host=server.host,
        port=server.port,
        user=server.user,
        vmid=SIM_VMID,
        ctid=SIM_CTID,
        storage=env.get("PVE_TEST_STORAGE") or DEFAULT_STORAGE,
        bridge=env.get("PVE_TEST_BRIDGE") or DEFAULT_BRIDGE,
        token_id=server.token_id,
        token_secret=server.token_secret,
        ca_path=server.ca_path,
        extra_storages=(SIM_ROUNDING_STORAGE,),
    )


ENVIRONMENT = dict(os.environ)  # read at import, before any test drops the inherited PROXMOX_* variables
MODE = REAL if wants_real_cluster(ENVIRONMENT) else SIMULATOR
