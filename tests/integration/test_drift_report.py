"""The pve.config.drift_report callback in a real ``ansible-playbook --check --diff`` run against the simulator:
the HTML page parsed with html.parser, the JSON file beside it, escaping, no_log, and headless Chromium
exercising the page's filters and sort (skipped, with the reason, where no Chromium can be installed)."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path

from browser import chromium, headless
from collection_path import REPO

from .conftest import connection_env
from .runner import run_playbook

SECRET = "s3cr3t-d0-not-show"
HOSTILE = "<script>alert('pwned')</script>"
ARTIFACTS = REPO / "tests" / "artifacts"

MAKE_PENDING = """
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: cores wait for a reboot, pve.config.vm_resources: {vmid: 100, cores: 4}}
"""

CHECK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - {name: context, pve.config.guest_info: {vmid: 100}}
    - {name: web01 drift, pve.config.vm_resources: {vmid: 100, memory: 4G, sockets: 2}}
    - {name: db01 in sync, pve.config.vm_resources: {vmid: 101, memory: 4096, cores: 4}}
    - {name: dns01 drift, pve.config.container_resources: {vmid: 200, memory: 1024}}
    - name: app02 hostile value
      pve.config.vm_resources: {vmid: 102, cpu: "HOSTILE"}
      ignore_errors: true
    - name: app02 secret value
      pve.config.vm_resources: {vmid: 102, cpu: "SECRET"}
      ignore_errors: true
      no_log: true
    - name: dns01 by loop
      pve.config.container_resources: {vmid: "{{ item }}", cores: 1}
      loop: [200]
    - {name: proxy01 skipped, pve.config.container_resources: {vmid: 201, memory: 64}, when: false}
    - {name: not ours, ansible.builtin.debug: {msg: "vmid 999"}}
""".replace("HOSTILE", HOSTILE).replace("SECRET", SECRET)


def drift_report(sim, directory: Path) -> tuple[str, dict]:
    """Make web01's cores pending, then run CHECK with the callback enabled; the page's text and the JSON."""
    connection = connection_env(sim)
    assert run_playbook(MAKE_PENDING, connection).rc == 0
    page = directory / "report" / "drift.html"
    env = dict(connection, ANSIBLE_CALLBACKS_ENABLED="pve.config.drift_report", PVE_DRIFT_REPORT_PATH=str(page))
    run = run_playbook(CHECK, env, check=True, diff=True)
    assert run.rc == 0, run.describe()
    assert f"pve.config drift report: {page} (5 guests" in run.stdout, run.stdout[-2000:]
    return page.read_text(encoding="utf-8"), json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))


class Page(HTMLParser):
    """The table rows (data-status, data-reboot, cell texts), the summary cards and every script element."""

    def __init__(self):
        super().__init__()
        self.rows, self.cards, self.scripts, self.headers = [], {}, [], []
        self._cell = self._card = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-status" in attrs:
            self.rows.append({"status": attrs["data-status"], "reboot": attrs["data-reboot"], "cells": []})
        elif tag == "td" and self.rows:
            self._cell = ""
        elif tag == "th":
            self._cell = ""
        elif tag == "div" and "card" in attrs.get("class", ""):
            self._card = ""
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(self._cell)
            self._cell = None
        elif tag == "th":
            self.headers.append(self._cell)
            self._cell = None
        elif tag == "div" and self._card is not None:
            number, label = self._card.split(" ", 1)
            self.cards[label.strip()] = int(number)
            self._card = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        elif self._cell is not None:
            self._cell += data
        elif self._card is not None:
            self._card += data + " "


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


