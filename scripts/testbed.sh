#!/usr/bin/env bash
# scripts/testbed.sh — start, stop and inspect the local cloud emulators the integration tests use.
#
#   scripts/testbed.sh up       install what is missing, start every emulator (or reuse healthy ones),
#                               write target/testbed/env
#   scripts/testbed.sh down     stop exactly the processes `up` started (and their children)
#   scripts/testbed.sh status   show what is running, on which port, and whether it answers
#
# Emulators (each on 127.0.0.1, own free port, logs in target/testbed/logs/):
#   moto       moto_server, no auth: S3, EC2, STS, IAM and the EC2 instance metadata service (IMDS)
#   moto-auth  a second moto_server with signature checking on (INITIAL_NO_AUTH_ACTION_COUNT); `up` spends
#              the unauthenticated budget on IAM CreateUser + PutUserPolicy(allow *) + CreateAccessKey and
#              writes that key to the env file. Properly signed requests with it are accepted; a wrong secret
#              gets 403 SignatureDoesNotMatch (S3) / 401 AuthFailure (EC2); an unknown key id gets 403
#              InvalidAccessKeyId. NOTE: a request with *no* Authorization header makes moto 5.2.1 crash
#              the handler with a 500 HTML page (KeyError 'HTTP_AUTHORIZATION'), not a 403.
#   azurite    azurite-blob (blob only, in memory, --skipApiVersionCheck)
#   gcs        gcp-storage-emulator (GCS JSON API, in memory)
#   s3s        s3s-fs (S3 on a local directory, validates SigV4 incl. presigned URLs)
#   arm-specs  Microsoft's mock server for Azure Resource Manager conventions: `tsp-spector serve` over the
#              scenarios of npm @azure-tools/azure-http-specs (long-running operations and paging on invented
#              resources under /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/test-rg/…,
#              see spec-summary.md in the package). It checks no Authorization header. Its poll counters are
#              global per process and reset by each scenario's first request. spector reads the commit of the
#              scenarios with `git rev-parse HEAD`, so it runs with GIT_DIR pointing at a one-commit stub
#              repository under target/tools/arm-specs (the checkout's own git is never touched), and it listens
#              on every interface unless told otherwise, so a `--require` preload binds it to 127.0.0.1.
#
# Ports: each emulator gets a free port picked at start (the OS hands out an unused one), unless overridden
# with CLOUDKIT_TESTBED_{MOTO,MOTO_AUTH,AZURITE,GCS,S3S,ARM_SPECS}_PORT. Other knobs: CLOUDKIT_TESTBED_TIMEOUT (seconds
# to wait for each emulator, default 60), PYTHON (default python3), NPM (default npm).
#
# Findings about moto 5.2.1 (checked by hand against this no-auth server; another engineer builds the
# credential chain on them):
#   IMDS — moto's server answers the metadata paths on any method, ignores tokens and never requires them:
#     PUT  /latest/api/token (x-aws-ec2-metadata-token-ttl-seconds: 21600) -> 200 "fake-imdsv2-token"
#          (text/html; no x-aws-ec2-metadata-token-ttl-seconds header in the reply; GET works too, and the
#          TTL header is not required, so IMDSv1-only and IMDSv2 clients both work; tokens are not checked)
#     GET  /latest/meta-data/iam/security-credentials/            -> 200 "default-role"
#     GET  /latest/meta-data/iam/security-credentials/default-role -> 200
#          {"AccessKeyId": "test-key", "SecretAccessKey": "test-secret-key", "Token": "test-session-token",
#           "Expiration": "<now+1 day, %Y-%m-%dT%H:%M:%SZ>"}
#          (no "Code"/"LastUpdated"/"Type" fields, unlike real IMDS — parse them as optional)
#     GET  /latest/meta-data/iam/security-credentials/<other role> -> 500 (NotImplementedError), not 404
#     GET  /latest/meta-data/placement/region -> 200 "us-east-1"; .../placement/availability-zone -> "us-east-1a";
#          /latest/meta-data/instance-id -> "i-fake"; /latest/meta-data/ -> "iam"
#     GET  /latest/dynamic/instance-identity/document -> 404
#     Quirk: moto echoes the request headers back as response headers on these paths (Host, User-Agent, …).
#   STS on the no-auth server (any access key, signature not checked):
#     AssumeRole -> 200 AssumeRoleResponse with Credentials (AccessKeyId ASIA…, SecretAccessKey, SessionToken,
#       Expiration = now + DurationSeconds) and AssumedRoleUser (Arn arn:aws:sts::123456789012:assumed-role/
#       <role>/<session>). Routing: moto picks the service from the SigV4 credential scope, so the POST must
#       carry an Authorization header whose scope says `sts` (any key/signature is fine); an unsigned
#       Action=AssumeRole POST to / is answered by S3 (ListAllMyBucketsResult).
#     AssumeRoleWithWebIdentity -> 200 AssumeRoleWithWebIdentityResponse, works *unsigned* (form POST to /
#       with Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=…&RoleSessionName=…&WebIdentityToken=…);
#       token not validated; Expiration now+1h; AssumedRoleId "ARO123EXAMPLE123:<session>".
#     GetCallerIdentity -> Account 123456789012, Arn arn:aws:sts::123456789012:user/moto.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TB="$ROOT/target/testbed"
LOGS="$TB/logs"
TOOLS="$ROOT/target/tools"
ENV_FILE="$TB/env"
PYTHON="${PYTHON:-python3}"
VENV_PYTHON="$TOOLS/venv/bin/python"
# A virtualenv made by an earlier `up` (only when the system Python refused pip installs) wins.
if [[ -x "$VENV_PYTHON" ]]; then PYTHON="$VENV_PYTHON"; fi
NPM="${NPM:-npm}"
TIMEOUT="${CLOUDKIT_TESTBED_TIMEOUT:-60}"
# Loopback traffic must never go through a proxy configured for the outside world.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

