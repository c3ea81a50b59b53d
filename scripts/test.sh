#!/usr/bin/env bash
# Every test gate of pve.config, in one command (this is what CI runs through .ci/run).
# Sets up .venv first. Each gate runs even when an earlier one failed; the exit status is non-zero
# when any gate failed, and the summary at the end names them.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
export VENV="${VENV:-.venv}"

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }
export PATH="$PWD/$VENV/bin:$PATH"

failed=()
summary=()
gate() {
    local name="$1"
    shift
    printf '\n===== %s: %s\n' "$name" "$*" >&2
    local t0=$SECONDS
    if "$@"; then
        summary+=("ok      $name ($((SECONDS - t0))s)")
    else
        summary+=("FAILED  $name ($((SECONDS - t0))s)")
        failed+=("$name")
    fi
}

gate "unit, simulator, integration and MCP tests" python -m pytest -q -p no:cacheprovider tests
for script in tests/integration/run_molecule.sh tests/build/run.sh tests/lint/run.sh tests/sanity/run.sh tests/ee/run.sh; do
    if [[ -f "$script" ]]; then
        gate "$(basename "$(dirname "$script")")" bash "$script"
    else
        summary+=("MISSING $script")
        failed+=("$script missing")
    fi
done

printf '\n===== summary\n' >&2
printf '%s\n' "${summary[@]}" >&2
if ((${#failed[@]})); then
    printf 'test: FAILED: %s\n' "${failed[*]}" >&2
    exit 1
fi
echo "test: all gates passed" >&2
