"""Where the pve.config collection the bridge runs lives, as a directory for ANSIBLE_COLLECTIONS_PATH.

- Installed from a wheel: the collection is packaged next to this package as
  ``site-packages/ansible_collections/pve/config``; that site-packages directory is the answer.
- Running from a checkout (or an editable install): the collection is the repository root, so the bridge stages
  ``<dir>/ansible_collections/pve/config -> <repo>`` (a symlink) in a directory it creates itself for this process
  (``mkdtemp``: new, 0700, owned by the bridge's user; removed at exit). Nothing at a predictable path is ever
  trusted: another local user could have planted a fake module there (issue 9.2).
- ``collections_path`` in the configuration overrides both.

Tests and scripts that print the directory for another process use `user_checkout_root` instead: one directory
per user and checkout that outlives the process, used only when it is this user's own private directory.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import stat
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


def collection_dir() -> Path:
    """The directory of the collection that comes with this bridge (wheel or checkout), to read files from."""
    if _holds_collection(_HERE):
        return _HERE / "ansible_collections" / NAMESPACE / NAME
    if _is_checkout(_HERE):
        return _HERE
    raise CollectionNotFound(f"the {NAMESPACE}.{NAME} collection was not found next to {_HERE}")


def _link_collection(base: Path, repo: Path) -> Path:
    """Make ``base/ansible_collections/pve/config`` a symlink to `repo` (base: a private directory of ours)."""
    link = base / "ansible_collections" / NAMESPACE / NAME
    link.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if link.is_symlink() and Path(os.readlink(link)) == repo:
        return base
    tmp = link.with_name(f"{NAME}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(repo, target_is_directory=True)
    os.replace(tmp, link)
    return base


@functools.cache
def checkout_root(repo: Path, parent: str | None = None) -> Path:
    """A new private directory (0700, removed when this process exits) whose ``ansible_collections/pve/config``
    is a symlink to the checkout `repo`; one per process and checkout."""
    base = Path(tempfile.mkdtemp(prefix="pve-config-collections-", dir=parent))
    atexit.register(shutil.rmtree, base, True)
    return _link_collection(base, repo.resolve())


def user_checkout_root(repo: Path, parent: str | os.PathLike[str] | None = None) -> Path:
    """Like `checkout_root`, but one directory per user and checkout that outlives this process
    (``<tmp>/pve-config-collections-<uid>-<hash>``), for scripts that print it for another process.

    It is created 0700; an existing one is used only if it is a real directory (no symlink) owned by this user
    that nobody else can access, otherwise it is refused as possibly planted.
    """
    repo = repo.resolve()
    digest = hashlib.sha256(str(repo).encode()).hexdigest()[:12]
    base = Path(parent or tempfile.gettempdir()) / f"pve-config-collections-{os.getuid()}-{digest}"
    try:
        base.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise CollectionNotFound(
            f"refusing {base}: it is not a private directory of this user (a symlink, another owner or access "
            "for others), so it may have been planted; remove it"
        )
    return _link_collection(base, repo)


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
