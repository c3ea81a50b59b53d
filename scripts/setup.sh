#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install pve.config with everything its tests, demo and bridge need.
# Safe to re-run: an existing venv is reused and only missing packages are installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

VENV="${VENV:-.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
    py=""
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            py="$candidate"
            break
        fi
    done
    [[ -n "$py" ]] || { echo "setup: Python 3.11 or newer is required" >&2; exit 1; }
    echo "setup: creating $VENV with $py" >&2
    "$py" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
echo "setup: $VENV ready ($("$VENV/bin/python" --version), $("$VENV/bin/ansible" --version | head -n1))" >&2
