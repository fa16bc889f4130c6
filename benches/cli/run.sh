#!/usr/bin/env bash
# CLI benchmark (issue 19): `cloudkit cp -r` against `aws s3 cp --recursive` (awscli from PyPI) on one
# s3s-fs on loopback, for 1,000 × 64 KiB files and for one 1 GiB file, each way (upload, download).
#
#   benches/cli/run.sh            # ROUNDS=3 by default; the table shows each case's median
#   ROUNDS=5 benches/cli/run.sh
#
# Both tools run with their defaults (aws: max_concurrent_requests 10, 8 MiB multipart chunks;
# cloudkit: 8 objects at once, 8 MiB parts, 10 parts or ranges in flight for a lone object), against the
# same s3s-fs (installed by scripts/testbed.sh into target/tools; started here on a free port with
# its data under target/bench-cli). awscli is installed into a virtualenv under target/tools when
# missing. Each run is timed with /usr/bin/time (wall seconds, peak RSS of the process tree's
# largest process); the order of the tools alternates between rounds, and the destination is
# emptied before each run. Results: a table on stdout and results.tsv next to this script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="$root/target/tools"
work="$root/target/bench-cli"
rounds="${ROUNDS:-3}"
results="$here/results.tsv"

log() { printf 'bench-cli: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
s3s="$tools/bin/s3s-fs"
[[ -x "$s3s" ]] || die "no s3s-fs at $s3s: run scripts/testbed.sh up once (it installs it)"

venv="$tools/awscli-venv"
if [[ ! -x "$venv/bin/aws" ]]; then
    log "installing awscli from PyPI into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check awscli
fi
aws="$venv/bin/aws"

log "building cloudkit (release)"
(cd "$root" && cargo build --release --quiet -p cloudkit-cli)
cloudkit="$root/target/release/cloudkit"

rm -rf "$work"
mkdir -p "$work/s3s-data" "$work/many" "$work/large" "$work/down"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ACCESS_KEY_ID=cloudkit-bench AWS_SECRET_ACCESS_KEY=cloudkit-bench-secret AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
"$s3s" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
    "$work/s3s-data" >"$work/s3s.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do
    curl -s -o /dev/null "$endpoint" && break
    sleep 0.1
done

log "writing the data: 1,000 × 64 KiB and 1 × 1 GiB"
python3 - "$work" <<'EOF'
import os, sys
work = sys.argv[1]
for i in range(1000):
    with open(os.path.join(work, "many", f"file-{i:04}.bin"), "wb") as f:
        f.write(os.urandom(64 * 1024))
with open(os.path.join(work, "large", "one-gib.bin"), "wb") as f:
    for _ in range(64):
        f.write(os.urandom(16 * 1024 * 1024))
EOF
"$cloudkit" --endpoint-url "$endpoint" -q mb s3://bench

# run TOOL CASE DIRECTION: prints "wall_seconds peak_rss_kib"
run() {
    local tool="$1" case="$2" direction="$3" src dst
    local remote="s3://bench/$tool-$case/"
    if [[ "$direction" == up ]]; then
        src="$work/$case/"; dst="$remote"
        "$cloudkit" --endpoint-url "$endpoint" -q rm -r --yes "$remote" >/dev/null 2>&1 || true
    else
        src="s3://bench/seed-$case/"; dst="$work/down/"
        rm -rf "$work/down"; mkdir -p "$work/down"
    fi
    sync; sleep 1
    local out="$work/time.txt"
    if [[ "$tool" == aws ]]; then
        /usr/bin/time -f '%e %M' -o "$out" "$aws" --endpoint-url "$endpoint" s3 cp --recursive --only-show-errors "$src" "$dst"
    else
        /usr/bin/time -f '%e %M' -o "$out" "$cloudkit" --endpoint-url "$endpoint" -q cp -r "$src" "$dst"
    fi
    tail -1 "$out"
}

# The download sources, uploaded once.
for case in many large; do
    "$cloudkit" --endpoint-url "$endpoint" -q cp -r "$work/$case/" "s3://bench/seed-$case/"
done

printf 'round\ttool\tcase\tdirection\twall_s\tpeak_rss_kib\n' >"$results"
for round in $(seq "$rounds"); do
    if (( round % 2 )); then order=(cloudkit aws); else order=(aws cloudkit); fi
    for case in many large; do
        for direction in up down; do
            for tool in "${order[@]}"; do
                read -r wall rss < <(run "$tool" "$case" "$direction")
                log "round $round: $tool $case $direction: ${wall}s, peak RSS ${rss} KiB"
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$case" "$direction" "$wall" "$rss" >>"$results"
            done
        done
    done
done

# The table: medians per case; speed-up = aws wall / cloudkit wall.
python3 - "$results" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def med(tool, case, direction, field):
    return statistics.median(float(r[field]) for r in rows if (r["tool"], r["case"], r["direction"]) == (tool, case, direction))
names = {"many": "1,000 × 64 KiB", "large": "1 × 1 GiB"}
print("| case | direction | aws s3 cp | cloudkit cp | speed-up | peak RSS aws | peak RSS cloudkit |")
print("|---|---|---:|---:|---:|---:|---:|")
for case in ("many", "large"):
    for direction in ("up", "down"):
        a, c = med("aws", case, direction, "wall_s"), med("cloudkit", case, direction, "wall_s")
        ra, rc = med("aws", case, direction, "peak_rss_kib"), med("cloudkit", case, direction, "peak_rss_kib")
        label = "upload" if direction == "up" else "download"
        print(f"| {names[case]} | {label} | {a:.2f} s | {c:.2f} s | {a / c:.1f}x | {ra / 1024:.0f} MiB | {rc / 1024:.0f} MiB |")
EOF
