#!/usr/bin/env bash
# Release gate: build the collection tarball, install it with ansible-galaxy into an empty collections
# path, render every module's documentation from the installed copy, and run a playbook from the
# installed copy (not the checkout) against the simulator.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo="$PWD"
VENV="${VENV:-.venv}"
case "$VENV" in /*) ;; *) VENV="$repo/$VENV" ;; esac
export PATH="$VENV/bin:$PATH"

work="$(mktemp -d)"
sim_pid=""
cleanup() {
    [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

echo "build: ansible-galaxy collection build" >&2
ansible-galaxy collection build --output-path "$work/dist" "$repo" >&2
tarball="$(find "$work/dist" -name 'pve-config-*.tar.gz' | head -n 1)"
echo "build: $(basename "$tarball") $(du -h "$tarball" | cut -f1)" >&2
if tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.git|tests/output|__pycache__)/' >&2; then
    echo "build: the tarball carries files it must not" >&2
    exit 1
fi

echo "build: ansible-galaxy collection install" >&2
ansible-galaxy collection install --offline -p "$work/collections" "$tarball" >&2
installed="$work/collections/ansible_collections/pve/config"
[[ -f "$installed/MANIFEST.json" ]] || { echo "build: install left no MANIFEST.json" >&2; exit 1; }

# Only the installed copy may be visible from here on.
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
modules=$(find "$installed/plugins/modules" -maxdepth 1 -name '*.py' ! -name '__*' -exec basename {} .py \; | sort)
for m in $modules; do
    ansible-doc "pve.config.$m" >"$work/doc-$m.txt"
    grep -q "check_mode" "$work/doc-$m.txt" || { echo "build: ansible-doc pve.config.$m has no attributes" >&2; exit 1; }
    echo "build: ansible-doc pve.config.$m ok ($(wc -l <"$work/doc-$m.txt") lines)" >&2
done

echo "build: playbook from the installed copy against the simulator" >&2
python -m pve_sim --port 0 --state-dir "$work/sim" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do [[ -f "$work/sim/env.sh" ]] && break; sleep 0.1; done
[[ -f "$work/sim/env.sh" ]] || { cat "$work/sim.log" >&2; echo "build: simulator did not start" >&2; exit 1; }
# shellcheck disable=SC1091
source "$work/sim/env.sh"
cat >"$work/play.yml" <<'YAML'
- name: Use the installed pve.config
  hosts: localhost
  gather_facts: false
  connection: local
  tasks:
    - name: Scale web01
      pve.config.vm_resources:
        vmid: 100
        memory: 3072
        cores: 3
      register: first
    - name: Again, unchanged
      pve.config.vm_resources:
        vmid: 100
        memory: 3G
        cores: 3
      register: second
    - name: Check
      ansible.builtin.assert:
        that:
          - first is changed
          - second is not changed
          - first.config.memory | string == '3072'
YAML
ansible-playbook -i localhost, -e ansible_python_interpreter="$VENV/bin/python" "$work/play.yml" >&2
echo "build: ok" >&2
