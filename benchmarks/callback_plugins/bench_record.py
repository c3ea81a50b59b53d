# GPL-3.0-or-later. Benchmark helper, not part of the pve.config collection.
"""Record every task result of an ansible-playbook run as JSON lines (for the benchmarks).

Enabled with ``ANSIBLE_CALLBACKS_ENABLED=bench_record`` and ``ANSIBLE_CALLBACK_PLUGINS=<this dir>``; writes to
the file named by ``BENCH_RECORD``. The normal stdout callback keeps printing, so the benchmarks can also look at
what a person sees (for example whether ``--diff`` printed a diff).
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_record
    type: aggregate
    short_description: write task results as JSON lines to $BENCH_RECORD
    description: benchmark helper
    requirements: []
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("BENCH_RECORD")
        self._task_started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started[task._uuid] = time.perf_counter()

    def _write(self, status, result):
        if not self._path:
            return
        res = dict(result._result)
        res.pop("invocation", None)
        entry = {
            "task": result._task.get_name(),
            "host": result._host.get_name(),
            "status": status,
            "changed": bool(res.get("changed")),
            # from the task's start (all hosts) to this host's result: module time plus Ansible's per-host work
            "seconds": time.perf_counter() - self._task_started.get(result._task._uuid, time.perf_counter()),
            "res": res,
        }
        with open(self._path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)