def test_page_and_json_of_a_check_diff_run(sim, tmp_path):
    text, data = drift_report(sim, tmp_path)

    assert data["format"] == 1
    assert data["summary"] == {
        "guests": 5, "in_sync": 1, "drifted": 2, "failed": 1, "skipped": 1, "info": 0, "reboot_required": 1
    }  # fmt: skip
    guests = {g["vmid"]: g for g in data["guests"]}
    assert set(guests) == {100, 101, 102, 200, 201}
    web01 = guests[100]
    assert (web01["status"], web01["node"], web01["guest_type"], web01["name"]) == ("drifted", "pve1", "qemu", "web01")
    assert web01["reboot_required"] is True and set(web01["pending"]) == {"cores"}
    assert {(k["key"], str(k["current"]), str(k["desired"]), k["pending"]) for k in web01["keys"]} == {
        ("memory", "2048", "4096", False),
        ("sockets", "1", "2", False),
        ("cores", "2", "4", True),  # pending before the run; its current value from guest_info
    }
    assert [r["status"] for r in web01["results"]] == ["ok", "changed"]  # guest_info is context, not drift
    assert (guests[101]["status"], guests[101]["keys"]) == ("in_sync", [])
    assert guests[200]["status"] == "drifted" and guests[200]["guest_type"] == "lxc"
    assert [(k["key"], str(k["current"]), str(k["desired"])) for k in guests[200]["keys"]] == [
        ("memory", "512", "1024")
    ]
    assert [(r["task"], r["status"]) for r in guests[200]["results"]] == [
        ("dns01 drift", "changed"),
        ("dns01 by loop", "ok"),
    ]
    app02 = guests[102]
    assert app02["status"] == "failed" and app02["results"][0]["status"] == "failed"
    assert HOSTILE in app02["results"][0]["msg"]  # the module echoes the value: the page must escape it
    # the simulator accepts SECRET as a cpu model: without no_log it would be the desired value of a key
    assert app02["results"][1]["status"] == "changed" and "no_log" in app02["results"][1]["msg"]
    assert app02["keys"] == []
    assert (guests[201]["status"], guests[201]["results"][0]["status"]) == ("skipped", "skipped")

    page = parse(text)
    assert page.cards == {"Guests": 5, "In sync": 1, "Drifted": 2, "Failed": 1, "Need a reboot": 1}
    assert page.headers[:6] == ["vmid", "name", "node", "type", "status", "key"]
    rows = {(r["cells"][0], r["cells"][5]): r for r in page.rows}
    assert set(rows) == {("100", "memory"), ("100", "sockets"), ("100", "cores"), ("101", ""), ("102", ""),
                         ("200", "memory"), ("201", "")}  # fmt: skip
    memory = rows[("100", "memory")]
    assert memory["cells"][1:8] == ["web01", "pve1", "qemu", "drifted", "memory", "2048", "4096"]
    assert (memory["status"], memory["reboot"]) == ("drifted", "true")
    cores = rows[("100", "cores")]["cells"]  # pending before the run: shown as pending, desired the pending value
    assert (cores[6], cores[7], cores[8], cores[9]) == ("2", "4", "yes", "yes")
    assert rows[("101", "")]["status"] == "in_sync"
    assert HOSTILE in rows[("102", "")]["cells"][10]  # shown as text ...
    assert HOSTILE not in text and "&lt;script&gt;alert(" in text  # ... because it is escaped
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]  # the page's own script only
    assert "http://" not in text and "https://" not in text  # self-contained: nothing to fetch
    for written in (text, json.dumps(data)):
        assert SECRET not in written


def test_hostile_diff_values_are_escaped():
    """Values of a diff (user data) cannot close a cell or open a script, in any column."""
    from ansible_collections.pve.config.plugins.callback.drift_report import Report, render_html

    report = Report()
    res = {"vmid": 7, "node": "n<1>", "guest_type": "qemu", "changed": True, "pending": {"args": "</td><b>x"},
           "diff": {"before": {"description": HOSTILE}, "after": {"description": '"><img src=x onerror=alert(1)>'}},
           "msg": "<i>done</i>"}  # fmt: skip
    report.add("h<o>st", "t", "pve.config.vm_resources", {}, res, None)
    text = render_html(report.finish())
    page = parse(text)
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]
    cells = {row["cells"][5]: row["cells"] for row in page.rows}
    assert cells["description"][2] == "n<1>" and cells["description"][6:8] == [
        HOSTILE,
        '"><img src=x onerror=alert(1)>',
    ]
    assert cells["args"][7] == "</td><b>x"
    assert "<img" not in text and "<b>x" not in text and "<i>" not in text


