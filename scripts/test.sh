#!/usr/bin/env bash
# scripts/test.sh — the project's one full test command (README, and .ci/run in CI).
#
# Brings the emulators up (scripts/testbed.sh up), runs fmt, clippy, the whole workspace's tests (they find
# the emulators through target/testbed/env), the extra commands below and cargo-deny; always brings the
# emulators down again. Every step runs even after an earlier one failed; a summary line per step is
# printed at the end and the exit status is non-zero if any step failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_DENY_VERSION="0.20.2"
ENV_FILE="$ROOT/target/testbed/env"
# The emulators are on loopback: keep any outside-world proxy away from them.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

# ---------------------------------------------------------------------------------------------------------
# EXTRA COMMANDS — later issues add example runs here, one bash string per entry. They run after the tests,
# from the repository root, with target/testbed/env exported (CLOUDKIT_TEST_* variables), e.g.
#   'AWS_ENDPOINT_URL="$CLOUDKIT_TEST_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 cargo run --example s3_quickstart'
EXTRA_COMMANDS=(
    '"$CLOUDKIT_TEST_PYTHON" -c "import boto3,os; boto3.client(\"s3\", endpoint_url=os.environ[\"CLOUDKIT_TEST_MOTO_ENDPOINT\"], aws_access_key_id=\"test\", aws_secret_access_key=\"test\", region_name=\"us-east-1\").create_bucket(Bucket=\"cloudkit-quickstart-url\")" && AWS_ENDPOINT_URL="$CLOUDKIT_TEST_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true CLOUDKIT_STORE=s3://cloudkit-quickstart-url/quickstart cargo run -q --example quickstart'
    'AZURE_STORAGE_CONNECTION_STRING="$CLOUDKIT_TEST_AZURITE_CONNECTION_STRING" cargo run --example azure_blob'
    'STORAGE_EMULATOR_HOST="$CLOUDKIT_TEST_GCS_ENDPOINT" cargo run -q --example gcs'
    'CLOUDKIT_AZURE_EMULATOR=1 bash scripts/with-fake.sh arm cargo run -q --example azure_resource_groups'
    'bash scripts/with-fake.sh gce cargo run -q --example gce_instances'
    'AWS_ENDPOINT_URL="$CLOUDKIT_TEST_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 cargo run -q --example ec2_lifecycle'
    'AWS_ENDPOINT_URL="$CLOUDKIT_TEST_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 cargo run -q -p cloudkit-examples --example any_service'
    'AWS_ENDPOINT_URL="$CLOUDKIT_TEST_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 S3_QUICKSTART_BUCKET=cloudkit-quickstart-moto cargo run -q --example s3_quickstart'
    'AWS_ENDPOINT_URL="$CLOUDKIT_TEST_S3S_ENDPOINT" AWS_ACCESS_KEY_ID="$CLOUDKIT_TEST_S3S_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY" AWS_REGION=us-east-1 S3_QUICKSTART_BUCKET=cloudkit-quickstart-s3s cargo run -q --example s3_quickstart'
)
# ---------------------------------------------------------------------------------------------------------

STEP_NAMES=()
STEP_RESULTS=()
FAILED=0

# run_step NAME CMD... : runs CMD, records PASS/FAIL, never aborts the script.
run_step() {
    local name="$1" start rc
    shift
    printf '\n==> %s\n' "$name"
    start=$SECONDS
    set +e
    "$@"
    rc=$?
    set -e
    STEP_NAMES+=("$name")
    if ((rc == 0)); then
        STEP_RESULTS+=("PASS ($((SECONDS - start))s)")
    else
        STEP_RESULTS+=("FAIL (exit $rc, $((SECONDS - start))s)")
        FAILED=1
    fi
}

with_testbed_env() {
    # Export the testbed's CLOUDKIT_TEST_* values for commands that read the environment directly.
    # The file is KEY=value lines, read literally (values such as connection strings contain ';',
    # so the file is never sourced as shell).
    if [[ -f "$ENV_FILE" ]]; then
        local key value
        while IFS='=' read -r key value; do
            if [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]]; then export "$key=$value"; fi
        done <"$ENV_FILE"
    fi
    "$@"
}

run_extra() {
    with_testbed_env bash -c "set -euo pipefail; $1"
}

cargo_deny() {
    if ! cargo deny --version 2>/dev/null | grep -qF "$CARGO_DENY_VERSION"; then
        echo "installing cargo-deny $CARGO_DENY_VERSION (cargo install --locked)"
        cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION" || return 1
    fi
    local rc=0
    cargo deny check bans licenses sources || rc=1

    # The advisories check needs the RustSec database (cloned from GitHub). Use a local copy if there is
    # one, else try one short fetch; when neither works, say so instead of pretending it was checked.
    local db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
    if timeout 60 cargo deny fetch db; then
        cargo deny check advisories || rc=1
    elif compgen -G "$db_root/*/crates" >/dev/null; then
        echo "note: could not refresh the advisory database; checking against the local copy in $db_root"
        cargo deny --offline check advisories || rc=1
    else
        echo "WARNING: cargo deny advisories NOT checked: the RustSec advisory database is not available" \
            "locally ($db_root) and could not be fetched from GitHub (no network access to it)."
        ADVISORIES_SKIPPED=1
    fi
    return "$rc"
}
ADVISORIES_SKIPPED=0

# CI builds once from a fresh clone: incremental compilation would only add ~1 GiB of caches to the disk.
if [[ "${CI:-}" == "true" ]]; then
    export CARGO_INCREMENTAL=0
fi

disk_report() {
    # Free space where target/ lives, and target/'s size: a full disk fails builds in confusing ways.
    df -h "$ROOT" | tail -n 1 | awk '{print "disk: " $4 " free of " $2}'
    if [[ -d "$ROOT/target" ]]; then du -sh "$ROOT/target" 2>/dev/null | awk '{print "target/: " $1}'; fi
}

testbed_down() {
    bash "$ROOT/scripts/testbed.sh" down || echo "WARNING: scripts/testbed.sh down failed"
}
trap testbed_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

disk_report
run_step "testbed up" bash "$ROOT/scripts/testbed.sh" up
run_step "cargo fmt --check" cargo fmt --all -- --check
run_step "cargo clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings
run_step "cargo doc (broken links are errors)" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features -q
run_step "feature isolation" bash "$ROOT/scripts/check-features.sh"
run_step "cargo test" cargo test --workspace --all-features
run_step "quickstart (local default)" cargo run -q --example quickstart
for cmd in "${EXTRA_COMMANDS[@]}"; do
    run_step "extra: $cmd" run_extra "$cmd"
done
run_step "cargo deny" cargo_deny

printf '\n==> summary\n'
disk_report
for i in "${!STEP_NAMES[@]}"; do
    printf '%-8s %s\n' "${STEP_RESULTS[$i]%% *}" "${STEP_NAMES[$i]} ${STEP_RESULTS[$i]#* }"
done
if ((ADVISORIES_SKIPPED)); then
    echo "WARNING  cargo deny advisories were not checked (RustSec database unavailable; see above)"
fi
if ((FAILED)); then
    echo "RESULT: FAILED"
    exit 1
fi
echo "RESULT: all steps passed"
