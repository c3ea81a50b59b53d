# shellcheck shell=bash
# Sourced by the gate scripts under tests/: go to the repository root, resolve $VENV (default <repo>/.venv)
# and provide ensure_venv, which creates the venv when missing, pip-installs the given requirements files
# into it and puts its bin/ first on PATH. Sets: repo, VENV.

repo="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
cd "$repo" || exit 1
VENV="${VENV:-.venv}"
case "$VENV" in /*) ;; *) VENV="$repo/$VENV" ;; esac

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        printf '\n=== creating venv %s\n' "$VENV" >&2
        python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
    fi
    local args=()
    local req
    for req in "$@"; do args+=(-r "$req"); done
    printf '\n=== installing %s into %s\n' "$*" "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"
    export PATH="$VENV/bin:$PATH"
}
