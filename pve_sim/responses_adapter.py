# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Serve the simulator through ``responses`` (no sockets) for in-process unit tests.

    import responses
    from pve_sim.responses_adapter import install

    with responses.RequestsMock() as rsps:
        sim = install(rsps)                      # a fresh Simulator, host pve.example.com:8006
        api = ProxmoxAPI("pve.example.com", user="root@pam", token_name=sim.token_name,
                         token_value=sim.token_secret, verify_ssl=False)
        api.nodes("pve1").qemu(100).config.put(cores=4)

Every method on ``https://<host>:<port>/...`` is answered by
:meth:`Simulator.handle_http`, including the PVE reason phrase (``resp.reason``), which
``responses``' own callbacks cannot set.
"""

import io
import re

import responses
from urllib3 import HTTPHeaderDict
from urllib3.response import HTTPResponse

from .simulator import Simulator

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class SimulatorResponse(responses.BaseResponse):
    """One ``responses`` entry that answers every method on the simulated host."""

    def __init__(self, url, simulator):
        super().__init__("GET", url)
        self.simulator = simulator

    def matches(self, request):
        if request.method not in METHODS:
            return False, "Method does not match"
        if not self._url_matches(self.url, str(request.url)):
            return False, "URL does not match"
        return True, ""

    def get_response(self, request):
        split = re.match(r"^https?://[^/]+(/.*)?$", request.url)
        target = split.group(1) or "/"
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        resp = self.simulator.handle_http(request.method, target, dict(request.headers), body)
        headers = HTTPHeaderDict(resp.headers)
        headers["Content-Length"] = str(len(resp.body))
        original = HTTPResponse(body=io.BytesIO(b""), msg=headers, preload_content=False)
        return HTTPResponse(
            status=resp.status,
            reason=resp.reason,
            body=io.BytesIO(resp.body),
            headers=headers,
            original_response=original,
            preload_content=False,
            request_method=request.method,
        )


def install(rsps, simulator=None, host="pve.example.com", port=8006):
    """Register the simulator for every method on ``https://host:port``; returns the Simulator.

    One entry is registered, so ``assert_all_requests_are_fired`` only complains when the
    test made no request at all."""
    simulator = simulator or Simulator()
    url = re.compile(r"^https://%s:%d/" % (re.escape(host), port))
    rsps.add(SimulatorResponse(url, simulator))
    return simulator
