"""The MCP App view of the plan tools (issue 12, "plans you can look at"), through the SDK's `mcp.server.apps`.

`plan_guest_config` and `plan_fleet_config` carry `_meta.ui.resourceUri` = `PLAN_VIEW_URI`, a `ui://` HTML resource
(`text/html;profile=mcp-app`) that the `Apps` extension serves and advertises (`io.modelcontextprotocol/ui`). A host
that renders Apps reads it with `resources/read`, shows it in a sandboxed iframe and hands it the tool's result by
`postMessage` (ext-apps: `ui/initialize`, then `ui/notifications/tool-result` with the `CallToolResult`); the view
draws the plan from the result's `structuredContent`. The resource itself is static: no guest value is ever part
of the document, and the view puts every value into the page as text (`textContent`), so a guest description
holding `</script>` or markup stays text. Its Content-Security-Policy admits only its own script and style (by
hash) and no network at all. Hosts that do not render Apps get the same facts as text (plan_text.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps

PLAN_VIEW_URI = "ui://pve-config/plan-view.html"
VIEW_MODES = ("plan", "fleet_plan")  # ToolSpec.mode of the tools whose result the view draws


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def view_html() -> str:
    """The view's document, with a CSP that allows exactly its one inline script and style and nothing else."""
    template = files(__package__).joinpath("plan_view.html").read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", template, re.DOTALL)
    style = re.search(r"<style>(.*?)</style>", template, re.DOTALL)
    if script is None or style is None:
        raise RuntimeError("plan_view.html lost its <script> or <style> element")
    csp = f"default-src 'none'; script-src {_sha256(script.group(1))}; style-src {_sha256(style.group(1))}"
    return template.replace("@CSP@", csp, 1)


def tool_meta(mode: str) -> dict[str, Any] | None:
    """The `_meta` of a tool whose result the view draws (as `Apps.tool` stamps it), else None."""
    return {"ui": {"resourceUri": PLAN_VIEW_URI}} if mode in VIEW_MODES else None


def plan_view_extension() -> Apps:
    """The Apps extension serving the view; pass it to `MCPServer(extensions=[...])`."""
    apps = Apps()
    apps.add_html_resource(
        PLAN_VIEW_URI,
        view_html(),
        name="plan-view",
        title="Plan of a guest or fleet configuration change",
        description="Shows the result of plan_guest_config / plan_fleet_config: per-key before and after, predicted "
        "reboots, volumes destroyed, the steps, the config digest and the plan's expiry.",
        prefers_border=True,
    )
    return apps
