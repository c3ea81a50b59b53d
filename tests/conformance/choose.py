"""What the cycles add to a scratch guest: slots its snapshot leaves free, and a MAC address of their own."""

from __future__ import annotations

import secrets


def free_slots(config: dict[str, str], prefix: str, last: int) -> list[str]:
    """``prefix1`` .. ``prefix<last>`` that the config does not use (slot 0 is left to the guest's own devices)."""
    return [f"{prefix}{n}" for n in range(1, last + 1) if f"{prefix}{n}" not in config]


def free_nic(config: dict[str, str]) -> str:
    return free_slots(config, "net", 31)[0]


def local_mac() -> str:
    """A random locally administered unicast MAC (first octet 0x0A): known before the write, so check mode can
    predict the new NIC exactly, and unlike any vendor's address on the lab network."""
    return "0A:" + ":".join(f"{b:02X}" for b in secrets.token_bytes(5))
