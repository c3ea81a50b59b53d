"""Run a pve.config module in-process against an HTTP API faked with ``responses``.

Nothing of the collection is patched: the module, its module_utils, proxmoxer and requests all run; only
the socket is replaced by ``responses``. ``run_module`` returns the JSON the module printed on exit.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from ansible.module_utils.testing import patch_module_args

HOST = "pve.test"
BASE = f"https://{HOST}:8006/api2/json"
TOKEN_SECRET = "0b5b8f6e-3c1a-4d4c-9a5e-7f00c0ffee00"
AUTH = dict(api_host=HOST, api_user="root@pam", api_token_id="ci", api_token_secret=TOKEN_SECRET)


def run_module(name, args, check=False, diff=False):
    """Run ``plugins/modules/<name>.py``'s main() with ``args``; return (result dict, failed bool)."""
    module = importlib.import_module(f"ansible_collections.pve.config.plugins.modules.{name}")
    full = dict(AUTH, **args)
    if check:
        full["_ansible_check_mode"] = True
    if diff:
        full["_ansible_diff"] = True
    out = io.StringIO()
    with patch_module_args(full), contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
        module.main()
    result = json.loads(out.getvalue())
    assert TOKEN_SECRET not in out.getvalue(), "the token secret leaked into the module output"
    return result, exc.value.code != 0


def url(path):
    return BASE + "/" + path.lstrip("/")


def requests_made(mock):
    """[(METHOD, path, params)] of every call: path relative to /api2/json, params from query and form body."""
    calls = []
    for call in mock.calls:
        req = call.request
        parts = urlsplit(req.url)
        params = dict(parse_qsl(parts.query))
        if req.body:
            body = req.body.decode() if isinstance(req.body, bytes) else req.body
            params.update(dict(parse_qsl(body, keep_blank_values=True)))
        calls.append((req.method, parts.path.replace("/api2/json", "", 1), params))
    return calls


def writes(mock):
    return [c for c in requests_made(mock) if c[0] != "GET"]


def resources(*guests):
    """A /cluster/resources answer: guests as (vmid, type, node[, status[, name]])."""
    items = []
    for g in guests:
        vmid, kind, node = g[0], g[1], g[2]
        status = g[3] if len(g) > 3 else "running"
        name = g[4] if len(g) > 4 else f"guest{vmid}"
        items.append(
            {
                "id": f"{kind}/{vmid}",
                "type": kind,
                "vmid": vmid,
                "node": node,
                "status": status,
                "name": name,
                "template": 0,
            }
        )
    return {"data": items}


def pending(config, digest="d1", pending_values=None, deletes=()):
    """A /pending answer from a plain config dict (+ pending values and pending deletions)."""
    pending_values = pending_values or {}
    items = []
    for key, value in config.items():
        item = {"key": key, "value": value}
        if key in pending_values:
            item["pending"] = pending_values[key]
        if key in deletes:
            item["delete"] = 1
        items.append(item)
    for key, value in pending_values.items():
        if key not in config:
            items.append({"key": key, "pending": value})
    items.append({"key": "digest", "value": digest})
    return {"data": items}


class PveErrorResponse(responses.Response):
    """An error as pveproxy sends it: the message is the HTTP reason phrase (and ``message`` in the body)."""

    def __init__(self, method, path, message, status=500, **kwargs):
        super().__init__(method, url(path), status=status, json={"data": None, "message": message + "\n"}, **kwargs)
        self.message = message

    def get_response(self, request):
        response = super().get_response(request)
        response.reason = self.message
        return response


def pve_error(mock, method, path, message, status=500, **kwargs):
    mock.add(PveErrorResponse(method, path, message, status=status, **kwargs))


class FakeClock:
    """A clock for ``Backoff``/``wait_task``/``apply_change`` that only moves when ``sleep`` is called (or a
    test moves ``time``); ``sleeps`` records every wait."""

    def __init__(self):
        self.time = 1000.0
        self.sleeps = []

    def now(self):
        return self.time

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.time += seconds


DIGEST_MISMATCH = "detected modified configuration - file changed by other user? Try again."


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
