"""The MCP App view of plan_guest_config and plan_fleet_config (issue 12, "plans you can look at"): plans made by a
bridge running the real collection against the simulator, through the SDK's own client negotiating MCP Apps; the
tools' `_meta.ui.resourceUri`, the `ui://` resource, the same facts in the text content, and the view rendered by
headless Chromium inside a test host that speaks the ext-apps postMessage protocol, with a guest description that
tries to break out of the page."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, headless
from collection_path import REPO
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from test_mcp_fleet import fresh_sim, server, sim  # noqa: F401 # pylint: disable=unused-import  # the fixtures

from mcp_bridge.plan_text import changes
from mcp_bridge.plan_view import PLAN_VIEW_URI, view_html

HOSTILE = '</script><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> & <b>bold</b>'
APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
ARTIFACTS = REPO / "tests" / "artifacts"

CALLS = {
    "pending": ("plan_guest_config", {"vmid": 100, "config": {"cores": 4, "description": HOSTILE}}),
    "destroys": ("plan_guest_config", {"vmid": 101, "config": {"memory": 8192}, "absent": ["scsi1"], "purge": True}),
    "fleet": ("plan_fleet_config", {"select": {"vmids": [100, 101, 200]}, "config": {"description": HOSTILE}}),
}

# A minimal MCP Apps host: renders the view in an iframe, answers ui/initialize, sends the tool's input and result
# (ext-apps: ui/notifications/tool-input, ui/notifications/tool-result) and, once the view reports its size, writes
# what the view shows into #probe. allow-same-origin only so that this test page can read the view's text.
HOST = """<!doctype html><html><head><meta charset="utf-8"><title>test host</title></head><body style="margin:0">
<iframe id="view" sandbox="allow-scripts allow-same-origin" style="width:1280px;height:760px;border:0"
 srcdoc="@VIEW@"></iframe>
<pre id="probe"></pre>
<script>
var RESULT = @RESULT@, ARGUMENTS = @ARGUMENTS@, seen = [];
var frame = document.getElementById("view");
function post(message) { frame.contentWindow.postMessage(message, "*"); }
function probe() {
  var doc = frame.contentDocument, win = frame.contentWindow;
  document.getElementById("probe").textContent = JSON.stringify({
    text: doc.body.innerText, seen: seen, images: doc.querySelectorAll("img").length,
    scripts: doc.querySelectorAll("script").length,
    bold: Array.prototype.filter.call(doc.querySelectorAll("b"), function (b) { return b.textContent === "bold"; }).length,
    pwned: win.pwned === undefined ? null : win.pwned
  });
}
window.addEventListener("message", function (event) {
  if (event.source !== frame.contentWindow) return;
  var message = event.data;
  seen.push(message.method || "response");
  if (message.method === "ui/initialize") {
    post({jsonrpc: "2.0", id: message.id, result: {protocolVersion: message.params.protocolVersion,
          hostInfo: {name: "test host", version: "1"}, hostCapabilities: {}, hostContext: {}}});
  } else if (message.method === "ui/notifications/initialized") {
    post({jsonrpc: "2.0", method: "ui/notifications/tool-input", params: {arguments: ARGUMENTS}});
    post({jsonrpc: "2.0", method: "ui/notifications/tool-result", params: RESULT});
  } else if (message.method === "ui/notifications/size-changed") {
    setTimeout(probe, 0);
  }
});
</script></body></html>"""


def script_json(value: Any) -> str:
    """JSON that cannot end the host page's own <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


def host_page(result: Any, arguments: dict[str, Any]) -> str:
    wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return (
        HOST.replace("@VIEW@", html.escape(view_html(), quote=True))
        .replace("@RESULT@", script_json(wire))
        .replace("@ARGUMENTS@", script_json(arguments))
    )


