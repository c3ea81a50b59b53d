# -*- coding: utf-8 -*-
# Copyright: pve.config contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: drift_report
type: aggregate
short_description: Writes an HTML page and a JSON file of the drift that the pve.config results of a run show
version_added: 1.0.0
description:
  - Collects every result of a pve.config module (any module whose action resolves to C(pve.config.*), any host;
    ok, changed, failed and skipped results, loop items included) and, at the end of the run, writes one
    self-contained HTML page (inline CSS and script, no network) and a JSON file beside it.
  - Typically enabled for a C(--check --diff) run, so that the page shows, per guest and per config key, the
    current value (the result's C(diff.before)) and the desired one (C(diff.after)), the pending keys and the
    guests that need a reboot, without changing anything.
  - Results of P(pve.config.guest_info#module) give context (node, type, name, pending keys) but no drift.
  - A P(pve.config.fleet_config#module) result counts as one result per guest in its C(guests) list, so one
    fleet task in C(--check --diff) gives the drift of every guest it chose.
  - Results are read as Ansible hands them to callbacks, so a task with C(no_log) shows only that its output
    was hidden, and values of C(no_log) options stay masked.
requirements:
  - Enabled in C(callbacks_enabled) (ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED).
options:
  report_path:
    description:
      - Path of the HTML page. The JSON file is written beside it, with the suffix C(.json) in place of the
        page's suffix (V(pve-drift.html) -> V(pve-drift.json)).
      - A relative path is relative to the directory C(ansible-playbook) runs in. Missing directories are
        created.
    type: path
    default: pve-drift.html
    env:
      - name: PVE_DRIFT_REPORT_PATH
    ini:
      - section: callback_pve_drift_report
        key: report_path
author:
  - pve.config contributors (!UNKNOWN)
"""

import html
import json
import os
from datetime import UTC, datetime

from ansible.plugins.callback import CallbackBase

PREFIX = "pve.config."
CONTEXT_ONLY = ("pve.config.guest_info",)
# modules whose result holds one result per guest in ``guests`` (each with vmid, node, diff, pending, failed)
FLEET_MODULES = ("pve.config.fleet_config",)
# most severe first: a guest's status is the first of these that one of its results earns
STATUSES = ("failed", "drifted", "in_sync", "skipped", "info")
REPORT_FORMAT = 1


def _plain(value):
    """A vmid or name from the task's arguments, or None when it is missing or still a template."""
    if value is None or (isinstance(value, str) and ("{{" in value or "{%" in value)):
        return None
    return value


def _vmid(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value):
    """A config value as the page shows it: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _item_status(res, status):
    if status == "failed" or res.get("failed") or res.get("unreachable"):
        return "failed"
    if status == "skipped" or res.get("skipped"):
        return "skipped"
    return "changed" if res.get("changed") else "ok"


class Report:
    """The guests seen in a run and what their pve.config results say about them."""

    def __init__(self):
        self.guests = {}
        self.current = {}  # guest id -> current config from guest_info: the current value of a pending-only key

    def add(self, host, task, module, args, res, status):
        """Record one result (one loop item) of ``module`` on ``host``; ``args`` are the task's arguments."""
        guest = self._guest(host, args, res)
        if host not in guest["hosts"]:
            guest["hosts"].append(host)
        status = _item_status(res, status)
        for field in ("node", "guest_type"):
            if res.get(field):
                guest[field] = res[field]
        if module in CONTEXT_ONLY and res.get("name"):
            guest["name"] = res["name"]
        if module in CONTEXT_ONLY and isinstance(res.get("current"), dict):
            self.current[guest["id"]] = res["current"]
        pending = res.get("pending")
        if isinstance(pending, dict):
            guest["pending"].update(pending)
            guest["reboot_required"] = guest["reboot_required"] or bool(pending)
        if res.get("reboot_required"):
            guest["reboot_required"] = True
        msg = res.get("msg") or res.get("skip_reason") or res.get("censored") or ""
        guest["results"].append({"task": task, "module": module, "host": host, "status": status, "msg": str(msg)})
        if module not in CONTEXT_ONLY:
            self._add_keys(guest, task, module, res.get("diff"))

    def _guest(self, host, args, res):
        vmid = _vmid(res.get("vmid")) or _vmid(_plain(args.get("vmid")))
        name = _plain(args.get("name"))
        if vmid is not None:
            ident = "vmid:%d" % vmid
        elif name:
            ident = "name:%s" % name
        else:
            ident = "host:%s" % host
        if ident not in self.guests:
            self.guests[ident] = {
                "id": ident,
                "vmid": vmid,
                "name": str(name) if name else None,
                "node": _plain(args.get("node")),
                "guest_type": None,
                "hosts": [],
                "status": None,
                "reboot_required": False,
                "pending": {},
                "keys": [],
                "results": [],
            }
        return self.guests[ident]

    @staticmethod
    def _add_keys(guest, task, module, diff):
        if not isinstance(diff, dict):
            return
        before = diff.get("before") if isinstance(diff.get("before"), dict) else {}
        after = diff.get("after") if isinstance(diff.get("after"), dict) else {}
        for key in sorted(set(before) | set(after)):
            guest["keys"].append(
                {"key": key, "current": before.get(key), "desired": after.get(key), "task": task, "module": module}
            )

    def finish(self):
        """Each guest's status, the pending flag of its keys and the summary; returns the JSON document."""
        guests = sorted(self.guests.values(), key=lambda g: (g["vmid"] is None, g["vmid"] or 0, g["id"]))
        for guest in guests:
            guest["status"] = self._status(guest)
            for row in guest["keys"]:
                row["pending"] = row["key"] in guest["pending"]
            listed = {row["key"] for row in guest["keys"]}
            current = self.current.get(guest["id"], {})
            guest["keys"] += [
                {
                    "key": key,
                    "current": current.get(key),
                    "desired": value,
                    "task": None,
                    "module": None,
                    "pending": True,
                }
                for key, value in sorted(guest["pending"].items())
                if key not in listed
            ]
        summary = {"guests": len(guests), "reboot_required": sum(1 for g in guests if g["reboot_required"])}
        summary.update({status: sum(1 for g in guests if g["status"] == status) for status in STATUSES})
        return {
            "format": REPORT_FORMAT,
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": summary,
            "guests": guests,
        }

    @staticmethod
    def _status(guest):
        seen = {r["status"] for r in guest["results"] if r["module"] not in CONTEXT_ONLY}
        if "failed" in seen or any(r["status"] == "failed" for r in guest["results"]):
            return "failed"
        if guest["keys"] or "changed" in seen:
            return "drifted"
        if "ok" in seen:
            return "in_sync"
        return "skipped" if seen else "info"


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;min-width:7em}
.card b{display:block;font-size:1.6em}
.in_sync b{color:#2a7d2a}.drifted b{color:#b36b00}.failed b{color:#b00020}.reboot b{color:#5a3fb0}
.controls{margin:1em 0;display:flex;gap:1em}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
td.value{font-family:monospace;white-space:pre-wrap;word-break:break-all}
tr.failed td.status{color:#b00020;font-weight:bold}tr.drifted td.status{color:#b36b00}
tr.in_sync td.status{color:#2a7d2a}
"""

SCRIPT = """
(function(){
  var table=document.getElementById('drift'),body=table.tBodies[0];
  var text=document.getElementById('filter-text'),status=document.getElementById('filter-status');
  function apply(){
    var needle=text.value.toLowerCase(),want=status.value,shown=0;
    Array.prototype.forEach.call(body.rows,function(row){
      var okStatus=!want||row.dataset.status===want||(want==='reboot'&&row.dataset.reboot==='true');
      var okText=!needle||row.textContent.toLowerCase().indexOf(needle)>=0;
      row.hidden=!(okStatus&&okText);if(!row.hidden){shown++;}
    });
    document.getElementById('shown').textContent=shown;
  }
  text.addEventListener('input',apply);status.addEventListener('change',apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){
    th.addEventListener('click',function(){
      var desc=th.classList.contains('asc');
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.classList.remove('asc','desc');});
      th.classList.add(desc?'desc':'asc');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].textContent,y=b.cells[col].textContent,nx=Number(x),ny=Number(y);
        var c=(x!==''&&y!==''&&!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return desc?-c:c;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  apply();
})();
"""

COLUMNS = ("vmid", "name", "node", "type", "status", "key", "current", "desired", "pending", "reboot", "task / message")
CARDS = (("guests", "Guests"), ("in_sync", "In sync"), ("drifted", "Drifted"), ("failed", "Failed"))


def _cell(value, css=None):
    attr = ' class="%s"' % css if css else ""
    return "<td%s>%s</td>" % (attr, html.escape(_text(value)))


def _rows(guest):
    """One table row per key of the guest's drift; one row for a guest without drift (its state, its message)."""
    messages = "; ".join(r["msg"] for r in guest["results"] if r["msg"] and r["status"] in ("failed", "skipped"))
    keys = [(r["key"], r["current"], r["desired"], r["pending"], r["task"]) for r in guest["keys"]]
    if not keys:
        keys = [(None, None, None, False, None)]
    for key, current, desired, pending, task in keys:
        cells = [
            _cell(guest["vmid"]),
            _cell(guest["name"]),
            _cell(guest["node"]),
            _cell(guest["guest_type"]),
            _cell(guest["status"].replace("_", " "), "status"),
            _cell(key),
            _cell(current, "value"),
            _cell(desired, "value"),
            _cell("yes" if pending else ""),
            _cell("yes" if guest["reboot_required"] else ""),
            _cell(messages or task),
        ]
        yield '<tr class="%s" data-status="%s" data-reboot="%s">%s</tr>' % (
            html.escape(guest["status"]),
            html.escape(guest["status"]),
            "true" if guest["reboot_required"] else "false",
            "".join(cells),
        )


def render_html(document):
    """The self-contained page of a report document (``Report.finish``); every value is HTML-escaped."""
    summary = document["summary"]
    cards = ['<div class="card %s"><b>%d</b>%s</div>' % (key, summary[key], label) for key, label in CARDS]
    cards.append('<div class="card reboot"><b>%d</b>Need a reboot</div>' % summary["reboot_required"])
    options = "".join(
        '<option value="%s">%s</option>' % (value, label)
        for value, label in (("", "all"), ("in_sync", "in sync"), ("drifted", "drifted"), ("failed", "failed"),
                             ("skipped", "skipped"), ("info", "info only"), ("reboot", "needs a reboot"))
    )  # fmt: skip
    rows = "\n".join(row for guest in document["guests"] for row in _rows(guest))
    head = "".join('<th scope="col">%s</th>' % name for name in COLUMNS)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>pve.config drift report</title><style>%s</style></head><body>"
        "<h1>pve.config drift report</h1><p>Generated %s.</p>"
        '<section class="cards" id="summary">%s</section>'
        '<div class="controls"><label>Filter <input id="filter-text" type="search"></label>'
        '<label>Status <select id="filter-status">%s</select></label>'
        '<span><span id="shown">0</span> rows shown</span></div>'
        '<table id="drift"><thead><tr>%s</tr></thead><tbody>\n%s\n</tbody></table>'
        "<script>%s</script></body></html>\n"
    ) % (STYLE, html.escape(document["generated"]), "".join(cards), options, head, rows, SCRIPT)


def json_path(report_path):
    return os.path.splitext(report_path)[0] + ".json"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pve.config.drift_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.report = Report()

    def _record(self, result, status):
        task = result._task
        module = getattr(task, "resolved_action", None) or task.action
        if not module or not module.startswith(PREFIX):
            return
        res = result._result
        host = result._host.get_name()
        args = task.args if isinstance(task.args, dict) else {}
        if module in FLEET_MODULES and isinstance(res.get("guests"), list):
            for guest in res["guests"]:  # one result per guest, chosen by the module itself
                if isinstance(guest, dict):
                    self.report.add(host, task.get_name(), module, {"name": guest.get("name")}, guest, None)
            return
        items = res.get("results") if isinstance(res.get("results"), list) else None
        if items is None:
            self.report.add(host, task.get_name(), module, args, res, status)
            return
        for item in items:
            if isinstance(item, dict):
                self.report.add(host, task.get_name(), module, args, item, status if item.get("failed") else None)

    def v2_runner_on_ok(self, result):
        self._record(result, None)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        path = self.get_option("report_path")
        document = self.report.finish()
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as page:
            page.write(render_html(document))
        with open(json_path(path), "w", encoding="utf-8") as data:
            json.dump(document, data, indent=2, sort_keys=True, default=str)
            data.write("\n")
        summary = document["summary"]
        self._display.display(
            "pve.config drift report: %s (%d guests: %d in sync, %d drifted, %d failed, %d need a reboot)"
            % (path, summary["guests"], summary["in_sync"], summary["drifted"], summary["failed"],
               summary["reboot_required"])
        )  # fmt: skip
