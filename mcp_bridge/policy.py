"""Operator controls: read-only mode, a tool allow-list, and an allow-list of guests (VMIDs and/or pools).

Tools the policy does not allow are not registered at all, and every call is checked again before it runs.
Pool membership is read from Proxmox (`GET /cluster/resources?type=vm`, read only) only when pools are
configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .config import BridgeSettings, ProxmoxSettings, parse_vmid_range
from .tools import TOOLS_BY_NAME, ToolSpec

PoolOf = Callable[[int], str | None]


class PolicyError(Exception):
    """A call the operator does not allow; the message is safe to show to a client."""


@dataclass(frozen=True)
class Policy:
    read_only: bool = False
    tools: frozenset[str] | None = None
    vmids: tuple[range, ...] | None = None
    pools: frozenset[str] | None = None

    @classmethod
    def from_settings(cls, settings: BridgeSettings) -> Policy:
        tools = None
        if settings.tools is not None:
            unknown = sorted(set(settings.tools) - set(TOOLS_BY_NAME))
            if unknown:
                raise ValueError(f"unknown tools in the allow-list: {', '.join(unknown)}")
            tools = frozenset(settings.tools)
        return cls(
            read_only=settings.read_only,
            tools=tools,
            vmids=None if settings.vmids is None else tuple(parse_vmid_range(v) for v in settings.vmids),
            pools=None if settings.pools is None else frozenset(settings.pools),
        )

    def allows_tool(self, spec: ToolSpec) -> bool:
        if self.read_only and not spec.read_only:
            return False
        return self.tools is None or spec.name in self.tools

    def enabled(self, specs: Iterable[ToolSpec]) -> list[ToolSpec]:
        return [spec for spec in specs if self.allows_tool(spec)]

    def check_tool(self, spec: ToolSpec) -> None:
        if self.read_only and not spec.read_only:
            raise PolicyError(f"{spec.name} changes guests and the bridge is in read-only mode; nothing was changed")
        if not self.allows_tool(spec):
            raise PolicyError(f"{spec.name} is not in the bridge's tool allow-list; nothing was changed")

    @property
    def restricts_guests(self) -> bool:
        return self.vmids is not None or self.pools is not None

    def check_guest(self, vmid: int, pool_of: PoolOf | None) -> None:
        """Raise unless `vmid` is allowed by VMID or by pool (either list admits a guest)."""
        if not self.restricts_guests:
            return
        if self.vmids is not None and any(vmid in r for r in self.vmids):
            return
        if self.pools and pool_of is not None:
            pool = pool_of(vmid)
            if pool is not None and pool in self.pools:
                return
        raise PolicyError(f"guest {vmid} is not in the bridge's allow-list of guests; nothing was changed")


class PoolLookup:
    """Reads a guest's pool from Proxmox with the bridge's own credentials (read only)."""

    def __init__(self, settings: ProxmoxSettings) -> None:
        self.settings = settings

    def _api(self):  # pragma: no cover - exercised against the simulator
        from proxmoxer import ProxmoxAPI

        s = self.settings
        verify: bool | str = s.validate_certs if s.validate_certs is not None else True
        if verify and s.ca_path:
            verify = s.ca_path
        kwargs: dict[str, object] = {"user": s.user, "verify_ssl": verify, "timeout": s.timeout or 30}
        if s.port:
            kwargs["port"] = s.port
        if s.token_id is not None and s.token_secret is not None:
            kwargs.update(token_name=s.token_id, token_value=s.token_secret.get_secret_value())
        elif s.password is not None:
            kwargs["password"] = s.password.get_secret_value()
        return ProxmoxAPI(s.host, **kwargs)

    def __call__(self, vmid: int) -> str | None:
        try:
            resources = self._api().cluster.resources.get(type="vm")
        except Exception as exc:  # noqa: BLE001 - any failure means "not allowed", said without details
            raise PolicyError(
                f"could not read the pool of guest {vmid} from Proxmox ({type(exc).__name__}); nothing was changed"
            ) from None
        for item in resources:
            if int(item.get("vmid", -1)) == vmid:
                return item.get("pool")
        return None