def test_status_of_a_guest_from_its_results():
    """failed > drifted > in_sync > skipped; a guest only guest_info looked at is "info" (nothing compared)."""
    from ansible_collections.pve.config.plugins.callback.drift_report import Report

    report = Report()
    info, resources = "pve.config.guest_info", "pve.config.vm_resources"
    report.add("h", "look", info, {"vmid": 1}, {"vmid": 1, "pending": {"cores": "4"}, "current": {"cores": "2"}}, None)
    report.add("h", "look", info, {"vmid": 2}, {"vmid": 2}, None)
    report.add(
        "h", "set", resources, {"vmid": 2}, {"vmid": 2, "changed": False, "diff": {"before": {}, "after": {}}}, None
    )
    report.add("h", "set", resources, {"vmid": 3}, {"changed": True, "censored": "hidden"}, None)
    report.add("h", "set", resources, {"vmid": "{{ item }}", "name": "db"}, {"msg": "no guest"}, "failed")
    report.add(
        "h", "set", resources, {"vmid": 4}, {"skipped": True, "skip_reason": "Conditional result was False"}, "skipped"
    )
    report.add("h", "look", info, {"vmid": 5}, {"msg": "VM 5 does not exist"}, "failed")
    document = report.finish()
    status = {g["id"]: (g["status"], g["reboot_required"]) for g in document["guests"]}
    assert status == {
        "vmid:1": ("info", True), "vmid:2": ("in_sync", False), "vmid:3": ("drifted", False),
        "vmid:4": ("skipped", False), "vmid:5": ("failed", False), "name:db": ("failed", False),
    }  # fmt: skip
    assert document["guests"][0]["keys"] == [
        {"key": "cores", "current": "2", "desired": "4", "pending": True, "task": None, "module": None}
    ]
    assert document["summary"] == {
        "guests": 6, "failed": 2, "drifted": 1, "in_sync": 1, "skipped": 1, "info": 1, "reboot_required": 1
    }  # fmt: skip


# --- headless Chromium --------------------------------------------------------------------------------------

PROBE = """
<script>
(function(){
  var text=document.getElementById('filter-text'),status=document.getElementById('filter-status');
  function shown(){return Array.prototype.filter.call(document.querySelectorAll('#drift tbody tr'),
    function(r){return !r.hidden;}).map(function(r){return r.cells[0].textContent+'/'+r.cells[5].textContent;});}
  var out={all:shown()};
  status.value='drifted';status.dispatchEvent(new Event('change'));out.drifted=shown();
  status.value='reboot';status.dispatchEvent(new Event('change'));out.reboot=shown();
  status.value='';status.dispatchEvent(new Event('change'));
  text.value='dns01';text.dispatchEvent(new Event('input'));out.text=shown();
  out.counter=document.getElementById('shown').textContent;
  text.value='';text.dispatchEvent(new Event('input'));
  var vmid=document.querySelector('#drift thead th');
  vmid.click();out.asc=shown();vmid.click();out.desc=shown();
  var pre=document.createElement('pre');pre.id='probe';pre.textContent=JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def test_chromium_filters_and_sorts_the_page(sim, tmp_path):
    browser = chromium()
    text = drift_report(sim, tmp_path)[0]
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = headless(browser, "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    start = dom.stdout.index('<pre id="probe">') + len('<pre id="probe">')
    out = json.loads(html.unescape(dom.stdout[start : dom.stdout.index("</pre>", start)]))

    assert len(out["all"]) == 7
    assert sorted(out["drifted"]) == ["100/cores", "100/memory", "100/sockets", "200/memory"]
    assert sorted(out["reboot"]) == ["100/cores", "100/memory", "100/sockets"]
    assert (out["text"], out["counter"]) == (["200/memory"], "1")
    assert [row.split("/")[0] for row in out["asc"]] == sorted(row.split("/")[0] for row in out["all"])
    assert [row.split("/")[0] for row in out["desc"]] == sorted((r.split("/")[0] for r in out["all"]), reverse=True)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "drift_report.png"
    taken = headless(
        browser, "--screenshot=" + str(shot), "--window-size=1400,700", (tmp_path / "report" / "drift.html").as_uri()
    )
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]
    print(f"drift report screenshot: {shot}")
