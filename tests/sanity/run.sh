#!/usr/bin/env bash
# ansible-test sanity for pve.config, offline apart from the package registries.
#
# Usage: tests/sanity/run.sh [extra ansible-test sanity args, e.g. --test pep8 | --skip-test pylint]
# Environment:
#   VENV                   venv to use/install into (default: <repo>/.venv; created if missing)
#   SANITY_PYTHON          Python version for ansible-test (default: the venv's, 3.11 here)
#   SANITY_UNTRACKED=1     also copy untracked, non-ignored files (default: git-tracked files only,
#                          with their working-tree content, i.e. exactly what a clone of this commit
#                          plus your uncommitted edits to tracked files would contain)
#   SANITY_KEEP_TREE=1     keep the temporary ansible_collections tree (always kept on failure)
#
# What it does:
#   1. pip-installs tests/requirements-sanity.txt (ansible-core, which ships ansible-test) into $VENV;
#   2. installs tests/sanity/get_pip_standin.py as ansible-test's cached get-pip script
#      (~/.ansible/test/cache/get_pip_<ver>.py) so its sanity venvs bootstrap pip with ensurepip instead
#      of downloading get-pip from a host we cannot reach;
#   3. copies the collection's files into <tmp>/ansible_collections/pve/config (ansible-test needs that
#      layout and refuses symlinked roots), makes it a git repo so ansible-test's file discovery matches
#      git's, and runs `ansible-test sanity --requirements --python $SANITY_PYTHON --local -v` there.
#   The sanity venvs are cached in ~/.ansible/test/venv (first run is slower).
set -euo pipefail

# shellcheck source=tests/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../venv.sh"
start=$SECONDS

say() { printf '\n=== sanity: %s\n' "$*" >&2; }
die() { printf '\nSANITY FAILED: %s\n' "$*" >&2; exit 1; }

# --- 1. tools -------------------------------------------------------------------------------------
ensure_venv tests/requirements-sanity.txt
# ansible-test --local runs the sanity tests with the venv's own Python: default to its version.
SANITY_PYTHON="${SANITY_PYTHON:-$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}"
command -v ansible-test >/dev/null || die "ansible-test not found in $VENV/bin"

# --- 2. get-pip stand-in --------------------------------------------------------------------------
# ansible-test names the cache file after the pip version it bootstraps (get_venv_packages() in
# ansible_test/_internal/python_requirements.py: pip=24.2 for ansible-core 2.19 -> get_pip_24_2.py).
# Ask the installed ansible-test rather than hard-coding it.
pip_versions="$("$VENV/bin/python" - "$SANITY_PYTHON" <<'EOF'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])
EOF
)" || die "could not read the pip bootstrap version from ansible-test"
cache_dir="$HOME/.ansible/test/cache"
mkdir -p "$cache_dir"
for ver in $pip_versions; do
    target="$cache_dir/get_pip_${ver//./_}.py"
    if ! cmp -s tests/sanity/get_pip_standin.py "$target"; then
        [[ -e "$target" ]] && say "replacing existing $target with the offline stand-in"
        cp tests/sanity/get_pip_standin.py "$target"
    fi
    say "get-pip stand-in for pip $ver: $target"
done

# --- 3. collection tree ---------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/pve-config-sanity.XXXXXX")"
dest="$work/ansible_collections/pve/config"
mkdir -p "$dest"
keep="${SANITY_KEEP_TREE:-0}"
cleanup() {
    rc=$?
    if [[ $rc -ne 0 || "$keep" == 1 ]]; then
        echo "sanity: tree kept for inspection: $dest (results in tests/output/)" >&2
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT

ls_args=(--cached)
[[ "${SANITY_UNTRACKED:-0}" == 1 ]] && ls_args+=(--others --exclude-standard)
count=0
while IFS= read -r -d '' f; do
    # tracked but deleted in the work tree, or a submodule/directory entry: skip
    [[ -f "$f" || -L "$f" ]] || continue
    cp -P --parents -- "$f" "$dest/"
    count=$((count + 1))
done < <(git ls-files -z "${ls_args[@]}")
[[ $count -gt 0 ]] || die "no files to copy"
say "copied $count files into $dest"

# A git repo in the copy: ansible-test then lists files with git (tracked == what we copied) and
# does not complain about unversioned content.
git -C "$dest" init -q
git -C "$dest" add -A
git -C "$dest" -c user.name=sanity -c user.email=sanity@localhost commit -q -m "sanity snapshot" --no-verify

# --- 4. ansible-test ------------------------------------------------------------------------------
say "ansible-test $(ansible-test --version 2>/dev/null || true): sanity --python $SANITY_PYTHON --local"
cd "$dest"
set +e
ansible-test sanity --requirements --python "$SANITY_PYTHON" --local -v --color no "$@"
rc=$?
set -e
elapsed=$((SECONDS - start))
if [[ $rc -ne 0 ]]; then
    die "ansible-test sanity exited $rc after ${elapsed}s (see the errors above; each names file:line:col and the test)"
fi
say "passed in ${elapsed}s"
