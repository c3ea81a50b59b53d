# shellcheck shell=bash
# Start and stop the pve_sim HTTPS simulator from a bash script (scripts/demo.sh, tests/integration/run_molecule.sh).
#
#   source scripts/simulator.sh
#   trap stop_simulator EXIT
#   start_simulator "$VENV/bin/python"     # from the repository root
#
# start_simulator runs `python -m pve_sim --port 0` (a free port) in the background with a fresh state
# directory, waits for it to write env.sh and sources it, so PROXMOX_HOST, PROXMOX_USER, PROXMOX_TOKEN_ID,
# PROXMOX_TOKEN_SECRET, PROXMOX_CA_PATH and PROXMOX_VALIDATE_CERTS (plus PVE_SIM_URL, PVE_SIM_PASSWORD) are
# exported. stop_simulator stops that process (only it) and removes the state directory; it is safe to call twice.
# The simulator runs with its realism switch on (docs/simulator.md "Realism"): it answers like the Proxmox sources
# where they differ from the ideal case. PVE_SIM_REALISM=0 in the caller's environment turns it off.

SIM_PID=""
SIM_DIR=""

start_simulator() {
    local python="$1" waited=0
    SIM_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pve-sim.XXXXXX")"
    PVE_SIM_REALISM="${PVE_SIM_REALISM:-1}" "$python" -m pve_sim --port 0 --state-dir "$SIM_DIR" \
        >"$SIM_DIR/sim.log" 2>&1 &
    SIM_PID=$!
    # env.sh is written (atomically) once the port is bound; the server answers right after.
    until [[ -s "$SIM_DIR/env.sh" ]]; do
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            echo "simulator: python -m pve_sim exited before it was ready:" >&2
            cat "$SIM_DIR/sim.log" >&2
            SIM_PID=""
            return 1
        fi
        if ((waited++ >= 300)); then
            echo "simulator: no $SIM_DIR/env.sh after 30 s" >&2
            return 1
        fi
        sleep 0.1
    done
    # shellcheck source=/dev/null
    source "$SIM_DIR/env.sh"
}

stop_simulator() {
    if [[ -n "$SIM_PID" ]]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=""
    fi
    if [[ -n "$SIM_DIR" ]]; then
        rm -rf "$SIM_DIR"
        SIM_DIR=""
    fi
}
