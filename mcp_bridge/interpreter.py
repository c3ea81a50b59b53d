"""The pre-loaded module interpreter of warm runs: the bridge's fork server (forkserver.py) and the shim for it.

`ForkServer` starts ``python -I forkserver.py SOCKET`` with a socket path in a directory it creates (mkdtemp:
new, 0700, random name), waits until the server has loaded the modules' imports, and starts it again when it
died (checked each time a warm run asks for it). `shim()` is the ``ansible_python_interpreter`` of one warm run:
a small script, written into that run's private data dir, that hands its argv, environment, working directory and
standard descriptors to the server and exits with the module's exit status; when the server cannot be reached it
becomes the plain interpreter (``execv`` of the bridge's Python with the same arguments), so a module always runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

FORKSERVER = str(Path(__file__).with_name("forkserver.py"))
START_TIMEOUT = 60.0
MAX_SOCKET_PATH = 104
# Variables the server starts with (its own locale and home); a module's environment comes from its shim.
SERVER_ENV = ("HOME", "LANG", "LANGUAGE", "TZ", "PATH")

SHIM = """#!{python} -IS
# pve-config-mcp: the module interpreter of one warm run (mcp_bridge/interpreter.py); hands this process's
# argv, environment, working directory and stdin/stdout/stderr to the bridge's fork server.
import json, os, socket, struct, sys

SOCKET = {socket!r}
PYTHON = {python!r}

try:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(SOCKET)
except OSError:  # no fork server: the plain interpreter
    os.execv(PYTHON, [PYTHON, *sys.argv[1:]])
try:
    cwd = os.getcwd()
except OSError:
    cwd = "/"
header = json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": cwd}}).encode()
socket.send_fds(conn, [b"F"], [0, 1, 2])
conn.sendall(struct.pack("!I", len(header)) + header)
answer = b""
while not answer.endswith(b"\\n"):
    chunk = conn.recv(64)
    if not chunk:
        sys.stderr.write("pve-config-mcp: the fork server stopped during the module run\\n")
        os._exit(1)
    answer += chunk
code = int(answer)
os._exit(code if code >= 0 else 128 - code)
"""


def private_dir(tmp_root: str | None) -> str:
    """A new 0700 directory (mkdtemp) for the socket: in `tmp_root` (default $TMPDIR), or in /tmp when a socket
    path there would exceed what AF_UNIX takes (108 bytes)."""
    for root in (tmp_root or tempfile.gettempdir(), "/tmp"):
        if len(os.path.join(os.path.abspath(root), "pve-config-mcp-fork-xxxxxxxx", "x" * 21)) < MAX_SOCKET_PATH:
            return tempfile.mkdtemp(prefix="pve-config-mcp-fork-", dir=root)
    raise RuntimeError("no directory for the fork server's socket")


class ForkServer:
    """The bridge's fork server process: started on first use, started again when it died."""

    def __init__(self, python: str = sys.executable, tmp_root: str | None = None) -> None:
        self.python = python
        self.tmp_root = tmp_root
        self.starts = 0
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self.socket: str | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def ensure(self) -> str | None:
        """The socket of a live server (started now if needed), or None when it cannot be started."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return self.socket
            self._stop()
            try:
                return self._start()
            except (OSError, RuntimeError):
                self._stop()
                return None

    def shim(self, socket_path: str) -> str:
        return SHIM.format(python=self.python, socket=socket_path)

    def _start(self) -> str:
        self._dir = private_dir(self.tmp_root)
        path = os.path.join(self._dir, f"{secrets.token_hex(8)}.sock")
        env = {k: v for k, v in os.environ.items() if k in SERVER_ENV or k.startswith("LC_")}
        self._proc = subprocess.Popen(
            [self.python, "-I", FORKSERVER, path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the bridge, which stops the runs in order
        )
        answer: list[bytes] = []
        done = threading.Event()
        proc = self._proc

        def wait_ready() -> None:
            answer.append(proc.stdout.readline() if proc.stdout is not None else b"")
            done.set()

        threading.Thread(target=wait_ready, daemon=True).start()
        if not done.wait(START_TIMEOUT) or answer != [b"ready\n"]:
            raise RuntimeError("the fork server did not start")
        self.socket = path
        self.starts += 1
        return path

    def _stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
        self._proc = None
        self.socket = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def stop(self) -> None:
        with self._lock:
            self._stop()