def render(browser: str, page: Path) -> dict[str, Any]:
    dom = headless(browser, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    start = dom.stdout.index('<pre id="probe">') + len('<pre id="probe">')
    probe = html.unescape(dom.stdout[start : dom.stdout.index("</pre>", start)])
    assert probe, f"the view never reported its size: {dom.stdout[-2000:]}"
    return json.loads(probe)


@pytest.fixture(scope="module")
def planned(sim, tmp_path_factory) -> dict[str, Any]:  # noqa: F811 - the fixture imported above
    """The tool list, the view resource and the three plans, made once (each plan is an ansible-runner run)."""
    import anyio

    async def make() -> dict[str, Any]:
        sim.simulator.reset(realism=False)
        async with Client(server(sim, tmp_path_factory.mktemp("view")), extensions=APPS) as client:
            made: dict[str, Any] = {"tools": {t.name: t for t in (await client.list_tools()).tools}}
            made["resource"] = await client.read_resource(PLAN_VIEW_URI)
            for name, (tool, arguments) in CALLS.items():
                made[name] = await client.call_tool(tool, arguments)
                assert not made[name].is_error, made[name].content
            made["writes"] = [r for r in sim.simulator.requests() if r["method"] in ("POST", "PUT", "DELETE")]
        return made

    return anyio.run(make)


def test_the_plan_tools_point_at_the_view_and_the_resource_is_a_self_contained_app(planned):
    tools = planned["tools"]
    for name in ("plan_guest_config", "plan_fleet_config"):
        assert tools[name].meta == {"ui": {"resourceUri": PLAN_VIEW_URI}}
    assert all(not (t.meta or {}).get("ui") for n, t in tools.items() if not n.startswith("plan_"))
    (content,) = planned["resource"].contents
    assert (str(content.uri), content.mime_type) == (PLAN_VIEW_URI, APP_MIME_TYPE)
    assert content.text == view_html()
    csp = content.text.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert csp.startswith("default-src 'none'; script-src 'sha256-") and "unsafe" not in csp
    assert "http://" not in content.text and "https://" not in content.text  # nothing to fetch
    assert "innerHTML" not in content.text and "insertAdjacentHTML" not in content.text  # values are text only
    assert planned["writes"] == [], "a plan writes nothing"


def test_the_text_content_carries_the_facts_the_view_shows(planned):
    pending = planned["pending"]
    data, text = pending.structured_content, pending.content[1].text
    assert pending.content[0].text == data["summary"] and json.loads(pending.content[2].text) == data
    assert data["pending_predicted"] == ["cores"] and data["reboot_required"] is True
    assert text.startswith(f"Plan for VM 100 on node pve1 (nothing written; valid until {data['expires_at']}); ")
    assert f"computed from config digest {data['digest']}" in text
    assert "  cores: 2 -> 4 [pending until a reboot]" in text.splitlines()
    assert f"  description: (not set) -> {HOSTILE}" in text.splitlines()
    assert "Predicted reboot: cores stay pending until the guest is rebooted (the tools never reboot)." in text
    assert "Steps: 1. set cores, description" in text.splitlines()

    destroying = planned["destroys"].structured_content
    text = planned["destroys"].content[1].text
    assert destroying["destroys"] == ["scsi1"] and destroying["destroyed_volumes"] == ["local-lvm:vm-101-disk-1"]
    assert "  scsi1: local-lvm:vm-101-disk-1,iothread=1,size=100G -> (removed) [destroys its volume]" in text
    assert "Destroys the volumes of scsi1 (local-lvm:vm-101-disk-1): applying needs the user's confirmation." in text
    assert "Steps: 1. set memory; 2. delete scsi1; 3. purge scsi1" in text.splitlines()

    fleet = planned["fleet"].structured_content
    text = planned["fleet"].content[1].text
    assert fleet["totals"] == {"guests": 3, "changed": 3, "unchanged": 0, "failed": 0, "reboots": 0}
    assert text.splitlines()[1] == "Totals: 3 guests, 3 would change, 0 unchanged, 0 failed, 0 predicted reboots"
    for guest in fleet["guests"]:
        assert f"Guest {guest['vmid']} {guest['name']} ({guest['guest_type']}, {guest['node']}): would change" in text
        assert f"; digest {guest['digest']}" in text
    assert text.count(f"  description: (not set) -> {HOSTILE}") == text.count("  steps: 1. set description") == 3


def test_chromium_renders_each_plan_in_the_view(planned, tmp_path):
    browser = chromium()
    shown = {}
    for name, (_tool, arguments) in CALLS.items():
        page = tmp_path / f"{name}.html"
        page.write_text(host_page(planned[name], arguments), encoding="utf-8")
        shown[name] = render(browser, page)
    for name, out in shown.items():
        # The ext-apps handshake, then the result drawn; the hostile description stayed text: no script ran, no
        # element came from it (the view's one script is its own).
        assert out["seen"][:3] == ["ui/initialize", "ui/notifications/initialized", "ui/notifications/size-changed"]
        assert (out["pwned"], out["images"], out["scripts"], out["bold"]) == (None, 0, 1, 0), name

    data, view = planned["pending"].structured_content, shown["pending"]["text"]
    assert view.startswith("Plan for VM 100 on node pve1\n")
    assert f"Nothing written. Valid until {data['expires_at']}." in view
    assert f"Computed from config digest {data['digest']}" in view
    assert "Predicted reboot: cores stay pending until the guest is rebooted (the tools never reboot)." in view
    assert "cores\t2\t4\tpending until a reboot" in view
    assert f"description\t(not set)\t{HOSTILE}" in view
    for key, before, after in changes(data["diff"]):  # every key of the diff, as the text content has it
        assert f"{key}\t{before}\t{after}" in view
    assert "\nSteps\nset cores, description" in view and "null" not in view

    view = shown["destroys"]["text"]
    assert "Destroys the volumes of scsi1 (local-lvm:vm-101-disk-1): applying needs the user's confirmation." in view
    assert "scsi1\tlocal-lvm:vm-101-disk-1,iothread=1,size=100G\t(removed)\tdestroys its volume" in view
    assert "\nSteps\nset memory\ndelete scsi1\npurge scsi1" in view

    fleet, view = planned["fleet"].structured_content, shown["fleet"]["text"]
    assert view.startswith("Fleet plan: 3 of 3 guests would change\n")
    assert f"Nothing written. Valid until {fleet['expires_at']}. Applies to guests 100, 101, 200." in view
    for total, label in (("3", "guests"), ("3", "would change"), ("0", "failed"), ("0", "predicted reboots")):
        assert f"\n{total} {label}\n" in view
    for guest in fleet["guests"]:
        row = f"{guest['vmid']}\t{guest['name']}\t{guest['node']}\t{guest['guest_type']}\twould change\t"
        assert row + f"description: (not set) -> {HOSTILE}\tset description\t\t{guest['digest']}" in view

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in ("pending", "fleet"):
        shot = ARTIFACTS / f"plan_view_{name}.png"
        taken = headless(
            browser, "--screenshot=" + str(shot), "--window-size=1280,760", (tmp_path / f"{name}.html").as_uri()
        )
        assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]
        print(f"plan view screenshot: {shot}")