MOTO_VERSION="5.2.1"
GCS_EMULATOR_VERSION="2026.7.19"
AZURITE_VERSION="3.37.0"
S3S_FS_VERSION="0.14.1" # 0.15+ needs a newer rustc than the workspace toolchain
# Microsoft publishes these only as prereleases; the pair is the one whose peer ranges match each other.
ARM_SPECS_VERSION="0.1.0-alpha.38-dev.2"    # @azure-tools/azure-http-specs
ARM_SPECTOR_VERSION="0.1.0-alpha.24-dev.2" # @typespec/spector

AZURITE_ACCOUNT="devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft).
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3S_ACCESS_KEY_ID="cloudkit-test-access-key"
S3S_SECRET_ACCESS_KEY="cloudkit-test-secret-key"

SERVICES=(moto moto-auth azurite gcs s3s arm-specs)

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# ---------------------------------------------------------------------------------------------------------
# installation (only what is missing)
# ---------------------------------------------------------------------------------------------------------

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not on PATH ($2)"
}

# Prints the pip requirements whose modules $PYTHON cannot import, one per line.
python_missing() {
    "$PYTHON" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1 || echo "moto[server]==$MOTO_VERSION"
    "$PYTHON" -c 'import boto3' >/dev/null 2>&1 || echo "boto3"
    "$PYTHON" -c 'import gcp_storage_emulator' >/dev/null 2>&1 || echo "gcp-storage-emulator==$GCS_EMULATOR_VERSION"
    "$PYTHON" -c 'import azure.storage.blob' >/dev/null 2>&1 || echo "azure-storage-blob"
    # the Python SDK the GCS cross-check tests (tests/tests/gcs_python.rs) read and write with
    "$PYTHON" -c 'import google.cloud.storage' >/dev/null 2>&1 || echo "google-cloud-storage"
}

pip_install() {
    log "installing from PyPI into $PYTHON: $*"
    local start=$SECONDS
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@" || return 1
    log "pip install took $((SECONDS - start))s"
}

