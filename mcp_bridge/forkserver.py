"""The fork server: a Python that has already imported what a module needs, and forks once per module run.

Run by file path (``python -I forkserver.py SOCKET``) by mcp_bridge/interpreter.py, which owns it; standard
library and the modules' own imports only. It listens on a Unix socket the bridge created in a 0700 directory
(the socket itself 0600) and accepts only peers of its own user (SO_PEERCRED). A warm run's module interpreter
(``ansible_python_interpreter``) is a shim (interpreter.SHIM) that sends its argv, environment, working directory
and standard file descriptors (SCM_RIGHTS) here, then waits for the exit status. For each such connection the
server forks a child that takes over those descriptors, that environment and that directory, and runs the
script ansible gave the interpreter (the AnsiballZ wrapper, on stdin with pipelining) as ``__main__``, exactly as
``python [script]`` would, minus the interpreter's start-up and the imports done here beforehand.

The child is in its own session and dies with the server (PR_SET_PDEATHSIG); when its shim goes away (the run
was cancelled or timed out and its process tree killed) the server kills the child's session. The server itself
dies with the bridge (PR_SET_PDEATHSIG) and never holds a secret: the environment a run's module gets comes from
the shim, per run, and lives only in the forked child.
"""

import builtins
import ctypes
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import tempfile
import traceback
import types

# What the pve.config modules import (plugins/module_utils), loaded once here instead of once per run.
PRELOAD = (
    "base64",
    "decimal",
    "fractions",
    "ipaddress",
    "json",
    "math",
    "re",
    "runpy",
    "shutil",
    "unicodedata",
    "zipfile",
    "ansible.module_utils.basic",
    "ansible.module_utils.common.warnings",
    "ansible.module_utils._internal._ansiballz._loader",
    "requests",
)
PR_SET_PDEATHSIG = 1
HEADER = struct.Struct("!I")
MAX_HEADER = 1 << 20


def prctl(option, value):
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def preload():
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from ansible.module_utils import _internal

    if _internal.is_controller:  # a module must see the target side of ansible, as in a plain interpreter
        raise SystemExit("pve-config-mcp fork server: ansible's controller code was imported")


def recv_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the shim closed the connection")
        data += chunk
    return data


def receive(conn):
    """(header, fds) sent by a shim: one byte with the three standard fds, then a length-prefixed JSON header."""
    _msg, fds, _flags, _addr = socket.recv_fds(conn, 1, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("the shim sent no file descriptors")
    (size,) = HEADER.unpack(recv_exact(conn, HEADER.size))
    if size > MAX_HEADER:
        raise ConnectionError("header too large")
    return json.loads(recv_exact(conn, size)), fds


def run_child(header, fds, server):
    """In the forked child: become the module's interpreter; never returns. `server`: the server's pid."""
    code = 1
    try:
        os.setsid()
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server:  # the server died before the signal was armed: its shim has its answer (EOF)
            return
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        os.environ.clear()
        os.environ.update(header["env"])
        tempfile.tempdir = None  # computed again from this run's TMPDIR
        try:
            os.chdir(header["cwd"])
        except OSError:
            pass
        argv = header["argv"]
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        if argv:  # python SCRIPT ARGS...
            with open(argv[0], "rb") as fh:
                source = fh.read()
            main.__file__ = argv[0]
            sys.argv = list(argv)
            sys.path[0:0] = [os.path.dirname(os.path.abspath(argv[0]))]
        else:  # python < script (pipelining)
            source = sys.stdin.buffer.read()
            sys.argv = [""]
            sys.path[0:0] = [""]
        sys.modules["__main__"] = main
        try:
            exec(compile(source, argv[0] if argv else "<stdin>", "exec"), main.__dict__)
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - reported like the interpreter would, on the run's stderr
            traceback.print_exc()
            code = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    finally:
        os._exit(code & 0xFF)


class Server:
    def __init__(self, path):
        self.selector = selectors.DefaultSelector()
        old = os.umask(0o177)
        try:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(path)
        finally:
            os.umask(old)
        self.listener.listen(64)
        self.wakeup_r, wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(wakeup_w, False)
        signal.set_wakeup_fd(wakeup_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wakeup_r, selectors.EVENT_READ, "reap")
        self.children = {}  # pid -> connection of its shim

    def accept(self):
        conn, _addr = self.listener.accept()
        try:
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            if uid != os.getuid():
                raise ConnectionError("peer of another user")
            conn.settimeout(10)
            header, fds = receive(conn)
        except (OSError, ValueError, ConnectionError):
            conn.close()
            return
        server = os.getpid()
        pid = os.fork()
        if pid == 0:
            run_child(header, fds, server)
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def reap(self):
        try:
            while os.read(self.wakeup_r, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            try:
                self.selector.unregister(conn)
            except (KeyError, ValueError):  # its shim had gone already
                pass
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
            conn.close()

    def shim_gone(self, conn, pid):
        """The shim's connection became readable: it sends nothing, so it closed (killed with its run)."""
        try:
            if conn.recv(1):
                return
        except OSError:
            pass
        self.selector.unregister(conn)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass

    def serve(self):
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            for key, _events in self.selector.select():
                if key.data == "accept":
                    self.accept()
                elif key.data == "reap":
                    self.reap()
                elif key.data in self.children:
                    self.shim_gone(key.fileobj, key.data)


def main(argv):
    def stop(signum, frame):
        shutil.rmtree(os.path.dirname(argv[1]), ignore_errors=True)  # the bridge made that directory for us
        os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    del sys.path[0]  # this file's directory: not on a module's path
    preload()
    Server(argv[1]).serve()


if __name__ == "__main__":
    main(sys.argv)
