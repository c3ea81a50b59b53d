"""A few seconds' memory of reads: each key's value is reused until it is `ttl` seconds old, and concurrent reads
of one key wait for one load (single flight). A failed load is not kept."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import anyio


class TtlCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._locks: dict[Hashable, anyio.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        found = self._values.get(key)
        if found is not None and self.clock() - found[0] < self.ttl:
            return True, found[1]
        return False, None

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
        """``(value, cached)``: the kept value of `key` while it is fresh, else what `load()` returns now."""
        fresh, value = self._fresh(key)
        if fresh:
            return value, True
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            fresh, value = self._fresh(key)  # loaded by the read this one waited for
            if fresh:
                return value, True
            value = await load()
            if self.ttl > 0:
                self._values[key] = (self.clock(), value)
                self._drop_stale()
            return value, False

    def _drop_stale(self) -> None:
        now = self.clock()
        for key in [key for key, (at, _value) in self._values.items() if now - at >= self.ttl]:
            del self._values[key]
