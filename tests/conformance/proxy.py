"""A counting HTTPS forwarder on 127.0.0.1: the modules talk to it, it talks to the target.

The request count of a run is measured here, the same way against a real cluster and against the simulator,
without relying on the simulator's own request log. The forwarder terminates TLS with a certificate for
127.0.0.1 issued by a throw-away CA (``pve_sim.tls``; the modules verify it with ``ca_path``) and forwards each
request to exactly one target, ``https://<host>:<port>``, verifying that target as the user configured it
(``validate_certs`` / ``ca_path``). It records method, path (without ``/api2/json``), status and arrival time of
each request; never headers or bodies (they carry the token secret, the password and tickets).
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pve_sim import tls

API_PREFIX = "/api2/json"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class Upstream:
    """Where the forwarder sends requests, and how it verifies that server's certificate."""

    host: str
    port: int
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 60.0

    def ssl_context(self) -> ssl.SSLContext:
        if not self.validate_certs:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.ca_path)


class ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream_connection: http.client.HTTPSConnection | None = None

    def _connection(self) -> http.client.HTTPSConnection:
        if self.upstream_connection is None:
            up = self.server.upstream
            self.upstream_connection = http.client.HTTPSConnection(
                up.host, up.port, timeout=up.timeout, context=self.server.upstream_context
            )
        return self.upstream_connection

    def _forward(self) -> None:
        arrived = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        headers["Host"] = self.server.upstream_host_header
        try:
            reply = self._exchange(body, headers)
        except OSError as exc:
            self.server.record(arrived, self.command, self.path, 502)
            self.send_error(502, f"conformance forwarder: upstream unreachable ({type(exc).__name__})")
            return
        payload = reply.read()
        self.server.record(arrived, self.command, self.path, reply.status)
        self.send_response(reply.status, reply.reason)
        for key, value in reply.getheaders():
            if key.lower() not in HOP_BY_HOP | {"content-length", "server", "date"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        if reply.will_close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _exchange(self, body: bytes | None, headers: dict[str, str]) -> http.client.HTTPResponse:
        """One request upstream; a kept-alive connection the server closed meanwhile is reopened once."""
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                reply = connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                self.upstream_connection = None
                if attempt == 2:
                    raise
                continue
            if reply.will_close:
                self.upstream_connection = None
            return reply
        raise AssertionError("unreachable")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def finish(self) -> None:
        super().finish()
        if self.upstream_connection is not None:
            self.upstream_connection.close()

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # the request log is kept by the server, without headers


class CountingProxy(ThreadingHTTPServer):
    """``with CountingProxy(upstream, cert_dir) as proxy:`` -> ``proxy.port``, ``proxy.ca_path``, ``proxy.log()``."""

    daemon_threads = True

    def __init__(self, upstream: Upstream, cert_dir: str):
        super().__init__(("127.0.0.1", 0), ForwardingHandler)
        self.upstream = upstream
        self.upstream_context = upstream.ssl_context()
        host = f"[{upstream.host}]" if ":" in upstream.host else upstream.host
        self.upstream_host_header = f"{host}:{upstream.port}"
        paths = tls.ensure_certificates(cert_dir, hostnames=("localhost",), ips=("127.0.0.1",))
        self.ca_path = paths["ca"]
        self.server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_context.load_cert_chain(paths["cert"], paths["key"])
        self._entries: list[dict] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, name="conformance-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def finish_request(self, request, client_address):
        """TLS handshake in the worker thread, not in the accept loop."""
        request.settimeout(self.upstream.timeout + 30)
        try:
            connection = self.server_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            connection.close()

    def record(self, arrived: float, method: str, target: str, status: int) -> None:
        path = urlsplit(target).path
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :]
        with self._lock:
            self._entries.append({"time": arrived, "method": method, "path": path, "status": status})

    def log(self) -> list[dict]:
        """Every request forwarded so far (oldest first): time, method, path, status."""
        with self._lock:
            return list(self._entries)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
