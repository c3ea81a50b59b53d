"""Operator controls: read-only mode, a tool allow-list, and an allow-list of guests (VMIDs and/or pools).

Tools the policy does not allow are not registered at all, and every call is checked again before it runs.
A guest's pool is read by the caller (Bridge.check_guest: through the collection, the `pool` of guest_info's
result) only when pools are configured and the VMID list does not already admit the guest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .config import BridgeSettings, parse_vmid_range
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

    def admits_by_vmid(self, vmid: int) -> bool:
        return self.vmids is not None and any(vmid in r for r in self.vmids)

    def check_guest(self, vmid: int, pool_of: PoolOf | None) -> None:
        """Raise unless `vmid` is allowed by VMID or by pool (either list admits a guest)."""
        if not self.restricts_guests or self.admits_by_vmid(vmid):
            return
        if self.pools and pool_of is not None:
            pool = pool_of(vmid)
            if pool is not None and pool in self.pools:
                return
        raise PolicyError(f"guest {vmid} is not in the bridge's allow-list of guests; nothing was changed")
