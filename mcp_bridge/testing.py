"""Run the bridge over streamable HTTP as a child process, for tests and benchmarks.

``BridgeProcess`` starts ``python -m mcp_bridge --transport http --port 0 ...`` (or another command), reads its
stderr until the bridge prints the URL it listens on, then keeps copying stderr to a log file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path


class BridgeProcess:
    """The bridge listening on a free loopback port; ``url`` is its MCP endpoint."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        cwd: Path | None = None,
        command: list[str] | None = None,
        start_timeout: float = 60,
    ) -> None:
        self.log_path = Path(log_path)
        self.proc = subprocess.Popen(
            [*(command or [sys.executable, "-m", "mcp_bridge"]), "--transport", "http", "--port", "0", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self._wait_for_url(start_timeout)
        self._drain = threading.Thread(target=self._copy_log, daemon=True)
        self._drain.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self.log_path.open("w") as log:
            while time.monotonic() < deadline:
                line = self.proc.stderr.readline()
                if not line:
                    break
                log.write(line)
                if "listening on " in line:
                    return line.split("listening on ", 1)[1].strip()
        self.stop()
        raise RuntimeError(f"the HTTP bridge did not start: {self.log_path.read_text()}")

    def _copy_log(self) -> None:
        with self.log_path.open("a") as log:
            for line in self.proc.stderr:
                log.write(line)
                log.flush()

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
