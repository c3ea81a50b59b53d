"""Run the pve.config.guests inventory through Ansible's InventoryManager in a fresh process; print JSON.

    python inventory_run.py [--plugin] SOURCE [ANSWERS.json]

Ansible's collection loader must be installed before anything imports ``ansible_collections`` (the pytest process
imports the collection from sys.path, so the loader cannot be installed there): hence a process of its own.
With ANSWERS, the HTTP API is faked with ``responses``: a list of ``{"method", "path", "status", "json",
"delay"}``; every request made is printed. Without it, the requests go to the real server (the simulator).
``--plugin`` calls the plugin (as Ansible's loader gives it) directly instead of through InventoryManager, which
turns a plugin's error into a warning: its exception is reported as it was raised.
Output: ``{"hosts": {name: vars}, "groups": {name: [hosts]}, "requests": [...], "max_in_flight": n}`` or
``{"error": message, "error_type": class name}``.
"""

import contextlib
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qsl, urlsplit

# A source no plugin could parse is an error (not a warning), and only this plugin may try; read by
# ansible.constants on import.
os.environ["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
os.environ["ANSIBLE_INVENTORY_ENABLED"] = "pve.config.guests"

from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader([os.environ["ANSIBLE_COLLECTIONS_PATH"]])

from ansible.errors import AnsibleError  # noqa: E402
from ansible.inventory.data import InventoryData  # noqa: E402
from ansible.inventory.manager import InventoryManager  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import inventory_loader  # noqa: E402

BASE = "/api2/json"


class FakeApi:
    """The registered answers, with the number of requests in flight at once."""

    def __init__(self, mock, answers):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        for answer in answers:
            mock.add_callback(
                answer["method"],
                "https://{}{}{}".format(answer["host"], BASE, answer["path"]),
                callback=self.callback(answer),
                match=[self.query(answer.get("query"))],
            )

    @staticmethod
    def query(params):
        from responses import matchers

        return matchers.query_param_matcher(params or {})

    def callback(self, answer):
        def reply(request):
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            time.sleep(answer.get("delay", 0))
            with self.lock:
                self.in_flight -= 1
            return answer.get("status", 200), {}, json.dumps(answer["json"])

        return reply


def requests_made(mock):
    calls = []
    for call in mock.calls:
        parts = urlsplit(call.request.url)
        calls.append([call.request.method, parts.path.replace(BASE, "", 1), dict(parse_qsl(parts.query))])
    return calls


def auth_headers(mock):
    """The Authorization header of each request without the secret (the part before the last '=')."""
    return [call.request.headers.get("Authorization", "").rsplit("=", 1)[0] for call in mock.calls]


def plain(value):
    """Host variables as JSON (Ansible's tagged strings as plain ones)."""
    return json.loads(json.dumps(value, default=str))


def through_manager(source):
    manager = InventoryManager(loader=DataLoader(), sources=[source])
    return as_json(manager.get_hosts(), manager.groups)


def through_plugin(source):
    plugin = inventory_loader.get("pve.config.guests")
    if not plugin.verify_file(source):
        return {"verified": False, "hosts": {}, "groups": {}}
    data = InventoryData()
    plugin.parse(data, DataLoader(), source, cache=True)
    with contextlib.suppress(AttributeError):  # as InventoryManager.parse_source does: no cache set up
        plugin.update_cache_if_changed()
    return dict(as_json(data.hosts.values(), data.groups), verified=True)


def as_json(hosts, groups):
    return {
        "hosts": {host.name: plain(host.get_vars()) for host in hosts},
        "groups": {
            name: sorted(host.name for host in group.get_hosts())
            for name, group in groups.items()
            if name not in ("all", "ungrouped")
        },
    }


def main(*args):
    inventory = through_plugin if args[0] == "--plugin" else through_manager
    source, answers_file = (list(args[1:] if args[0] == "--plugin" else args) + [None])[:2]
    made = auth = []
    try:
        if answers_file is None:
            result = inventory(source)
        else:
            import responses

            with open(answers_file) as handle:
                answers = json.load(handle)
            with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
                fake = FakeApi(mock, answers)
                try:
                    result = inventory(source)
                finally:
                    made = requests_made(mock)
                    auth = auth_headers(mock)
            result.update(requests=made, auth=auth, max_in_flight=fake.max_in_flight)
    except AnsibleError as exc:
        result = {"error": str(exc), "error_type": type(exc).__name__}
        if answers_file is not None:
            result.update(requests=made, auth=auth)
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
