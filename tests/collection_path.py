"""Make the repository importable as ``ansible_collections.pve.config``.

The collection lives at the repository root; Ansible needs it under ``<dir>/ansible_collections/pve/config``.
``collection_root()`` returns such a ``<dir>`` (a symlink to the checkout, built once), ready for ``sys.path``
and ``ANSIBLE_COLLECTIONS_PATH``. The bridge needs the same thing when it runs from a checkout, so both use
``mcp_bridge.collection.checkout_root``.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mcp_bridge.collection import checkout_root  # noqa: E402


def collection_root() -> Path:
    return checkout_root(REPO)
