"""The modules' packaged payloads, built once per module and collection state and handed to the next warm runs.

Building a module's AnsiballZ payload (ansible.executor.module_common ``_make_ansiballz``: finding and zipping every
module_utils file the module imports) is about a third of a warm run's start-up CPU (0.3 s of 1 s here). Ansible
itself caches that payload on disk and shares it among the workers of one run, keyed by the module's name only
(``<fqn>-<compression>-<extensions>`` in ``DEFAULT_LOCAL_TMP/ansiballz_cache``): it is the module's code, the same
for every call, never its arguments. Each warm run has its own temp dir, so each built it again.

`PayloadCache` keeps, in the bridge's memory, the files of that cache as the first run of a module built them
(warm_action/pve_config_mcp_call.py copies them into ``payload/`` of its data dir before it waits for its call) and
writes them into the ``payload/`` dir of the module's next runs, whose action copies them into ansible's cache
before building. Entries are keyed by the pool's fingerprint, which covers the collection's files (pool.py
``collection_state``): a changed module or module_utils file is a new key, and the entries of an old key are
dropped. The files stay in each run's private data dir (0700, removed with the run); they hold no secret and no
call's data (the payload is built with no module arguments).
"""

from __future__ import annotations

import os
import threading

PAYLOAD_DIR = "payload"
MAX_BYTES = 16 << 20  # a payload larger than this is not kept (each run builds its own)


class PayloadCache:
    def __init__(self) -> None:
        self._files: dict[tuple[str, bytes], dict[str, bytes]] = {}
        self._lock = threading.Lock()

    def seed(self, module: str, fingerprint: bytes, data_dir: str) -> str:
        """Create ``payload/`` in a new run's data dir, with the module's payload when one is known; its path."""
        target = os.path.join(data_dir, PAYLOAD_DIR)
        os.mkdir(target, 0o700)
        with self._lock:
            files = dict(self._files.get((module, fingerprint), {}))
        for name, data in files.items():
            fd = os.open(os.path.join(target, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return target

    def known(self, module: str, fingerprint: bytes) -> bool:
        with self._lock:
            return (module, fingerprint) in self._files

    def harvest(self, module: str, fingerprint: bytes, data_dir: str) -> None:
        """Keep the payload a run built (read once it waits for its call: its action wrote it before)."""
        if self.known(module, fingerprint):
            return
        source = os.path.join(data_dir, PAYLOAD_DIR)
        files: dict[str, bytes] = {}
        try:
            for name in os.listdir(source):
                path = os.path.join(source, name)
                if name.startswith(".") or not os.path.isfile(path) or os.path.getsize(path) > MAX_BYTES:
                    continue
                with open(path, "rb") as fh:
                    files[name] = fh.read()
        except OSError:
            return
        if files:
            with self._lock:
                self._files.setdefault((module, fingerprint), files)

    def keep_only(self, fingerprint: bytes) -> None:
        """Drop the payloads built from another state of the collection."""
        with self._lock:
            for key in [key for key in self._files if key[1] != fingerprint]:
                del self._files[key]
