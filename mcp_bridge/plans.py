"""Signed, self-contained guest_config plans: what `plan_guest_config` hands out and `apply_guest_config` takes.

A plan id is the plan itself, ``pvecfg-plan-1.<payload>.<mac>``: the payload is canonical JSON (base64url) of the
guest, the `config`/`absent` to apply, whether volumes may be destroyed, the config digest the plan was computed
from, and its issue and expiry times; the mac is HMAC-SHA256 over the prefix and payload with the bridge's plan key.
The bridge keeps no state: any bridge (replica) holding the same key can verify and apply a plan, and one without
it refuses it. The payload is readable by whoever holds the plan id (it is only signed, not encrypted), which is
why no secret ever goes into a plan (`SECRET_KEYS`: refused when planning).

The key comes from the configuration (`plan_key_file`, or ``PVE_MCP_PLAN_KEY``); without one each bridge process
generates its own at start, and then only that process can apply the plans it made (a restart invalidates them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PREFIX = "pvecfg-plan-1"
PLAN_ID_PATTERN = r"^pvecfg-plan-1\.[A-Za-z0-9_-]{1,65536}\.[A-Za-z0-9_-]{43}$"
# a fleet plan carries every guest's vmid, change and digest (fleet_plan.py; at most fleet_tools.MAX_GUESTS): its
# length is bounded by FLEET_PLAN_ID_MAX (a bounded repetition that long would not compile)
FLEET_PLAN_ID_PATTERN = r"^pvecfg-plan-1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$"
FLEET_PLAN_ID_MAX = 1 << 20
GUEST_KIND = "guest"
MIN_KEY_BYTES = 32
# Write-only config keys (module_utils/config_values.py SECRET_KEYS): a plan is readable by its holder.
SECRET_KEYS = ("cipassword", "password")


class PlanInvalid(ValueError):
    """A plan id that is malformed, tampered with, signed with another key or expired; safe to show."""


@dataclass(frozen=True)
class Plan:
    vmid: int
    guest_type: str
    config: dict[str, Any]
    absent: list[str]
    destroys: list[str]  # the keys whose volumes applying the plan destroys (purge steps of the check run)
    digest: str
    issued: int
    expires: int

    def module_args(self) -> dict[str, Any]:
        """guest_config options that apply exactly this plan: bound to its digest, purging only what it destroys."""
        return {
            "vmid": self.vmid,
            "type": self.guest_type,
            "config": self.config,
            "absent": self.absent,
            "purge": bool(self.destroys),
            "if_digest": self.digest,
        }

    @property
    def expires_at(self) -> str:
        return expires_text(self.expires)


def expires_text(expires: int) -> str:
    return datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")


def without_signature(plan_id: Any) -> Any:
    """`plan_id` as logs keep it: the signature replaced, so a log line is never a plan anyone can apply."""
    if not isinstance(plan_id, str):
        return plan_id
    prefix, _dot, rest = plan_id.partition(".")
    body = rest.rpartition(".")[0] or rest
    return f"{prefix}.{body}.<signature>"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """A short public name of a key (a hash prefix), carried in plans to tell "another key" from "tampered"."""
    return hashlib.sha256(b"pve-config plan key id\0" + key).hexdigest()[:12]


class PlanSigner:
    """Signs and verifies plans with one key; `ttl` seconds from issue to expiry; `clock` returns Unix time."""

    def __init__(self, key: bytes | None, ttl: float, *, clock: Callable[[], float] = time.time) -> None:
        self.generated = key is None
        self.key = secrets.token_bytes(MIN_KEY_BYTES) if key is None else key
        if len(self.key) < MIN_KEY_BYTES:
            raise ValueError(f"the plan key must be at least {MIN_KEY_BYTES} bytes")
        self.kid = key_id(self.key)
        self.ttl = ttl
        self.clock = clock

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.key, f"{PREFIX}.{body}".encode("ascii"), hashlib.sha256).digest())

    def sign(
        self,
        *,
        vmid: int,
        guest_type: str,
        config: Mapping[str, Any],
        absent: list[str],
        destroys: list[str],
        digest: str,
    ) -> tuple[str, Plan]:
        payload = {
            "vmid": vmid,
            "type": guest_type,
            "config": dict(config),
            "absent": list(absent),
            "destroys": list(destroys),
            "digest": digest,
        }
        plan_id, _expires_at = self.seal(payload)
        return plan_id, self.verify(plan_id)

    def verify(self, plan_id: str) -> Plan:
        """The guest plan `plan_id` holds, or PlanInvalid saying why it is refused (nothing is trusted before the
        mac)."""
        data = self.unseal(plan_id, kind=GUEST_KIND)
        return Plan(
            vmid=data["vmid"],
            guest_type=data["type"],
            config=data["config"],
            absent=data["absent"],
            destroys=data["destroys"],
            digest=data["digest"],
            issued=data["iat"],
            expires=data["exp"],
        )

    # The same signature, key id and expiry for every kind of plan: a guest plan (sign/verify) carries no `kind`,
    # a fleet plan (fleet_plan.py) carries kind "fleet"; each kind's tools refuse the other's plans.

    def seal(self, payload: Mapping[str, Any]) -> tuple[str, str]:
        """A plan id holding `payload` (plus key id, issue and expiry times), and its expiry as UTC text."""
        now = int(self.clock())
        data = {**payload, "kid": self.kid, "iat": now, "exp": now + int(self.ttl)}
        body = _b64(json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8"))
        return f"{PREFIX}.{body}.{self._mac(body)}", expires_text(data["exp"])

    def unseal(self, plan_id: str, *, kind: str) -> dict[str, Any]:
        """The payload of a plan id of `kind`, or PlanInvalid saying why it is refused."""
        prefix, _dot, rest = plan_id.partition(".")
        body, _dot, mac = rest.partition(".")
        if prefix != PREFIX or not body or not mac:
            raise PlanInvalid(f"plan_id is not a plan made by plan_{kind}_config; nothing was changed")
        if not hmac.compare_digest(self._mac(body), mac):
            raise PlanInvalid(self._foreign_or_tampered(body))
        data = json.loads(_unb64(body))
        found = data.get("kind", GUEST_KIND)
        if found != kind:
            raise PlanInvalid(
                f"plan_id is a plan of plan_{found}_config: apply it with apply_{found}_config; nothing was changed"
            )
        if self.clock() >= data["exp"]:
            what = f"the plan for guest {data['vmid']}" if kind == GUEST_KIND else f"the {kind} plan"
            raise PlanInvalid(
                f"{what} expired at {expires_text(data['exp'])}; make a new plan with plan_{kind}_config "
                "and review it again; nothing was changed"
            )
        return data

    def _foreign_or_tampered(self, body: str) -> str:
        try:
            kid = json.loads(_unb64(body)).get("kid")
        except (ValueError, binascii.Error, AttributeError):
            kid = None
        if isinstance(kid, str) and kid != self.kid:
            where = (
                "this bridge generated its plan key at start and cannot verify plans of another bridge process or of "
                "an earlier run of itself (configure plan_key_file or PVE_MCP_PLAN_KEY to share one)"
                if self.generated
                else "it was signed with another plan key"
            )
            return f"the plan was not made by this bridge: {where}; make a new plan; nothing was changed"
        return "the plan's signature does not match: it was changed after it was made; nothing was changed"


UNUSED_KEY = re.compile(r"^unused\d+$")


def destroyed_keys(steps: Any) -> list[str]:
    """The keys whose volumes a guest_config plan destroys: those of its `purge` step (the volumes it detaches),
    and `unusedN` keys it deletes (Proxmox frees the volume of a deleted unusedN entry: qemu-server
    src/PVE/API2/Qemu.pm $update_vm_api calls try_deallocate_drive for it, pve-container src/PVE/LXC/Config.pm
    vmconfig_apply_pending calls delete_mountpoint_volume; guest_config asks purge for them)."""
    found: list[str] = []
    for step in steps:
        action, keys = step.get("action"), step.get("keys") or []
        if action == "purge":
            found.extend(keys)
        elif action == "delete":
            found.extend(key for key in keys if UNUSED_KEY.match(key))
    return list(dict.fromkeys(found))
