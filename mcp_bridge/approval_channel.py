"""The private channel between `pve-config-mcp approve | reject | approvals` and the running bridge.

The bridge listens on a Unix socket in a state directory only its user can enter: `approval_dir`, default
``$XDG_RUNTIME_DIR/pve-config-mcp`` (a per-user tmpfs) or else ``~/.local/state/pve-config-mcp/approvals``. The
directory is created 0700 and refused when it is a symlink, owned by another user or open to others; the socket
is ``bridge-<pid>-<random>.sock``, 0600, removed when the bridge stops (each bridge of the user has its own; the
CLI asks each). The bridge checks the peer's uid (``SO_PEERCRED``): only its own user and root are answered, and
the approver recorded in the audit log is that uid's user name, from the kernel, not from the request.

One request per connection: a JSON line ``{"op": "approve" | "reject" | "show" | "list", "id": ...}``, answered
by one JSON line. Nothing secret crosses it: approvals are named by id, approval codes never leave the bridge.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import socket
import stat
import struct
import threading
from pathlib import Path
from typing import Any

from .approvals import ApprovalError, ApprovalStore
from .config import ConfigError

MAX_REQUEST = 4096
TIMEOUT = 10.0


def default_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "pve-config-mcp"
    return Path("~/.local/state/pve-config-mcp/approvals").expanduser()


def private_dir(configured: str | None, *, create: bool) -> Path:
    """The approval directory, checked: a real directory of this user, mode 0700 (created so when missing)."""
    path = Path(configured).expanduser() if configured else default_dir()
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
    try:
        info = path.lstat()
    except OSError as exc:
        raise ConfigError(f"approval directory {path}: {exc.strerror} (is the bridge running?)") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"approval directory {path} is not a directory (a symlink?)")
    if info.st_uid != os.getuid():
        raise ConfigError(f"approval directory {path} belongs to another user")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"approval directory {path} is open to other users; chmod 700 it")
    return path


def peer_user(conn: socket.socket) -> tuple[int, str]:
    """The uid of the process at the other end (the kernel's answer) and its user name."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    try:
        return uid, pwd.getpwuid(uid).pw_name
    except KeyError:
        return uid, f"uid {uid}"


def remove_stale(directory: Path) -> None:
    """Sockets of bridges that died without removing theirs (SIGKILL): their pid is gone."""
    for path in directory.glob("bridge-*.sock"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class ApprovalChannel:
    """The bridge's end: a thread answering the CLI on the socket."""

    def __init__(self, store: ApprovalStore, directory: Path) -> None:
        self.store = store
        self.path = directory / f"bridge-{os.getpid()}-{secrets.token_hex(4)}.sock"
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        remove_stale(self.path.parent)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket file is created 0600
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        sock.listen(8)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="approval-channel", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(TIMEOUT)
                with contextlib.suppress(OSError, ValueError):
                    conn.sendall((json.dumps(self.answer(conn)) + "\n").encode("utf-8"))

    def answer(self, conn: socket.socket) -> dict[str, Any]:
        uid, user = peer_user(conn)
        if uid not in (os.getuid(), 0):
            return {"error": "only the bridge's own user or root may decide approvals"}
        try:
            request = json.loads(conn.makefile("rb").readline(MAX_REQUEST))
            op, approval_id = request.get("op"), request.get("id")
        except (ValueError, AttributeError):
            return {"error": "bad request"}
        if op == "list":
            return {"approvals": [a.public() for a in self.store.pending()]}
        approval = self.store.get(str(approval_id))
        if approval is None:
            return {"unknown": True, "error": f"no approval {approval_id} is known to this bridge"}
        if op == "show":
            return {"approval": approval.public()}
        if op not in ("approve", "reject"):
            return {"error": f"unknown op {op!r}"}
        try:
            decided = self.store.decide(approval.id, op == "approve", f"cli:{user}")
        except ApprovalError as exc:
            return {"error": str(exc)}
        return {"approval": decided.public()}


def ask(directory: Path, op: str, approval_id: str | None = None) -> dict[str, Any]:
    """The CLI's end: ask every bridge of this user (its socket in `directory`) until one knows the approval."""
    answers: list[dict[str, Any]] = []
    for path in sorted(directory.glob("bridge-*.sock")):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(TIMEOUT)
                conn.connect(str(path))
                conn.sendall((json.dumps({"op": op, "id": approval_id}) + "\n").encode("utf-8"))
                reply = json.loads(conn.makefile("rb").readline(1 << 22) or b"{}")
        except (OSError, ValueError):
            continue  # a bridge that stopped without removing its socket (SIGKILL)
        if op == "list":
            answers.extend(reply.get("approvals", []))
        elif not reply.get("unknown"):
            return reply
    if op == "list":
        return {"approvals": answers}
    return {"error": f"no running bridge of this user knows approval {approval_id} (in {directory})"}
