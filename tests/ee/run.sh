#!/usr/bin/env bash
# Execution-environment gate: build the collection tarball, run `ansible-builder create` for
# execution-environment.yml into a temporary directory, and check the generated build context.
# No container engine or registry is needed (create only writes the context); `ansible-builder build`
# with podman/docker and access to the base image registry is the next step, see docs/release.md.
#
# Usage: tests/ee/run.sh
# Environment:
#   VENV          venv to install ansible-builder into (default: <repo>/.venv; created if missing)
#   EE_KEEP=1     keep the temporary directory (always kept on failure)
set -euo pipefail

# shellcheck source=tests/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../venv.sh"
start=$SECONDS

say() { printf '\n=== ee: %s\n' "$*" >&2; }
die() { printf '\nEE FAILED: %s\n' "$*" >&2; exit 1; }

ensure_venv tests/requirements-ee.txt tests/requirements-sanity.txt

work="$(mktemp -d "${TMPDIR:-/tmp}/pve-config-ee.XXXXXX")"
cleanup() {
    rc=$?
    if [[ $rc -ne 0 || "${EE_KEEP:-0}" == 1 ]]; then
        echo "ee: work dir kept for inspection: $work" >&2
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT

# The collection source: git-tracked files only (what a clone contains), so nothing local leaks into the image.
src="$work/src"
mkdir -p "$src"
while IFS= read -r -d '' f; do
    [[ -f "$f" || -L "$f" ]] || continue
    cp -P --parents -- "$f" "$src/"
done < <(git ls-files -z --cached)

# The EE definition and the files it names, laid out as in the repo (paths are relative to the EE file).
ee="$work/ee"
mkdir -p "$ee/build/ee"
cp "$src/execution-environment.yml" "$ee/" 2>/dev/null || die "execution-environment.yml is not tracked by git"
for f in requirements.txt bindep.txt; do
    cp "$src/$f" "$ee/$f" || die "$f (named by execution-environment.yml) is not tracked by git"
done

say "ansible-galaxy collection build"
ansible-galaxy collection build --force --output-path "$work/dist" "$src"
tarballs=("$work"/dist/pve-config-*.tar.gz)
[[ -f "${tarballs[0]}" ]] || die "ansible-galaxy did not produce pve-config-*.tar.gz"
cp "${tarballs[0]}" "$ee/build/ee/pve-config.tar.gz"
version="$(basename "${tarballs[0]}" .tar.gz)"
version="${version#pve-config-}"
say "collection tarball: $(basename "${tarballs[0]}") ($(du -h "${tarballs[0]}" | cut -f1))"
# the tarball must not carry the dev tree's heavy or private parts
if tar -tzf "${tarballs[0]}" | grep -E '^(\.venv|\.git|tests/output|build|dist)/' ; then
    die "collection tarball contains files that build_ignore in galaxy.yml should exclude (listed above)"
fi

ctx="$work/context"
say "ansible-builder create -f execution-environment.yml --context $ctx"
(cd "$ee" && ansible-builder create -v 3 -f execution-environment.yml --context "$ctx" --output-filename Containerfile)

# --- checks on the build context -------------------------------------------------------------------
check() { # description, command...
    local what="$1"
    shift
    if "$@"; then
        say "ok: $what"
    else
        die "$what"
    fi
}
cf="$ctx/Containerfile"
check "Containerfile produced" test -s "$cf"
check "_build/ produced" test -d "$ctx/_build"
check "collection tarball in _build/collections/" test -s "$ctx/_build/collections/pve-config.tar.gz"
check "tarball in the context is a pve.config $version collection" \
    bash -c "tar -xzOf '$ctx/_build/collections/pve-config.tar.gz' MANIFEST.json | grep -q '\"namespace\": \"pve\"' \
             && tar -xzOf '$ctx/_build/collections/pve-config.tar.gz' MANIFEST.json | grep -q '\"version\": \"$version\"'"
check "galaxy requirements name the collection tarball" grep -q 'collections/pve-config.tar.gz' "$ctx/_build/requirements.yml"
check "Containerfile installs galaxy requirements" grep -q 'ansible-galaxy collection install' "$cf"
check "Containerfile copies _build (with collections/) to /build" grep -q '^COPY _build /build' "$cf"
check "python requirements in _build/requirements.txt" test -s "$ctx/_build/requirements.txt"
# every requirement of the collection's requirements.txt is in the context's
while IFS= read -r req; do
    name="$(printf '%s' "$req" | sed -E 's/[ <>=!~;[].*//')"
    check "python requirement '$name' in the build context" grep -qi "^$name" "$ctx/_build/requirements.txt"
done < <(grep -vE '^\s*(#|$)' requirements.txt)
check "bindep.txt in the build context" test -s "$ctx/_build/bindep.txt"
check "Containerfile installs ansible-core 2.19" grep -q 'ansible-core>=2.19' "$cf"
check "Containerfile installs ansible-runner" grep -q 'ansible-runner' "$cf"
check "Containerfile uses python3.11" grep -q 'python3.11' "$cf"

# What the image's "builder" stage will do: install the galaxy requirements, then let ansible-builder's
# introspect.py combine the collections' requirements with ours. Run here on the host against the same files.
say "simulating the galaxy + introspection stages on the host"
(cd "$ctx/_build" && ANSIBLE_GALAXY_DISABLE_GPG_VERIFY=1 ansible-galaxy collection install --offline \
    -r requirements.yml --collections-path "$work/installed") >&2
check "collection installs from the context's requirements.yml" \
    test -f "$work/installed/ansible_collections/pve/config/MANIFEST.json"
"$VENV/bin/python" "$ctx/_build/scripts/introspect.py" introspect "$work/installed" \
    --user-pip="$ctx/_build/requirements.txt" --user-bindep="$ctx/_build/bindep.txt" \
    --write-pip="$work/introspect/requirements.txt" --write-bindep="$work/introspect/bindep.txt" >&2
while IFS= read -r req; do
    name="$(printf '%s' "$req" | sed -E 's/[ <>=!~;[].*//')"
    check "introspection attributes '$name' to collection pve.config" \
        grep -qiE "^$name.*# from collection pve\.config" "$work/introspect/requirements.txt"
done < <(grep -vE '^\s*(#|$)' requirements.txt)
say "combined python requirements the image will install:"
cat "$work/introspect/requirements.txt" >&2

say "build context:"
(cd "$ctx" && find . -type f | sort) >&2
say "passed in $((SECONDS - start))s"
