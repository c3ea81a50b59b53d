#!/usr/bin/env bash
# shellcheck disable=SC2154  # repo is set by tests/venv.sh (sourced below; ansible-test runs shellcheck without -x)
# Lint gate: ruff check + ruff format --check on all Python in the repo, the changelog checks
# (tests/changelog/run.sh: antsibull-changelog lint), and ansible-lint (production profile) on playbooks/
# when it exists.
#
# Usage: tests/lint/run.sh            (from anywhere inside the repo)
# Environment:
#   VENV   venv to install the pinned tools into and run them from (default: <repo>/.venv; created if missing)
# Tools are pinned in tests/requirements-lint.txt; ruff's rules live in pyproject.toml ([tool.ruff*]).
# Every step runs even if an earlier one failed, so one run shows all problems; exit status is non-zero if any failed.
set -euo pipefail

# shellcheck source=tests/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../venv.sh"
start=$SECONDS
failed=()

say() { printf '\n=== lint: %s\n' "$*" >&2; }

ensure_venv tests/requirements-lint.txt

step() {
    local name="$1"
    shift
    say "$name: $*"
    local t0=$SECONDS
    if "$@"; then
        say "$name: ok ($((SECONDS - t0))s)"
    else
        say "$name: FAILED ($((SECONDS - t0))s)"
        failed+=("$name")
    fi
}

# ruff finds every *.py (and *.pyi) under the repo, honouring .gitignore and [tool.ruff] extend-exclude.
step "ruff check" ruff check --no-cache --output-format full .
step "ruff format" ruff format --no-cache --check --diff .

# changelog fragments, config and changelogs/changelog.yaml (antsibull-changelog, pinned above)
step "changelog" bash tests/changelog/run.sh

if [[ -d playbooks ]] && find playbooks -type f \( -name '*.yml' -o -name '*.yaml' \) | grep -q .; then
    # --offline: no Galaxy look-ups, so the collection is made resolvable the same way the tests do it:
    # <tmp>/ansible_collections/pve/config -> <repo> on ANSIBLE_COLLECTIONS_PATH.
    # ansible-lint keeps a cache in <repo>/.ansible/; it is removed afterwards unless it was there before.
    colls="$(mktemp -d "${TMPDIR:-/tmp}/pve-config-lint.XXXXXX")"
    had_cache=0
    [[ -e .ansible ]] && had_cache=1
    trap 'rm -rf "$colls"; [[ $had_cache == 1 ]] || rm -rf "$repo/.ansible"' EXIT
    mkdir -p "$colls/ansible_collections/pve"
    ln -s "$repo" "$colls/ansible_collections/pve/config"
    step "ansible-lint" env ANSIBLE_COLLECTIONS_PATH="$colls${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}" \
        ansible-lint --offline --profile production --nocolor playbooks/
else
    say "ansible-lint: SKIPPED - no playbooks/ directory with *.yml/*.yaml files yet (nothing to lint)"
fi

elapsed=$((SECONDS - start))
if [[ ${#failed[@]} -gt 0 ]]; then
    printf '\nLINT FAILED after %ss: %s\n' "$elapsed" "${failed[*]}" >&2
    printf 'Fix: ruff check --fix . && ruff format .   (then re-run tests/lint/run.sh)\n' >&2
    exit 1
fi
say "passed in ${elapsed}s"
