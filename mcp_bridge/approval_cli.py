"""`pve-config-mcp approve ID`, `reject ID` and `approvals [ID]`: a person's decision on the bridge's host.

They talk to the running bridge of the same user through its private socket (approval_channel.py); the bridge
records the decision in its audit log with the OS user the kernel reports for this process.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .approval_channel import ask, private_dir
from .config import ConfigError, load

HELP = {
    "approve": "Approve a destructive call that waits for a person (shows what it does, then approves it).",
    "reject": "Reject a destructive call that waits for a person.",
    "approvals": "List the approvals waiting for a person, or show one.",
}


def describe(approval: dict[str, Any]) -> str:
    lines = [
        f"approval {approval['id']}: {approval['state']}",
        f"  tool {approval['tool']}, asked by {approval['principal']}, guests {approval['vmids']}",
        f"  why: {approval.get('reason')}",
        f"  dry run: {approval.get('summary')}",
        "  diff: " + json.dumps(approval.get("diff"), sort_keys=True),
        "  arguments: " + json.dumps(approval.get("arguments"), sort_keys=True),
        f"  config digests: {approval.get('digests')} (a change before the call runs voids the approval)",
    ]
    if approval.get("decided_by"):
        lines.append(f"  decided by {approval['decided_by']}")
    return "\n".join(lines)


def approval_command(op: str, argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog=f"pve-config-mcp {op}", description=HELP[op])
    p.add_argument("id", nargs="?" if op == "approvals" else None, help="the approval id (apv-...)")
    p.add_argument("--config", "-c", metavar="FILE", help="the bridge's configuration file (for approval_dir)")
    p.add_argument("--approval-dir", help="the bridge's approval directory (default $XDG_RUNTIME_DIR/...)")
    ns = p.parse_args(argv)
    try:
        configured = ns.approval_dir or load(ns.config, environ={}).bridge.approval_dir
        directory = private_dir(configured, create=False)
    except ConfigError as exc:
        print(f"pve-config-mcp: {exc}", file=sys.stderr)
        return 2
    if op == "approvals" and ns.id is None:
        waiting = ask(directory, "list")["approvals"]
        for approval in waiting:
            print(describe(approval))
        if not waiting:
            print("no approval is waiting")
        return 0
    reply = ask(directory, "show" if op == "approvals" else op, ns.id)
    if "error" in reply:
        print(f"pve-config-mcp: {reply['error']}", file=sys.stderr)
        return 1
    print(describe(reply["approval"]))
    return 0
