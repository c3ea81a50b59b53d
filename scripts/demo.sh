#!/usr/bin/env bash
# The sandbox demo of pve.config (docs/demo.md): apply playbooks/demo.yml with --diff, run it again to show
# that nothing changes the second time, then explain how to point the same playbook at a real Proxmox VE.
#
#   bash scripts/demo.sh [ansible-playbook options, such as -e web_vmid=110]
#
# Without PROXMOX_HOST in the environment it starts the project's Proxmox VE API simulator (HTTPS on a free
# loopback port, its own CA) and stops it at the end. With PROXMOX_HOST set it uses that Proxmox VE as it is:
# the PROXMOX_* variables are read by the modules, and demo.yml changes guests 100, 101 and 200 there.
# Creates .venv (scripts/setup.sh) when it is missing. Exits non-zero when a run fails or the second run
# reports changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
if [[ ! -x "$VENV/bin/ansible-playbook" ]] || ! "$PY" -c 'import proxmoxer, ansible_runner' 2>/dev/null; then
    echo "demo: setting up $VENV (scripts/setup.sh)" >&2
    bash scripts/setup.sh
fi
PATH="$PWD/$VENV/bin:$PATH"
ANSIBLE_COLLECTIONS_PATH="$("$PY" -c 'import sys; sys.path.insert(0, "tests"); from collection_path import collection_root; print(collection_root())')"
# the playbooks run on the implicit localhost (this venv's python): no inventory needed, no warning about it
export PATH ANSIBLE_COLLECTIONS_PATH ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false

# shellcheck source=scripts/simulator.sh
source scripts/simulator.sh
trap stop_simulator EXIT
trap 'exit 130' INT TERM

if [[ -t 1 ]]; then
    banner() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
    banner() { printf '\n==> %s\n' "$*"; }
fi

if [[ -n "${PROXMOX_HOST:-}" ]]; then
    banner "Using the real Proxmox VE at $PROXMOX_HOST (PROXMOX_HOST is set); the simulator is not started"
    echo "demo.yml changes VMs 100 and 101 and container 200 there (override: -e web_vmid=... -e db_vmid=... -e dns_ctid=...)."
else
    start_simulator "$PY"
    banner "Started the Proxmox VE API simulator at https://$PROXMOX_HOST (verified TLS with its CA $PROXMOX_CA_PATH), realism on"
    echo "Seeded guests: web01 (VM 100), db01 (VM 101), app02 (VM 102), dns01 (CT 200), proxy01 (CT 201)."
fi

banner "First run: ansible-playbook playbooks/demo.yml --diff $*"
ansible-playbook playbooks/demo.yml --diff "$@"

banner "Second run: the same playbook again - everything is already as requested"
second="$(mktemp "${TMPDIR:-/tmp}/pve-demo.XXXXXX")"
trap 'stop_simulator; rm -f "$second"' EXIT
ansible-playbook playbooks/demo.yml --diff "$@" | tee "$second"
recap="$(sed -E 's/\x1b\[[0-9;]*m//g' "$second" | grep -E '^localhost +:' || true)"
if [[ ! "$recap" =~ changed=0\  ]] || [[ ! "$recap" =~ failed=0\  ]]; then
    echo "demo: FAILED - the second run was not a no-op: ${recap:-no PLAY RECAP}" >&2
    exit 1
fi
banner "Second run reported changed=0: the playbook is idempotent"

cat <<'TEXT'

Point the same playbook at a real Proxmox VE: the modules read the connection from the environment.

  export PROXMOX_HOST=pve1.example.com          # or pve1.example.com:8006
  export PROXMOX_USER=root@pam                  # the user that owns the API token
  export PROXMOX_TOKEN_ID=automation            # token name only (root@pam!automation -> automation)
  export PROXMOX_TOKEN_SECRET=xxxxxxxx-xxxx-... # or PROXMOX_PASSWORD=... for ticket auth
  export PROXMOX_CA_PATH=/path/to/pve-root-ca.pem   # the cluster CA (/etc/pve/pve-root-ca.pem on a node)
  ansible-playbook playbooks/demo.yml --diff --check   # preview first: nothing is written
  ansible-playbook playbooks/demo.yml --diff

or run this demo against it: PROXMOX_HOST=... (and the variables above) bash scripts/demo.sh
TEXT
if [[ -n "$SIM_PID" ]]; then
    banner "Stopping the simulator"
fi
