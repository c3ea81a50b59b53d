# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""HTTPS front end: ``http.server.ThreadingHTTPServer`` + ``ssl`` on loopback.

Every request goes to :meth:`pve_sim.simulator.Simulator.handle_http`; the status line
carries the simulator's reason phrase (proxmoxer shows ``status_code``, ``reason`` and the
body's ``errors``).  Error answers close the connection, as pveproxy does.
"""

import ipaddress
import json
import os
import shlex
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import tls
from .simulator import Simulator


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _safe_reason(reason):
    reason = reason.replace("\r", " ").replace("\n", " ")
    return reason.encode("latin-1", "replace").decode("latin-1")


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        resp = self.server.simulator.handle_http(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(resp.status, _safe_reason(resp.reason))
        for key, value in resp.headers.items():
            if key.lower() != "server":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        if resp.status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, simulator, ssl_context, verbose=False):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, SimRequestHandler)
        self.simulator = simulator
        self.ssl_context = ssl_context
        self.verbose = verbose

    def finish_request(self, request, client_address):
        # TLS handshake in the worker thread, not in the accept loop
        request.settimeout(60)
        try:  # headers and body go out in separate writes; avoid Nagle + delayed ACK stalls
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


class SimServer:
    """A running HTTPS simulator: ``url``, ``host``, ``port``, ``ca_path``, ``env``."""

    def __init__(self, simulator=None, host="127.0.0.1", port=0, state_dir=".sim", verbose=False, **sim_kwargs):
        if not _is_loopback(host):
            raise ValueError("pve_sim listens on loopback only, not %r" % host)
        self.simulator = simulator or Simulator(**sim_kwargs)
        self.bind_host = host
        self.state_dir = os.path.abspath(state_dir)
        self.verbose = verbose
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        with tls.locked(self.state_dir):
            self.paths = tls.ensure_certificates(self.state_dir)
            context.load_cert_chain(self.paths["cert"], self.paths["key"])
        self.httpd = SimHTTPServer((host, port), self.simulator, context, verbose=verbose)
        self.port = self.httpd.server_address[1]
        self._thread = None

    # -- addresses and credentials ------------------------------------------------------------

    @property
    def host(self):
        return "localhost" if self.bind_host == "localhost" else self.bind_host

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "https://%s:%d" % (host, self.port)

    @property
    def api_url(self):
        return self.url + "/api2/json"

    @property
    def ca_path(self):
        return self.paths["ca"]

    @property
    def sim(self):
        """Alias of ``simulator``."""
        return self.simulator

    @property
    def token_id(self):
        """The token name (``pve-config``), as PROXMOX_TOKEN_ID / api_token_id expect it."""
        return self.simulator.token_name

    @property
    def token_secret(self):
        return self.simulator.token_secret

    @property
    def user(self):
        return self.simulator.user

    @property
    def password(self):
        return self.simulator.password

    @property
    def env(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return {
            "PROXMOX_HOST": "%s:%d" % (host, self.port),
            "PROXMOX_USER": self.simulator.user,
            "PROXMOX_TOKEN_ID": self.simulator.token_name,
            "PROXMOX_TOKEN_SECRET": self.simulator.token_secret,
            "PROXMOX_CA_PATH": self.ca_path,
            "PROXMOX_VALIDATE_CERTS": "true",
            "PVE_SIM_URL": self.url,
            "PVE_SIM_PASSWORD": self.simulator.password,
        }

    def write_env_files(self):
        """``<state-dir>/env.sh`` (export line) and ``env.json``; both 0600 (they hold secrets)."""
        env = self.env
        sh_path = os.path.join(self.state_dir, "env.sh")
        json_path = os.path.join(self.state_dir, "env.json")
        line = "export " + " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in env.items()) + "\n"
        tls._write(sh_path, line.encode(), private=True)
        tls._write(json_path, (json.dumps(env, indent=1, sort_keys=True) + "\n").encode(), private=True)
        return sh_path, json_path

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="pve_sim-https-%d" % self.port,
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self):
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self):
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def start_server(**kwargs):
    """Create and start a :class:`SimServer` in a background thread."""
    return SimServer(**kwargs).start()