install_python_packages() {
    need_cmd "$PYTHON" "install Python 3 with pip"
    local missing=()
    mapfile -t missing < <(python_missing)
    ((${#missing[@]} > 0)) || return 0
    if ! pip_install "${missing[@]}"; then
        # e.g. an "externally managed" system Python: fall back to a virtualenv under target/tools.
        [[ "$PYTHON" != "$VENV_PYTHON" ]] || die "pip install ${missing[*]} failed"
        log "pip install failed; creating a virtualenv in $TOOLS/venv"
        "$PYTHON" -m venv "$TOOLS/venv" || die "could not create $TOOLS/venv (python3-venv missing?)"
        PYTHON="$VENV_PYTHON"
        mapfile -t missing < <(python_missing)
        ((${#missing[@]} == 0)) || pip_install "${missing[@]}" || die "pip install ${missing[*]} failed"
    fi
}

azurite_bin() {
    if [[ -x "$TOOLS/azurite/node_modules/.bin/azurite-blob" ]]; then
        printf '%s\n' "$TOOLS/azurite/node_modules/.bin/azurite-blob"
    elif command -v azurite-blob >/dev/null 2>&1; then
        command -v azurite-blob
    else
        return 1
    fi
}

install_azurite() {
    if azurite_bin >/dev/null; then
        return 0
    fi
    need_cmd node "install Node.js (azurite $AZURITE_VERSION runs on node 20+)"
    need_cmd "$NPM" "install npm"
    log "installing azurite@$AZURITE_VERSION from npm into $TOOLS/azurite"
    local start=$SECONDS
    mkdir -p "$TOOLS/azurite"
    "$NPM" install --prefix "$TOOLS/azurite" --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION" >"$LOGS/install-azurite.log" 2>&1 || {
        tail -n 30 "$LOGS/install-azurite.log" >&2
        die "npm install azurite@$AZURITE_VERSION failed (log: $LOGS/install-azurite.log)"
    }
    log "npm install took $((SECONDS - start))s"
    azurite_bin >/dev/null || die "azurite-blob not found after npm install"
}

ARM_SPECS_DIR="$TOOLS/arm-specs"
ARM_SPECS_SCENARIOS="$ARM_SPECS_DIR/node_modules/@azure-tools/azure-http-specs/specs"

arm_specs_bin() {
    if [[ -x "$ARM_SPECS_DIR/node_modules/.bin/tsp-spector" && -d "$ARM_SPECS_SCENARIOS" ]]; then
        printf '%s\n' "$ARM_SPECS_DIR/node_modules/.bin/tsp-spector"
    else
        return 1
    fi
}

install_arm_specs() {
    if ! arm_specs_bin >/dev/null; then
        need_cmd node "install Node.js (tsp-spector runs on node 20+)"
        need_cmd "$NPM" "install npm"
        log "installing @azure-tools/azure-http-specs@$ARM_SPECS_VERSION and @typespec/spector@$ARM_SPECTOR_VERSION" \
            "from npm into $ARM_SPECS_DIR"
        local start=$SECONDS
        mkdir -p "$ARM_SPECS_DIR"
        "$NPM" install --prefix "$ARM_SPECS_DIR" --no-audit --no-fund --loglevel=error \
            "@azure-tools/azure-http-specs@$ARM_SPECS_VERSION" "@typespec/spector@$ARM_SPECTOR_VERSION" \
            >"$LOGS/install-arm-specs.log" 2>&1 || {
            tail -n 30 "$LOGS/install-arm-specs.log" >&2
            die "npm install of the ARM mock server failed (log: $LOGS/install-arm-specs.log)"
        }
        log "npm install took $((SECONDS - start))s"
        arm_specs_bin >/dev/null || die "tsp-spector or the azure-http-specs scenarios not found after npm install"
    fi
    # The one-commit stub repository spector's `git rev-parse HEAD` reads (through GIT_DIR).
    if ! GIT_DIR="$ARM_SPECS_DIR/git-stub" git rev-parse --verify -q HEAD >/dev/null 2>&1; then
        need_cmd git "spector reads a git commit id"
        rm -rf "$ARM_SPECS_DIR/git-stub"
        git init -q --bare "$ARM_SPECS_DIR/git-stub" || die "could not create $ARM_SPECS_DIR/git-stub"
        local tree commit
        tree="$(GIT_DIR="$ARM_SPECS_DIR/git-stub" git hash-object -t tree -w /dev/null)"
        commit="$(GIT_DIR="$ARM_SPECS_DIR/git-stub" GIT_AUTHOR_NAME=cloudkit GIT_AUTHOR_EMAIL=cloudkit@localhost \
            GIT_COMMITTER_NAME=cloudkit GIT_COMMITTER_EMAIL=cloudkit@localhost \
            git commit-tree "$tree" -m "stub for tsp-spector")"
        GIT_DIR="$ARM_SPECS_DIR/git-stub" git update-ref HEAD "$commit" || die "could not commit in the git stub"
    fi
    # Binds every server node starts to 127.0.0.1 (spector has no host option).
    cat >"$ARM_SPECS_DIR/loopback.cjs" <<'JS'
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === "number" || (typeof args[0] === "string" && /^[0-9]+$/.test(args[0]))) {
        if (typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
    } else if (args[0] && typeof args[0] === "object" && args[0].path === undefined && args[0].host === undefined) {
        args[0] = { ...args[0], host: "127.0.0.1" };
    }
    return listen.apply(this, args);
};
JS
}

s3s_bin() {
    if [[ -x "$TOOLS/bin/s3s-fs" ]]; then
        printf '%s\n' "$TOOLS/bin/s3s-fs"
    elif command -v s3s-fs >/dev/null 2>&1; then
        command -v s3s-fs
    else
        return 1
    fi
}

install_s3s() {
    if s3s_bin >/dev/null; then
        return 0
    fi
    need_cmd cargo "install the Rust toolchain"
    log "installing s3s-fs $S3S_FS_VERSION with cargo into $TOOLS (a few minutes on a cold cache)"
    local start=$SECONDS
    cargo install --locked s3s-fs --version "$S3S_FS_VERSION" --features binary --root "$TOOLS" \
        >"$LOGS/install-s3s-fs.log" 2>&1 || {
        tail -n 30 "$LOGS/install-s3s-fs.log" >&2
        die "cargo install s3s-fs failed (log: $LOGS/install-s3s-fs.log)"
    }
    log "cargo install s3s-fs took $((SECONDS - start))s"
}

# ---------------------------------------------------------------------------------------------------------
# ports, pids, health
# ---------------------------------------------------------------------------------------------------------

free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

port_override() {
    case "$1" in
    moto) printf '%s' "${CLOUDKIT_TESTBED_MOTO_PORT:-}" ;;
    moto-auth) printf '%s' "${CLOUDKIT_TESTBED_MOTO_AUTH_PORT:-}" ;;
    azurite) printf '%s' "${CLOUDKIT_TESTBED_AZURITE_PORT:-}" ;;
    gcs) printf '%s' "${CLOUDKIT_TESTBED_GCS_PORT:-}" ;;
    s3s) printf '%s' "${CLOUDKIT_TESTBED_S3S_PORT:-}" ;;
    arm-specs) printf '%s' "${CLOUDKIT_TESTBED_ARM_SPECS_PORT:-}" ;;
    esac
}

