#!/usr/bin/env bash
# The Azure Blob and GCS benchmark (issue 21): cloudkit's provider clients and ObjectStore backends
# against object_store and the Python SDKs, on Azurite and gcp-storage-emulator over loopback.
#
#   benches/store-bench/run.sh            # Azure Blob, then GCS
#   benches/store-bench/run.sh azure      # one of them (azure | gcs)
#
# Installs what is missing, then runs `cargo run --release` of this project (see src/main.rs for what
# it measures and the environment it reads: BENCH_LARGE_MIB, BENCH_ROUNDS, BENCH_DIR, ...):
# - the Python SDKs (azure-storage-blob, google-cloud-storage, pinned below) into a virtualenv under
#   target/tools/store-bench-venv, passed to the benchmark as BENCH_PYTHON;
# - the emulators come from scripts/testbed.sh (Azurite under target/tools/azurite, gcp-storage-emulator
#   for the test bed's Python); the benchmark starts its own on free ports and never touches the
#   test bed's. When they are missing this script says to run `scripts/testbed.sh up` once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="$root/target/tools"
venv="$tools/store-bench-venv"
# requirement, module to import
sdks=(
    "azure-storage-blob==12.31.1 azure.storage.blob"
    "google-cloud-storage==3.17.1 google.cloud.storage"
)

log() { printf 'store-bench: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

azurite="${AZURITE_BLOB:-$tools/azurite/node_modules/.bin/azurite-blob}"
[[ -x "$azurite" ]] || die "no azurite-blob at $azurite: run scripts/testbed.sh up once (it installs it)"
emulator_python="${GCS_EMULATOR_PYTHON:-}"
if [[ -z "$emulator_python" ]]; then
    if [[ -x "$tools/venv/bin/python" ]]; then emulator_python="$tools/venv/bin/python"; else emulator_python=python3; fi
fi
"$emulator_python" -c 'import gcp_storage_emulator' 2>/dev/null ||
    die "$emulator_python cannot import gcp_storage_emulator: run scripts/testbed.sh up once (it installs it)"

if [[ ! -x "$venv/bin/python" ]]; then
    log "creating the virtualenv $venv"
    python3 -m venv "$venv"
fi
missing=()
for sdk in "${sdks[@]}"; do
    read -r requirement module <<<"$sdk"
    name="${requirement%%==*}" version="${requirement##*==}"
    if ! "$venv/bin/python" -c "import $module, importlib.metadata as m, sys; sys.exit(m.version('$name') != '$version')" \
        2>/dev/null; then
        missing+=("$requirement")
    fi
done
if ((${#missing[@]} > 0)); then
    log "installing from PyPI into $venv: ${missing[*]}"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
fi

cd "$here"
export AZURITE_BLOB="$azurite" GCS_EMULATOR_PYTHON="$emulator_python" BENCH_PYTHON="$venv/bin/python"
exec cargo run --release --quiet -- "$@"
