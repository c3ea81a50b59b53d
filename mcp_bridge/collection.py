"""Where the pve.config collection the bridge runs lives, as a directory for ANSIBLE_COLLECTIONS_PATH.

- Installed from a wheel: the collection is packaged next to this package as
  ``site-packages/ansible_collections/pve/config``; that site-packages directory is the answer.
- Running from a checkout (or an editable install): the collection is the repository root, so a directory
  ``<tmp>/pve-config-collections-<hash>/ansible_collections/pve/config -> <repo>`` (a symlink) is built once,
  which tests/collection_path.py uses too.
- ``collections_path`` in the configuration overrides both.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

NAMESPACE, NAME = "pve", "config"
_HERE = Path(__file__).resolve().parent.parent


class CollectionNotFound(RuntimeError):
    pass


def _holds_collection(root: Path) -> bool:
    return (root / "ansible_collections" / NAMESPACE / NAME / "galaxy.yml").is_file()


def _is_checkout(root: Path) -> bool:
    return (root / "galaxy.yml").is_file() and (root / "plugins").is_dir()


def checkout_root(repo: Path) -> Path:
    """A directory whose ``ansible_collections/pve/config`` is a symlink to the checkout `repo`."""
    repo = repo.resolve()
    digest = hashlib.sha1(str(repo).encode()).hexdigest()[:10]
    base = Path(
        os.environ.get("PVE_CONFIG_COLLECTIONS_DIR") or Path(tempfile.gettempdir()) / f"pve-config-collections-{digest}"
    )
    link = base / "ansible_collections" / NAMESPACE / NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and Path(os.readlink(link)) != repo:
        link.unlink()
    if not link.exists():
        tmp = link.with_name(f"{NAME}.{os.getpid()}")
        tmp.symlink_to(repo, target_is_directory=True)
        os.replace(tmp, link)
    return base


def collections_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The directory to put on ANSIBLE_COLLECTIONS_PATH so that pve.config resolves."""
    if override:
        root = Path(override).expanduser().resolve()
        if not _holds_collection(root):
            raise CollectionNotFound(
                f"collections_path {root} has no ansible_collections/{NAMESPACE}/{NAME}/galaxy.yml"
            )
        return root
    if _holds_collection(_HERE):
        return _HERE
    if _is_checkout(_HERE):
        return checkout_root(_HERE)
    raise CollectionNotFound(
        f"the {NAMESPACE}.{NAME} collection was not found next to {_HERE}; install the package with pip "
        "(it ships the collection) or set collections_path in the bridge configuration"
    )
