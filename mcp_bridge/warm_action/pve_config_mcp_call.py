"""Action plugin of a warm run: run one pve.config module with arguments read from the bridge's private channel.

A warm run (mcp_bridge/pool.py) is a real ad-hoc ansible-runner run of this action, started before the call it
will serve: ``-a '{"module": FQCN, "channel": PATH}'``. The action prepares everything that does not depend on the
call (connection, the module's AnsiballZ payload, which ansible caches in the run's private temp dir), then blocks
reading `channel`: a FIFO the bridge created (mode 0600, in the run's 0700 data dir, under a random name). The
bridge writes one JSON document ``{"args": {...}, "check": bool}`` and closes it. The arguments are data: they are
read here, after ansible templated the task's own arguments, and handed to the module exactly as received (the
bridge has refused any Jinja marker before, as on the cold path). The module's result is this task's result, so
ansible-runner reports it as ``runner_on_ok`` / ``runner_on_failed`` exactly as for the cold run of the module.
An empty read (the bridge closed the channel without a call, or died) ends the run without running anything.
"""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        module = self._task.args["module"]
        channel = self._task.args["channel"]
        # Build (and cache) the module's payload now; the call only adds its arguments.
        self._configure_module(module_name=module, module_args={}, task_vars=task_vars)
        with open(channel, "rb") as fh:  # blocks until the bridge opens it, then reads until it closes it
            data = fh.read()
        if not data:
            return merge_hash(result, {"failed": True, "msg": "the bridge closed the channel without a call"})
        call = json.loads(data)
        args = call["args"]
        self._task.check_mode = bool(call.get("check"))
        result = merge_hash(
            result, self._execute_module(module_name=module, module_args=args, task_vars=task_vars, wrap_async=False)
        )
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
