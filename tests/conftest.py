"""Shared pytest setup: the collection is importable as ansible_collections.pve.config."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collection_path import collection_root  # noqa: E402

ROOT = collection_root()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT))
