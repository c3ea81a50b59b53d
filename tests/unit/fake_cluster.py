"""A small stateful cluster behind ``responses`` callbacks, for tests that run many guests at once.

``/cluster/resources``, ``/nodes`` and the nodes' guest lists, ``.../pending``, ``PUT``/``POST .../config`` (``delete`` and the digest checked; POST
answers a qmconfig UPID whose status is ``stopped``/``OK``) and the task status. Each guest request takes
``delay`` seconds and is counted while in flight (``peak``, ``peak_per_node``), so concurrency limits can be
observed. Errors come as pveproxy sends them: the message is the HTTP reason phrase.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import responses
from harness import DIGEST_MISMATCH, url

GUEST_PATH = re.compile(r".*/nodes/(?P<node>[^/]+)/(?P<kind>qemu|lxc)/(?P<vmid>\d+)/(?P<what>pending|config)$")
NODE_LIST = re.compile(r".*/nodes/(?P<node>[^/]+)/(?P<kind>qemu|lxc)$")
TASK_PATH = re.compile(r".*/nodes/(?P<node>[^/]+)/tasks/(?P<upid>[^/]+)/status$")
NAME_KEY = {"qemu": "name", "lxc": "hostname"}
ROW_KEYS = ("vmid", "node", "type", "name", "status", "tags", "pool", "template")


class PveCallback(responses.CallbackResponse):
    """A callback whose error message (header ``X-Reason``) becomes the HTTP reason phrase."""

    def get_response(self, request):
        response = super().get_response(request)
        if response.status >= 400:
            response.reason = response.headers["X-Reason"]
        return response


def error(message, status=500):
    return status, {"X-Reason": message}, json.dumps({"data": None, "message": message + "\n"})


def vm(vmid, node="pve1", tags="", kind="qemu", memory="2048", config=None, template=0, **extra):
    """A guest of the fake cluster: its /cluster/resources row fields and its config."""
    return dict(
        vmid=vmid, node=node, type=kind, name=f"guest{vmid}", status="running", tags=tags,
        template=template, config=config or {"memory": memory, NAME_KEY[kind]: f"guest{vmid}"}, **extra,
    )  # fmt: skip


class FakeCluster:
    def __init__(self, mock, guests, delay=0.0):
        self.guests = {g["vmid"]: dict(g, config=dict(g["config"])) for g in guests}
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.per_node = {}
        self.peak = 0
        self.peak_per_node = {}
        self.fail_put = set()
        self.tasks = 0
        mock.add_callback("GET", url("cluster/resources"), callback=self.resources)
        mock.add_callback("GET", TASK_PATH, callback=self.task_status)
        mock.add_callback("GET", url("nodes"), callback=self.nodes)
        mock.add_callback("GET", NODE_LIST, callback=self.node_list)
        for method in ("GET", "PUT", "POST"):
            mock.add(PveCallback(method, GUEST_PATH, callback=self.guest_call))

    def resources(self, request):
        rows = [{key: g[key] for key in ROW_KEYS if key in g} for g in self.guests.values()]
        return 200, {}, json.dumps({"data": [dict(row, id=f"{row['type']}/{row['vmid']}") for row in rows]})

    def nodes(self, request):
        names = sorted({g["node"] for g in self.guests.values()})
        return 200, {}, json.dumps({"data": [{"node": name, "status": "online"} for name in names]})

    def node_list(self, request):
        """``GET /nodes/{node}/qemu|lxc``: the guests of that node and type, named from their config."""
        match = NODE_LIST.match(urlsplit(request.url).path)
        rows = [
            {"vmid": g["vmid"], "name": g["config"].get(NAME_KEY[g["type"]]), "status": g["status"]}
            for g in self.guests.values()
            if g["node"] == match.group("node") and g["type"] == match.group("kind")
        ]
        return 200, {}, json.dumps({"data": rows})

    def task_status(self, request):
        return 200, {}, json.dumps({"data": {"status": "stopped", "exitstatus": "OK"}})

    def guest_call(self, request):
        match = GUEST_PATH.match(urlsplit(request.url).path)
        node, vmid = match.group("node"), int(match.group("vmid"))
        with self.lock:
            self.in_flight += 1
            self.per_node[node] = self.per_node.get(node, 0) + 1
            self.peak = max(self.peak, self.in_flight)
            self.peak_per_node[node] = max(self.peak_per_node.get(node, 0), self.per_node[node])
        try:
            time.sleep(self.delay)
            return self.answer(request, self.guests[vmid])
        finally:
            with self.lock:
                self.in_flight -= 1
                self.per_node[node] -= 1

    def answer(self, request, guest):
        if request.method == "GET":
            items = [{"key": k, "value": v} for k, v in guest["config"].items()]
            items.append({"key": "digest", "value": self.digest(guest)})
            return 200, {}, json.dumps({"data": items})
        body = dict(parse_qsl(request.body))
        if guest["vmid"] in self.fail_put:
            return error("simulated failure")
        if body.pop("digest") != self.digest(guest):
            return error(DIGEST_MISMATCH)
        for key in filter(None, body.pop("delete", "").split(",")):
            guest["config"].pop(key, None)
        guest["config"].update(body)
        if request.method == "POST":
            with self.lock:
                self.tasks += 1
                upid = f"UPID:{guest['node']}:{self.tasks:08X}:00ABCDEF:66000000:qmconfig:{guest['vmid']}:root@pam:"
            return 200, {}, json.dumps({"data": upid})
        return 200, {}, json.dumps({"data": None})

    @staticmethod
    def digest(guest):
        return hashlib.sha1(json.dumps(guest["config"], sort_keys=True).encode()).hexdigest()
