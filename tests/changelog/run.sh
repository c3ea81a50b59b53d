#!/usr/bin/env bash
# shellcheck disable=SC2154  # repo is set by tests/venv.sh (sourced below; ansible-test runs shellcheck without -x)
# Changelog gate and release helper (antsibull-changelog, collection flavour; config in changelogs/config.yaml).
#
# Usage:
#   tests/changelog/run.sh                       check: lint fragments + config, lint changelogs/changelog.yaml
#                                                (--strict), and check that every git-tracked module whose
#                                                version_added is a released version is listed in that release
#   tests/changelog/run.sh --release X.Y.Z [--date YYYY-MM-DD]
#                                                create release X.Y.Z from the fragments, or, when it exists,
#                                                refresh its module list (--refresh-plugins prevent-removal);
#                                                writes changelogs/changelog.yaml and CHANGELOG.rst
# Environment:
#   VENV   venv to install tests/requirements-lint.txt into (default: <repo>/.venv; created if missing)
# The release runs in a temporary ansible_collections/pve/config copy of the git-tracked files (with their
# working-tree content), so antsibull-changelog's ansible-doc sees exactly what a clone would contain and
# its plugin cache never lands in the work tree.
set -euo pipefail

# shellcheck source=tests/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../venv.sh"
say() { printf '\n=== changelog: %s\n' "$*" >&2; }
die() { printf '\nCHANGELOG FAILED: %s\n' "$*" >&2; exit 1; }

release=""
date="$(date -u +%Y-%m-%d)"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --release) release="${2:?--release needs a version}"; shift 2 ;;
        --date) date="${2:?--date needs YYYY-MM-DD}"; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done

ensure_venv tests/requirements-lint.txt

if [[ -n "$release" ]]; then
    work="$(mktemp -d "${TMPDIR:-/tmp}/pve-config-changelog.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    dest="$work/ansible_collections/pve/config"
    mkdir -p "$dest"
    while IFS= read -r -d '' f; do
        [[ -f "$f" || -L "$f" ]] || continue
        cp -P --parents -- "$f" "$dest/"
    done < <(git ls-files -z --cached --others --exclude-standard -- changelogs/)
    while IFS= read -r -d '' f; do
        [[ -f "$f" || -L "$f" ]] || continue
        cp -P --parents -- "$f" "$dest/"
    done < <(git ls-files -z --cached)
    cd "$dest"
    if [[ -f changelogs/changelog.yaml ]] && grep -qE "^  ['\"]?${release//./\\.}['\"]?:" changelogs/changelog.yaml; then
        say "release $release exists: refreshing its plugin list"
        antsibull-changelog release --version "$release" --date "$date" --reload-plugins \
            --refresh-plugins prevent-removal --update-existing
    else
        say "creating release $release ($date)"
        antsibull-changelog release --version "$release" --date "$date" --reload-plugins
    fi
    cp changelogs/changelog.yaml "$repo/changelogs/changelog.yaml"
    cp CHANGELOG.rst "$repo/CHANGELOG.rst"
    cd "$repo"
    say "wrote changelogs/changelog.yaml and CHANGELOG.rst; review with git diff, then commit them"
fi

say "antsibull-changelog lint"
antsibull-changelog lint || die "fragments or changelogs/config.yaml are invalid (see above)"
if [[ -f changelogs/changelog.yaml ]]; then
    say "antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml"
    antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml || die "changelogs/changelog.yaml is invalid"
    say "released modules are listed in their release"
    "$VENV/bin/python" - <<'PY' || die "changelogs/changelog.yaml misses modules; run: tests/changelog/run.sh --release <version>"
import pathlib, re, subprocess, sys, yaml
releases = (yaml.safe_load(open("changelogs/changelog.yaml")) or {}).get("releases") or {}
missing = []
tracked = subprocess.run(["git", "ls-files", "-z", "--", "plugins/modules/*.py"], check=True,
                         capture_output=True, text=True).stdout.split("\0")
for path in sorted(pathlib.Path(p) for p in tracked if p):
    if path.name == "__init__.py" or not path.exists():
        continue
    m = re.search(r"^version_added:\s*['\"]?([0-9][^'\"\s]*)", path.read_text(), re.M)
    if not m or m.group(1) not in releases:
        continue  # not released yet: the next release picks it up
    listed = {p["name"] for p in releases[m.group(1)].get("modules") or []}
    if path.stem not in listed:
        missing.append(f"{path.stem} (version_added {m.group(1)})")
if missing:
    print("modules missing from their release in changelogs/changelog.yaml: " + ", ".join(missing), file=sys.stderr)
    sys.exit(1)
print("ok", file=sys.stderr)
PY
fi
say "passed"