pidfile() { printf '%s/%s.pid' "$TB" "$1"; }
portfile() { printf '%s/%s.port' "$TB" "$1"; }
logfile() { printf '%s/%s.log' "$LOGS" "$1"; }

# A word that must appear in the process's command line, so a recycled PID is never mistaken for ours.
cmd_marker() {
    case "$1" in
    moto | moto-auth) printf 'moto.server' ;;
    azurite) printf 'azurite-blob' ;;
    gcs) printf 'gcp_storage_emulator' ;;
    s3s) printf 's3s-fs' ;;
    arm-specs) printf 'tsp-spector' ;;
    esac
}

# Prints the recorded PID if that process is alive and is the emulator we started.
running_pid() {
    local name="$1" pf pid
    pf="$(pidfile "$name")"
    [[ -f "$pf" ]] || return 1
    pid="$(cat "$pf")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(cmd_marker "$name")" || return 1
    printf '%s\n' "$pid"
}

recorded_port() {
    local pf
    pf="$(portfile "$1")"
    [[ -f "$pf" ]] && cat "$pf"
}

# http_probe URL -> prints "STATUS BODY…" (first 2000 bytes) or nothing if nothing answers.
http_probe() {
    "$PYTHON" - "$1" <<'PY' 2>/dev/null || true
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=3)
    status, body = r.status, r.read(2000)
except urllib.error.HTTPError as e:
    status, body = e.code, e.read(2000)
except Exception:
    sys.exit(0)
print(status, body.decode("utf-8", "replace").replace("\n", " "))
PY
}

