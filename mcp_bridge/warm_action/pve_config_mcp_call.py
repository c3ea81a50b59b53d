"""Action plugin of a warm run: run one pve.config module with arguments read from the bridge's private channel.

A warm run (mcp_bridge/pool.py) is a real ad-hoc ansible-runner run of this action, started before the call it
will serve: ``-a '{"module": FQCN, "channel": PATH, "payload": DIR}'``. The action prepares everything that does
not depend on the call (connection, the module's AnsiballZ payload, which ansible caches in the run's private temp
dir), then blocks reading `channel`: a FIFO the bridge created (mode 0600, in the run's 0700 data dir, under a random
name). The bridge writes one line of JSON ``{"args": {...}, "check": bool}`` and closes it; the action reads that
one line (not until every writer has closed: a write end the bridge still held elsewhere must not keep the call
waiting). The arguments are data: they are read here, after ansible templated the task's own arguments, and handed
to the module exactly as received (the bridge has refused any Jinja marker before, as on the cold path). The
module's result is this task's result, so ansible-runner reports it as ``runner_on_ok`` / ``runner_on_failed``
exactly as for the cold run of the module. An empty read (the bridge closed the channel without a call, or died)
ends the run without running anything.

`payload` (payload.py): a directory in the run's own data dir. When the bridge put the module's packaged payload
there (built by an earlier run of the same module from the same collection files), it is copied into ansible's
payload cache first, so ansible does not build it again; otherwise the payload this run built is copied there for
the bridge to hand to the next runs. Either way the module code is what ansible itself would have cached.
"""

from __future__ import annotations

import json
import os
import shutil

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


def ansiballz_cache() -> str:
    """Ansible's payload cache of this run (ansible.executor.module_common, ``_make_ansiballz``: ``lookup_path``)."""
    return os.path.join(C.DEFAULT_LOCAL_TMP, "ansiballz_cache")


def copy_files(source: str, target: str) -> None:
    """Copy the regular files of `source` into `target` (each written under a temporary name, then renamed: a
    reader never sees half a file). Best effort: the payload is only a shortcut, ansible builds it if missing."""
    try:
        os.makedirs(target, mode=0o700, exist_ok=True)
        for name in os.listdir(source):
            path = os.path.join(source, name)
            if name.endswith(".lock") or not os.path.isfile(path):
                continue
            partial = os.path.join(target, f".{name}.partial")
            shutil.copyfile(path, partial)
            os.replace(partial, os.path.join(target, name))
    except OSError:
        pass


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        module = self._task.args["module"]
        channel = self._task.args["channel"]
        payload = self._task.args.get("payload")
        given = bool(payload and os.path.isdir(payload) and os.listdir(payload))
        if given:
            copy_files(payload, ansiballz_cache())
        # Build (or take from the cache) the module's payload now; the call only adds its arguments.
        self._configure_module(module_name=module, module_args={}, task_vars=task_vars)
        if payload and not given:
            copy_files(ansiballz_cache(), payload)
        with open(channel, "rb") as fh:  # blocks until the bridge opens it, then reads the call's one line
            data = fh.readline()
        if not data.strip():
            return merge_hash(result, {"failed": True, "msg": "the bridge closed the channel without a call"})
        call = json.loads(data)
        args = call["args"]
        self._task.check_mode = bool(call.get("check"))
        result = merge_hash(
            result, self._execute_module(module_name=module, module_args=args, task_vars=task_vars, wrap_async=False)
        )
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
