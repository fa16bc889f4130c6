#!/usr/bin/env bash
# Runs a command with one of the tests crate's in-process fakes up, as a process:
#   scripts/with-fake.sh arm CMD…   the fake Azure Resource Manager + Entra token endpoint
#                                   (tests/src/arm.rs, binary `arm-fake`; Microsoft's documented example
#                                   responses): a service principal, AZURE_AUTHORITY_HOST,
#                                   AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_MANAGER_ENDPOINT;
#   scripts/with-fake.sh gce CMD…   the fake Compute Engine + OAuth token endpoint + metadata server
#                                   (tests/src/gce.rs, binary `gce-fake`; Google's documented shapes):
#                                   GOOGLE_APPLICATION_CREDENTIALS (a key file in a temp dir),
#                                   GOOGLE_CLOUD_PROJECT, GCE_METADATA_HOST, CLOUDKIT_GCE_ENDPOINT.
# Neither is a live service. Exports the environment the fake prints, runs "$@", stops the fake and
# removes what it wrote. Used by scripts/test.sh for the azure_resource_groups and gce_instances examples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
    echo "usage: scripts/with-fake.sh arm|gce CMD…" >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
kind="$1"
shift
case "$kind" in
    arm | gce) ;;
    *) usage ;;
esac

cargo build -q -p cloudkit-tests --bin "$kind-fake"
bin="${CARGO_TARGET_DIR:-target}/debug/$kind-fake"
env_file="$(mktemp)"
pid=""
cleanup() {
    if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
    # The gce fake's key files (it is killed, so it cannot remove them itself).
    local dir
    dir="$(sed -n 's/^CLOUDKIT_GCE_FAKE_DIR=//p' "$env_file" 2>/dev/null || true)"
    if [[ -n "$dir" && "$dir" == */ck-gce-fake-* && -d "$dir" ]]; then rm -rf -- "$dir"; fi
    rm -f "$env_file"
}
trap cleanup EXIT
"$bin" </dev/null >"$env_file" &
pid=$!
for _ in $(seq 100); do
    if grep -qx READY "$env_file"; then break; fi
    sleep 0.1
done
if ! grep -qx READY "$env_file"; then
    echo "with-fake: the $kind fake did not start" >&2
    exit 1
fi
while IFS='=' read -r key value; do
    if [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]]; then export "$key=$value"; fi
done <"$env_file"
"$@"
