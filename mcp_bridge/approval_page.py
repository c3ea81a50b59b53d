"""The approval page the bridge serves on its HTTP transport (`approval = "human"`, approvals.py).

A person reaches ``<path>/approval/<code>`` through URL-mode elicitation. The code (256 random bits, kept by
the bridge only as its hash) is the credential: the page needs no bearer token, works only while the approval is
pending and for `approval_code_ttl` seconds, and is spent by the first decision (single use). The page shows
exactly what the call would do: the tool, the caller, the guests and their config digests, the reason, the
arguments (a plan id without its signature) and the diff of a check-mode run of the call.

CSRF: the decision is a POST of a form carrying the code again (a cross-site page cannot know it), whose
``Origin`` (when the browser sends one) must be this page's own origin and whose ``Sec-Fetch-Site`` (when sent)
must be same-origin; the answers forbid framing, referrers (the code is in the URL) and caching. Uvicorn's
access log is off, so the code is written nowhere; the audit line names ``approval-page:<code id>`` (a hash
prefix), never the code.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .approvals import Approval, ApprovalError, HumanApprovals

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}
MAX_BODY = 4096
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "pre{background:#f4f4f4;padding:.6em;overflow:auto}td,th{padding:.2em .6em;text-align:left;vertical-align:top}"
    "button{font-size:1.1em;margin-right:1em;padding:.4em 1.2em}.approve{background:#c62828;color:#fff}"
)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def block(value: Any) -> str:
    return f"<pre>{html.escape(json.dumps(value, indent=2, sort_keys=True, default=str))}</pre>"


def details(approval: Approval) -> str:
    shown = approval.public()
    rows = [
        ("approval", shown["id"]),
        ("tool", shown["tool"]),
        ("asked by", shown["principal"]),
        ("guests", ", ".join(map(str, shown["vmids"]))),
        ("why a person must approve", shown.get("reason")),
        ("expires in", f"{shown['expires_in']} s"),
    ]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    parts = [f"<table>{table}</table>"]
    if shown.get("destroys"):
        parts.append(f"<h2>Destroyed permanently</h2>{block(shown['destroys'])}")
    parts.append(f"<h2>Summary of a dry run of this call</h2><p>{html.escape(str(shown.get('summary') or ''))}</p>")
    parts.append(f"<h2>Diff (before / after)</h2>{block(shown.get('diff'))}")
    parts.append(f"<h2>Arguments</h2>{block(shown.get('arguments'))}")
    parts.append(
        f"<h2>Config digests</h2>{block(shown['digests'])}<p>If a guest's config changes before the call runs, "
        "the approval is void and nothing is written.</p>"
    )
    return "".join(parts)


def same_origin(request: Request) -> bool:
    """The POST comes from this page: no cross-site Origin / Sec-Fetch-Site."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != host:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


class ApprovalPage:
    """ASGI: ``<prefix>/approval/<code>`` is the page, everything else goes to `app` (the MCP endpoint)."""

    def __init__(self, app: ASGIApp, approvals: HumanApprovals, mcp_path: str) -> None:
        self.app = app
        self.approvals = approvals
        self.prefix = f"{mcp_path.rstrip('/')}/approval"
        approvals.page_path = self.prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        code = path[len(self.prefix) + 1 :]
        if request.method == "GET":
            response = self.show(code)
        elif request.method == "POST":
            response = await self.decide(request, code)
        else:
            response = page("Method not allowed", "", 405)
        await response(scope, receive, send)

    def show(self, code: str) -> HTMLResponse:
        approval = self.approvals.store.by_code(code)
        if approval is None:
            return page("Approval link not valid", "<p>This link was used, has expired, or is wrong.</p>", 404)
        form = (
            "<form method='post'>"
            f"<input type='hidden' name='code' value='{html.escape(code, quote=True)}'>"
            "<button class='approve' name='decision' value='approve'>Approve</button>"
            "<button name='decision' value='reject'>Reject</button></form>"
        )
        return page(
            f"Approve {approval.tool} on guest(s) {', '.join(map(str, approval.vmids))}?", details(approval) + form
        )

    async def decide(self, request: Request, code: str) -> HTMLResponse:
        if not same_origin(request):
            return page("Refused", "<p>The decision must come from the approval page itself.</p>", 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return page("Refused", "<p>Send the page's form.</p>", 415)
        body = await request.body()
        if len(body) > MAX_BODY:
            return page("Refused", "", 413)
        form: Mapping[str, list[str]] = parse_qs(body.decode("utf-8", "replace"))
        decision = (form.get("decision") or [""])[0]
        if (form.get("code") or [""])[0] != code or decision not in ("approve", "reject"):
            return page("Refused", "<p>Send the page's form.</p>", 400)
        approval = self.approvals.store.by_code(code)
        if approval is None:
            return page("Approval link not valid", "<p>This link was used, has expired, or is wrong.</p>", 404)
        try:
            decided = self.approvals.store.decide(
                approval.id, decision == "approve", f"approval-page:{approval.code_id}", code=code
            )
        except ApprovalError as exc:
            return page("Approval link not valid", f"<p>{html.escape(str(exc))}</p>", 409)
        verdict = "Approved" if decided.state == "approved" else "Rejected"
        return page(f"{verdict}: {decided.id}", "<p>You can close this page; the call goes on in the client.</p>")
