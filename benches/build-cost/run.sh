#!/usr/bin/env bash
# Build-cost benchmark (issue 7, "Build cost"): cold `cargo build --release` of the same S3 quickstart
# program written with cloudkit (aws-s3; aws-s3 + aws-ec2), object_store (aws) and the AWS SDK
# (aws-sdk-s3; + aws-sdk-ec2), each a separate cargo project under this directory (an empty
# [workspace] table keeps them out of the cloudkit workspace build).
#
#   benches/build-cost/run.sh                   # all five projects, in order
#   benches/build-cost/run.sh object-store ...  # only these
#   benches/build-cost/run.sh --table           # print the table of the last run (results.tsv)
#
# For every project: `cargo fetch` first (outside the timing: network time never counts), then
# delete its CARGO_TARGET_DIR (<project>/target) and time a cold
# `cargo build --release --frozen --timings` with /usr/bin/time (wall, user, sys), CARGO_BUILD_JOBS=2
# (override with JOBS=n). The load average before each build is recorded because the machine may
# be shared: compare the CPU-time (user+sys) ratios first, they are much less sensitive to other
# processes than wall time. The binary is stripped (a copy) and its size reported.
# Results: a table on stdout and results.tsv next to this script. `cargo --timings` reports stay in
# <project>/target/cargo-timings/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

all=(cloudkit-s3 cloudkit-s3-ec2 object-store aws-sdk-s3 aws-sdk-s3-ec2)
table_only=0
if [ "${1:-}" = "--table" ]; then table_only=1; shift; fi
projects=("$@")
[ ${#projects[@]} -eq 0 ] && projects=("${all[@]}")
jobs="${JOBS:-2}"
results="$here/results.tsv"

print_table() {
    head -1 "$results"
    awk -F'\t' '
    /^#/ || $1 == "project" { next }
    { wall[$1] = $2; cpu[$1] = $5; mib[$1] = $6 / 1048576; load[$1] = $7 " / " $8; order[n++] = $1 }
    END {
        printf "| %-15s | %8s | %8s | %13s | %13s |\n", "project", "wall s", "CPU s", "stripped MiB", "load 1/5 min"
        printf "|-----------------|---------:|---------:|--------------:|--------------:|\n"
        for (i = 0; i < n; i++) {
            p = order[i]
            printf "| %-15s | %8.1f | %8.1f | %13.2f | %13s |\n", p, wall[p], cpu[p], mib[p], load[p]
        }
        print ""
        ratio("cloudkit-s3", "object-store", 0.8)
        ratio("cloudkit-s3-ec2", "aws-sdk-s3-ec2", 0.25)
        for (i = 0; i < n; i++) {
            p = order[i]
            if (p ~ /^cloudkit/)
                printf "%s stripped binary: %.2f MiB (target <= 6 MiB): %s\n", p, mib[p], (mib[p] <= 6 ? "met" : "MISSED")
        }
    }
    function ratio(a, b, t,   rc, rw) {
        if (!(a in cpu) || !(b in cpu)) return
        rc = cpu[a] / cpu[b]; rw = wall[a] / wall[b]
        printf "%s / %s: CPU %.2fx, wall %.2fx (target <= %.2fx): CPU %s, wall %s\n", a, b, rc, rw, t,
            (rc <= t ? "met" : "MISSED"), (rw <= t ? "met" : "MISSED")
    }
' "$results"
}

if [ "$table_only" = 1 ]; then print_table; exit 0; fi

for p in "${projects[@]}"; do
    [ -f "$p/Cargo.toml" ] || { echo "unknown project: $p" >&2; exit 2; }
done

# No compiler cache or extra flags may skew a cold build.
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_INCREMENTAL

echo "== fetching dependencies (not timed)"
for p in "${projects[@]}"; do
    (cd "$p" && cargo fetch --quiet)
done

{
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(rustc --version) nproc=$(nproc) CARGO_BUILD_JOBS=$jobs"
    printf 'project\twall_s\tuser_s\tsys_s\tcpu_s\tstripped_bytes\tload1_before\tload5_before\n'
} >"$results"

for p in "${projects[@]}"; do
    target="$here/$p/target"
    rm -rf "$target"
    load="$(cut -d' ' -f1,2 /proc/loadavg)"
    echo "== $p: cold release build (load average before: $(uptime | sed 's/.*load average: //'))"
    timefile="$(mktemp)"
    (
        cd "$p"
        CARGO_TARGET_DIR="$target" CARGO_BUILD_JOBS="$jobs" \
            /usr/bin/time -f '%e %U %S' -o "$timefile" \
            cargo build --release --frozen --timings --quiet
    )
    read -r wall user sys <"$timefile"
    rm -f "$timefile"
    bin="$target/release/bc-$p"
    stripped="$(mktemp)"
    cp "$bin" "$stripped"
    strip "$stripped"
    size="$(stat -c %s "$stripped")"
    rm -f "$stripped"
    cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$wall" "$user" "$sys" "$cpu" "$size" ${load} >>"$results"
    echo "   wall ${wall}s, cpu ${cpu}s (user $user, sys $sys), stripped $(awk -v b="$size" 'BEGIN { printf "%.2f", b / 1048576 }') MiB"
done

echo
print_table
