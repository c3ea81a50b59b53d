"""Make the repository importable as ``ansible_collections.pve.config``.

The collection lives at the repository root; Ansible needs it under
``<dir>/ansible_collections/pve/config``.  ``collection_root()`` builds such a
directory once (a symlink to the checkout) and returns ``<dir>``, ready for
``sys.path`` and ``ANSIBLE_COLLECTIONS_PATH``.
"""

import hashlib
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def collection_root() -> Path:
    base = Path(
        os.environ.get("PVE_CONFIG_COLLECTIONS_DIR")
        or Path(tempfile.gettempdir()) / f"pve-config-collections-{hashlib.sha1(str(REPO).encode()).hexdigest()[:10]}"
    )
    link = base / "ansible_collections" / "pve" / "config"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and Path(os.readlink(link)) != REPO:
        link.unlink()
    if not link.exists():
        tmp = link.with_name(f"config.{os.getpid()}")
        tmp.symlink_to(REPO, target_is_directory=True)
        os.replace(tmp, link)
    return base
