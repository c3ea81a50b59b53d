"""Make the repository importable as ``ansible_collections.pve.config``.

The collection lives at the repository root; Ansible needs it under ``<dir>/ansible_collections/pve/config``.
``collection_root()`` returns such a ``<dir>`` (a symlink to the checkout), ready for ``sys.path`` and
``ANSIBLE_COLLECTIONS_PATH``. Scripts print it for other processes, so it is the per-user directory of
``mcp_bridge.collection.user_checkout_root`` (private, verified, never another user's), which outlives this process.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mcp_bridge.collection import user_checkout_root  # noqa: E402


def collection_root() -> Path:
    return user_checkout_root(REPO)
