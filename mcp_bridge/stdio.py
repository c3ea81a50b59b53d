"""The stdio transport, stopped like a cancel: SIGTERM, SIGINT, SIGHUP or the end of stdin.

Any of them interrupts the bridge (`Bridge.interrupt`): every run in progress is stopped with its whole process
tree and its data dir removed, each stopped call writes an "interrupted" audit line with a re-read of its
guest, new calls are refused, and the process exits once those lines are written.
"""

from __future__ import annotations

import io
import signal
import sys
from collections.abc import AsyncIterator, Callable

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server

from .server import Bridge

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
ANSWER_GRACE = 0.5  # seconds for the answers of the stopped calls to reach the client before the loop ends


class LinesUntilEof:
    """stdin as the lines the stdio transport iterates over; calls `on_eof` when the client closes it."""

    def __init__(self, on_eof: Callable[[], None]) -> None:
        self._file = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
        self._on_eof = on_eof

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        async for line in self._file:
            yield line
        self._on_eof()


async def serve_stdio(mcp: MCPServer, bridge: Bridge) -> None:
    async with anyio.create_task_group() as tg:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(*SIGNALS) as received:
                async for signum in received:
                    bridge.interrupt(signal.Signals(signum).name)
                    await bridge.drain()
                    await anyio.sleep(ANSWER_GRACE)
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(stop_on_signal)
        # MCPServer.run_stdio_async, with our stdin: it takes no stream of its own.
        server = mcp._lowlevel_server  # noqa: SLF001
        async with stdio_server(stdin=LinesUntilEof(lambda: bridge.interrupt("stdin closed"))) as streams:
            await server.run(*streams, server.create_initialization_options())
        await bridge.drain()
        tg.cancel_scope.cancel()
