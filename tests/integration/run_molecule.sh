#!/usr/bin/env bash
# `molecule test` of extensions/molecule/default against the simulator: starts python -m pve_sim on a free
# loopback port, exports its PROXMOX_* connection, runs the scenario (syntax, prepare = reset the simulator,
# converge = playbooks/demo.yml, idempotence, verify with pve.config.guest_info) and stops the simulator,
# also when molecule fails. Exit status: molecule's.
#
#   bash tests/integration/run_molecule.sh [molecule test options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
[[ -x "$VENV/bin/molecule" ]] || bash scripts/setup.sh
PATH="$PWD/$VENV/bin:$PATH"
ANSIBLE_COLLECTIONS_PATH="$("$PY" -c 'import sys; sys.path.insert(0, "tests"); from collection_path import collection_root; print(collection_root())')"
export PATH ANSIBLE_COLLECTIONS_PATH
# a connection from the caller's shell must not reach the scenario: it runs against the simulator only
unset PROXMOX_HOST PROXMOX_PORT PROXMOX_USER PROXMOX_PASSWORD PROXMOX_TOKEN_ID PROXMOX_TOKEN_SECRET \
    PROXMOX_CA_PATH PROXMOX_VALIDATE_CERTS PROXMOX_TIMEOUT

# shellcheck source=scripts/simulator.sh
source scripts/simulator.sh
trap stop_simulator EXIT
trap 'exit 130' INT TERM
start_simulator "$PY"
echo "run_molecule: simulator at $PVE_SIM_URL" >&2
# molecule's working files (inventory, ansible.cfg, state) beside the simulator's: private to this run and
# removed with it (by default they go to ~/.ansible/tmp/molecule.<hash of the directory name>.default)
export MOLECULE_EPHEMERAL_DIRECTORY="$SIM_DIR/molecule"

start=$SECONDS
status=0
molecule test "$@" || status=$?
echo "run_molecule: molecule test exited $status after $((SECONDS - start))s" >&2
exit "$status"