# healthy NAME PORT: does the emulator answer with its own recognisable reply?
healthy() {
    local name="$1" port="$2" out
    case "$name" in
    moto | moto-auth)
        # moto-api paths do not spend the moto-auth unauthenticated budget.
        out="$(http_probe "http://127.0.0.1:$port/moto-api/reset-auth")"
        [[ "$out" == 400* && "$out" == *"Moto Auth"* ]]
        ;;
    azurite)
        out="$(http_probe "http://127.0.0.1:$port/$AZURITE_ACCOUNT?comp=list")"
        [[ "$out" == 403* && "$out" == *AuthorizationFailure* ]]
        ;;
    gcs)
        out="$(http_probe "http://127.0.0.1:$port/storage/v1/b?project=test")"
        [[ "$out" == 200* && "$out" == *storage#buckets* ]]
        ;;
    s3s)
        out="$(http_probe "http://127.0.0.1:$port/")"
        [[ "$out" == 403* && "$out" == *"<Error>"* ]]
        ;;
    arm-specs)
        # a scenario without state (ListAvailableOperations), so probing changes no poll counter
        out="$(http_probe "http://127.0.0.1:$port/providers/Azure.ResourceManager.OperationTemplates/operations?api-version=2023-12-01-preview")"
        [[ "$out" == 200* && "$out" == *"Microsoft.Compute/virtualMachines/write"* ]]
        ;;
    esac
}

stop_one() {
    local name="$1" pid i
    if pid="$(running_pid "$name")"; then
        log "stopping $name (pid $pid)"
        # Each emulator runs in its own session/process group (setsid), so this reaches its children too.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop on SIGTERM; sending SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        # Children that outlived the leader (same process group).
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")" "$(portfile "$name")"
}

start_one() {
    local name="$1" port="$2" lf azurite s3s spector
    lf="$(logfile "$name")"
    : >"$lf"
    case "$name" in
    moto)
        PYTHONUNBUFFERED=1 setsid "$PYTHON" -m moto.server -H 127.0.0.1 -p "$port" \
            </dev/null >>"$lf" 2>&1 &
        ;;
    moto-auth)
        # Auth is enforced after the first N authenticated-path requests; `up` re-arms the budget through
        # /moto-api/reset-auth right before it spends it, so health probes cannot eat it.
        INITIAL_NO_AUTH_ACTION_COUNT=3 PYTHONUNBUFFERED=1 setsid "$PYTHON" -m moto.server -H 127.0.0.1 -p "$port" \
            </dev/null >>"$lf" 2>&1 &
        ;;
    azurite)
        azurite="$(azurite_bin)"
        # --location cannot be combined with --inMemoryPersistence; run it from its own directory so
        # nothing it might write lands in the repository root.
        mkdir -p "$TB/azurite"
        (cd "$TB/azurite" && exec setsid "$azurite" --blobHost 127.0.0.1 --blobPort "$port" \
            --skipApiVersionCheck --disableTelemetry --inMemoryPersistence \
            </dev/null >>"$lf" 2>&1) &
        ;;
    gcs)
        PYTHONUNBUFFERED=1 setsid "$PYTHON" -m gcp_storage_emulator start --host 127.0.0.1 --port "$port" --in-memory \
            </dev/null >>"$lf" 2>&1 &
        ;;
    s3s)
        s3s="$(s3s_bin)"
        rm -rf "$TB/s3s-data"
        mkdir -p "$TB/s3s-data"
        setsid "$s3s" --host 127.0.0.1 --port "$port" \
            --access-key "$S3S_ACCESS_KEY_ID" --secret-key "$S3S_SECRET_ACCESS_KEY" \
            "$TB/s3s-data" </dev/null >>"$lf" 2>&1 &
        ;;
    arm-specs)
        spector="$(arm_specs_bin)"
        # its own working directory (for anything it writes) and coverage file, under target/testbed
        mkdir -p "$TB/arm-specs"
        (cd "$TB/arm-specs" && exec setsid env GIT_DIR="$ARM_SPECS_DIR/git-stub" \
            NODE_OPTIONS="--require=$ARM_SPECS_DIR/loopback.cjs" \
            "$spector" serve "$ARM_SPECS_SCENARIOS" --port "$port" --coverageFile "$TB/arm-specs/coverage.json" \
            </dev/null >>"$lf" 2>&1) &
        ;;
    esac
    printf '%s\n' "$!" >"$(pidfile "$name")"
    printf '%s\n' "$port" >"$(portfile "$name")"
}

