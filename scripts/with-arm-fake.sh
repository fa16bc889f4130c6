#!/usr/bin/env bash
# Runs a command with the fake Azure Resource Manager of the tests crate up (tests/src/arm.rs, served by
# the `arm-fake` binary; Microsoft's documented example responses, not a live service): exports the
# environment it prints (a service principal, AZURE_AUTHORITY_HOST, AZURE_SUBSCRIPTION_ID,
# AZURE_RESOURCE_MANAGER_ENDPOINT), runs "$@", and stops the fake. Used by scripts/test.sh for the
# azure_resource_groups example.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build -q -p cloudkit-tests --bin arm-fake
bin="${CARGO_TARGET_DIR:-target}/debug/arm-fake"
env_file="$(mktemp)"
pid=""
cleanup() {
    if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
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
    echo "with-arm-fake: the fake ARM server did not start" >&2
    exit 1
fi
while IFS='=' read -r key value; do
    if [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]]; then export "$key=$value"; fi
done <"$env_file"
"$@"
