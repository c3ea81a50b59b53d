"""collection.py: the checkout is staged only in a directory the bridge creates itself (issue 9.2: a directory
planted at the old predictable ``$TMPDIR/pve-config-collections-<hash>`` was used, fake module and all)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from mcp_bridge.collection import CollectionNotFound, checkout_root, user_checkout_root

REPO = Path(__file__).resolve().parents[2]


def plant(path: Path, mode: int = 0o755) -> Path:
    """What another local user would leave: a collection whose guest_info is theirs."""
    modules = path / "ansible_collections" / "pve" / "config" / "plugins" / "modules"
    modules.mkdir(parents=True)
    (modules / "guest_info.py").write_text("print('planted')\n")
    (path / "ansible_collections" / "pve" / "config" / "galaxy.yml").write_text("namespace: pve\nname: config\n")
    path.chmod(mode)
    return path


def link_of(root: Path) -> Path:
    return Path(os.readlink(root / "ansible_collections" / "pve" / "config"))


def test_the_bridge_stages_a_checkout_in_a_new_private_directory(tmp_path):
    old_name = f"pve-config-collections-{hashlib.sha1(str(REPO).encode()).hexdigest()[:10]}"
    planted = plant(tmp_path / old_name, 0o777)
    root = checkout_root(REPO, str(tmp_path))
    assert root != planted and root.parent == tmp_path
    info = os.lstat(root)
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700
    assert link_of(root) == REPO
    assert checkout_root(REPO, str(tmp_path)) == root  # one per process, not one per call


def test_the_per_user_directory_is_made_private_and_reused(tmp_path):
    root = user_checkout_root(REPO, tmp_path)
    assert root.name.startswith(f"pve-config-collections-{os.getuid()}-")
    assert stat.S_IMODE(os.lstat(root).st_mode) == 0o700 and link_of(root) == REPO
    # A link pointing elsewhere (another checkout) is replaced; the directory itself is ours.
    link = root / "ansible_collections" / "pve" / "config"
    link.unlink()
    link.symlink_to(tmp_path, target_is_directory=True)
    assert user_checkout_root(REPO, tmp_path) == root and link_of(root) == REPO


def _per_user_path(parent: Path) -> Path:
    name = user_checkout_root(REPO, parent).name
    (parent / name / "ansible_collections" / "pve" / "config").unlink()
    for sub in ("ansible_collections/pve", "ansible_collections", ""):
        (parent / name / sub).rmdir()
    return parent / name


@pytest.mark.parametrize("how", ["open to others", "symlink", "other owner"])
def test_a_planted_per_user_directory_is_refused(tmp_path, how):
    path = _per_user_path(tmp_path)
    if how == "open to others":
        plant(path, 0o777)
    elif how == "symlink":
        path.symlink_to(plant(tmp_path / "elsewhere", 0o700), target_is_directory=True)
    else:
        if os.getuid() != 0:
            pytest.skip("needs root to plant a directory owned by another user")
        plant(path, 0o700)
        os.chown(path, 65534, 65534)
    with pytest.raises(CollectionNotFound, match="may have been planted"):
        user_checkout_root(REPO, tmp_path)