wait_healthy() {
    local name="$1" port pid deadline
    port="$(recorded_port "$name")"
    deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if healthy "$name" "$port"; then
            return 0
        fi
        if ! pid="$(running_pid "$name")"; then
            break
        fi
        sleep 0.3
    done
    log "ERROR: emulator '$name' did not answer on 127.0.0.1:$port within ${TIMEOUT}s" \
        "(process $(running_pid "$name" >/dev/null && echo alive || echo exited)); last lines of $(logfile "$name"):"
    tail -n 40 "$(logfile "$name")" >&2 || true
    return 1
}

# ---------------------------------------------------------------------------------------------------------
# moto-auth: spend the unauthenticated budget on an IAM user + access key, then prove auth is enforced
# ---------------------------------------------------------------------------------------------------------

MOTO_AUTH_KEYS="$TB/moto-auth.keys"

# Creates the key (when $2 = create) or only verifies the stored one (verify); writes $MOTO_AUTH_KEYS.
moto_auth_keys() {
    local port="$1" mode="$2"
    CLOUDKIT_TB_ENDPOINT="http://127.0.0.1:$port" CLOUDKIT_TB_MODE="$mode" CLOUDKIT_TB_KEYS="$MOTO_AUTH_KEYS" \
        "$PYTHON" - <<'PY'
import json, os, sys, urllib.request
import boto3, botocore.config, botocore.exceptions

ep = os.environ["CLOUDKIT_TB_ENDPOINT"]
keys_path = os.environ["CLOUDKIT_TB_KEYS"]
cfg = botocore.config.Config(retries={"max_attempts": 1})
kw = dict(endpoint_url=ep, region_name="us-east-1", config=cfg)

if os.environ["CLOUDKIT_TB_MODE"] == "create":
    # Re-arm the unauthenticated budget: exactly the three IAM calls below run without auth.
    req = urllib.request.Request(ep + "/moto-api/reset-auth", data=b"3", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req, timeout=10).read()
    iam = boto3.client("iam", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap", **kw)
    iam.create_user(UserName="cloudkit-test")
    iam.put_user_policy(UserName="cloudkit-test", PolicyName="allow-all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="cloudkit-test")["AccessKey"]
    akid, secret = key["AccessKeyId"], key["SecretAccessKey"]
else:
    with open(keys_path) as f:
        akid, secret = f.read().split()

good = boto3.client("s3", aws_access_key_id=akid, aws_secret_access_key=secret, **kw)
good.list_buckets()  # raises if the key is not accepted
bad = boto3.client("s3", aws_access_key_id=akid, aws_secret_access_key=secret + "-wrong", **kw)
try:
    bad.list_buckets()
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] != "SignatureDoesNotMatch":
        sys.exit(f"wrong secret rejected with {e.response['Error']['Code']}, expected SignatureDoesNotMatch")
else:
    sys.exit("moto-auth accepted a request signed with a wrong secret: auth is not enforced")

tmp = keys_path + ".tmp"
with open(tmp, "w") as f:
    f.write(f"{akid} {secret}\n")
os.replace(tmp, keys_path)
PY
}

# ---------------------------------------------------------------------------------------------------------
# env file
# ---------------------------------------------------------------------------------------------------------

write_env() {
    local moto moto_auth azurite gcs s3s arm_specs akid secret tmp
    moto="$(recorded_port moto)"
    moto_auth="$(recorded_port moto-auth)"
    azurite="$(recorded_port azurite)"
    gcs="$(recorded_port gcs)"
    s3s="$(recorded_port s3s)"
    arm_specs="$(recorded_port arm-specs)"
    read -r akid secret <"$MOTO_AUTH_KEYS"
    tmp="$ENV_FILE.tmp"
    {
        echo "# written by scripts/testbed.sh up; removed by scripts/testbed.sh down"
        echo "CLOUDKIT_TEST_MOTO_ENDPOINT=http://127.0.0.1:$moto"
        echo "CLOUDKIT_TEST_MOTO_REGION=us-east-1"
        echo "CLOUDKIT_TEST_MOTO_AUTH_ENDPOINT=http://127.0.0.1:$moto_auth"
        echo "CLOUDKIT_TEST_MOTO_AUTH_ACCESS_KEY_ID=$akid"
        echo "CLOUDKIT_TEST_MOTO_AUTH_SECRET_ACCESS_KEY=$secret"
        echo "CLOUDKIT_TEST_AZURITE_BLOB_ENDPOINT=http://127.0.0.1:$azurite/$AZURITE_ACCOUNT"
        echo "CLOUDKIT_TEST_AZURITE_ACCOUNT=$AZURITE_ACCOUNT"
        echo "CLOUDKIT_TEST_AZURITE_ACCOUNT_KEY=$AZURITE_KEY"
        echo "CLOUDKIT_TEST_AZURITE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$azurite/$AZURITE_ACCOUNT;"
        echo "CLOUDKIT_TEST_GCS_ENDPOINT=http://127.0.0.1:$gcs"
        echo "CLOUDKIT_TEST_S3S_ENDPOINT=http://127.0.0.1:$s3s"
        echo "CLOUDKIT_TEST_S3S_ACCESS_KEY_ID=$S3S_ACCESS_KEY_ID"
        echo "CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY=$S3S_SECRET_ACCESS_KEY"
        # Microsoft's ARM-conventions mock server (tsp-spector + @azure-tools/azure-http-specs)
        echo "CLOUDKIT_TEST_ARM_SPECS_ENDPOINT=http://127.0.0.1:$arm_specs"
        # The interpreter that has boto3, azure-storage-blob and google-cloud-storage (cross-checks).
        echo "CLOUDKIT_TEST_PYTHON=$(command -v "$PYTHON" || echo "$PYTHON")"
    } >"$tmp"
    mv "$tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------------------------------------

cmd_up() {
    mkdir -p "$TB" "$LOGS"
    need_cmd setsid "util-linux"
    install_python_packages
    install_azurite
    install_s3s
    install_arm_specs

    local name pid port started=() picked=()
    for name in "${SERVICES[@]}"; do
        if pid="$(running_pid "$name")" && port="$(recorded_port "$name")" && healthy "$name" "$port"; then
            if [[ "$name" != moto-auth ]] || { [[ -f "$MOTO_AUTH_KEYS" ]] && moto_auth_keys "$port" verify; }; then
                log "$name already running (pid $pid, port $port): reusing it"
                continue
            fi
        fi
        stop_one "$name"
        port="$(port_override "$name")"
        if [[ -z "$port" ]]; then
            # Never hand out the same free port twice in one run.
            port="$(free_port)"
            while [[ " ${picked[*]} " == *" $port "* ]]; do port="$(free_port)"; done
        fi
        picked+=("$port")
        log "starting $name on 127.0.0.1:$port (log: $(logfile "$name"))"
        start_one "$name" "$port"
        started+=("$name")
    done

    local failed=0
    for name in "${started[@]}"; do
        if ! wait_healthy "$name"; then
            failed=1
            continue
        fi
        if [[ "$name" == moto-auth ]]; then
            if ! moto_auth_keys "$(recorded_port moto-auth)" create; then
                log "ERROR: emulator 'moto-auth': could not create the test access key or auth is not enforced;" \
                    "last lines of $(logfile moto-auth):"
                tail -n 40 "$(logfile moto-auth)" >&2 || true
                failed=1
            fi
        fi
    done
    if ((failed)); then
        rm -f "$ENV_FILE"
        die "some emulators failed to start (see above); 'scripts/testbed.sh down' stops the rest"
    fi

    write_env
    log "all emulators up; endpoints in $ENV_FILE"
    cat "$ENV_FILE"
}

cmd_down() {
    local name
    for name in "${SERVICES[@]}"; do
        stop_one "$name"
    done
    rm -f "$ENV_FILE" "$MOTO_AUTH_KEYS"
    rm -rf "$TB/s3s-data" "$TB/azurite" "$TB/arm-specs"
    log "all emulators stopped"
}

cmd_status() {
    local name pid port state rc=0
    for name in "${SERVICES[@]}"; do
        if pid="$(running_pid "$name")"; then
            port="$(recorded_port "$name" || true)"
            if healthy "$name" "$port"; then state="healthy"; else
                state="NOT ANSWERING"
                rc=1
            fi
            printf '%-10s pid %-8s port %-6s %s\n' "$name" "$pid" "$port" "$state"
        else
            printf '%-10s stopped\n' "$name"
            rc=1
        fi
    done
    if [[ -f "$ENV_FILE" ]]; then echo "env file: $ENV_FILE"; else echo "env file: (none)"; fi
    return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
