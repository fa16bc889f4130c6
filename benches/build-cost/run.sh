#!/usr/bin/env bash
# Build-cost benchmark (issue 7, "Build cost"; issue 21, every cloud in): cold `cargo build --release`
# of the same S3 quickstart program written with cloudkit (aws-s3; every provider, `full`;
# aws-s3 + aws-ec2), object_store (aws) and the AWS SDK
# (aws-sdk-s3; + aws-sdk-ec2), each a separate cargo project under this directory (an empty
# [workspace] table keeps them out of the cloudkit workspace build).
#
#   benches/build-cost/run.sh                   # all six projects, in order
#   benches/build-cost/run.sh object-store ...  # only these
#   benches/build-cost/run.sh --table           # print the table of the last run (results.tsv)
#   ROUNDS=3 benches/build-cost/run.sh cloudkit-s3 object-store
#                                               # three rounds, the order reversed every other round;
#                                               # the table shows each project's median
#
# For every project: `cargo fetch` first (outside the timing: network time never counts), then
# delete its CARGO_TARGET_DIR (<project>/target) and time a cold
# `cargo build --release --frozen --timings` with /usr/bin/time (wall, user, sys), CARGO_BUILD_JOBS=2
# (override with JOBS=n). The load average before each build is recorded because the machine may
# be shared: compare the CPU-time (user+sys) ratios first, they are much less sensitive to other
# processes than wall time. On this shared machine a single cold build varies by up to about 15%
# from run to run, so ratios are best taken from the medians of several rounds (ROUNDS=n).
# The binary is stripped (a copy) and its size reported.
# Results: a table on stdout and results.tsv next to this script. `cargo --timings` reports stay in
# <project>/target/cargo-timings/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

all=(cloudkit-s3 cloudkit-full cloudkit-s3-ec2 object-store aws-sdk-s3 aws-sdk-s3-ec2)
table_only=0
if [ "${1:-}" = "--table" ]; then table_only=1; shift; fi
projects=("$@")
[ ${#projects[@]} -eq 0 ] && projects=("${all[@]}")
jobs="${JOBS:-2}"
rounds="${ROUNDS:-1}"
results="$here/results.tsv"

print_table() {
    head -1 "$results"
    awk -F'\t' '
    /^#/ || $1 == "project" { next }
    {
        if (!($1 in runs)) order[n++] = $1
        k = runs[$1]++
        wall[$1, k] = $2; cpu[$1, k] = $5; mib[$1] = $6 / 1048576; load[$1, k] = $7 " / " $8
    }
    END {
        printf "| %-15s | %6s | %8s | %8s | %13s | %13s |\n", "project", "builds", "wall s", "CPU s", "stripped MiB", "load 1/5 min"
        printf "|-----------------|-------:|---------:|---------:|--------------:|--------------:|\n"
        for (i = 0; i < n; i++) {
            p = order[i]
            w[p] = median(wall, p, runs[p]); c[p] = median(cpu, p, runs[p])
            printf "| %-15s | %6d | %8.1f | %8.1f | %13.2f | %13s |\n", p, runs[p], w[p], c[p], mib[p], (runs[p] == 1 ? load[p, 0] : "-")
        }
        if (n && runs[order[0]] > 1) print "(wall and CPU: the median of each project'"'"'s builds)"
        print ""
        ratio("cloudkit-s3", "object-store", 0.6)
        ratio("cloudkit-full", "object-store", 1.0)
        ratio("cloudkit-s3-ec2", "aws-sdk-s3-ec2", 0.25)
        for (i = 0; i < n; i++) {
            p = order[i]
            if (p ~ /^cloudkit/) {
                t = (p == "cloudkit-s3" ? 5 : (p == "cloudkit-full" ? 7 : 6))
                printf "%s stripped binary: %.2f MiB (target <= %d MiB): %s\n", p, mib[p], t, (mib[p] <= t ? "met" : "MISSED")
            }
        }
    }
    function median(a, p, m,   i, j, t, v) {
        for (i = 0; i < m; i++) v[i] = a[p, i]
        for (i = 1; i < m; i++) for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return (m % 2 ? v[int(m / 2)] : (v[m / 2 - 1] + v[m / 2]) / 2)
    }
    function ratio(a, b, t,   rc, rw) {
        if (!(a in c) || !(b in c)) return
        rc = c[a] / c[b]; rw = w[a] / w[b]
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
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(rustc --version) nproc=$(nproc) CARGO_BUILD_JOBS=$jobs ROUNDS=$rounds cloudkit=$(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- ../../crates ../../Cargo.toml || echo '+changes')"
    printf 'project\twall_s\tuser_s\tsys_s\tcpu_s\tstripped_bytes\tload1_before\tload5_before\n'
} >"$results"

build_one() {
    local p="$1"
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
}

for ((round = 1; round <= rounds; round++)); do
    [ "$rounds" -gt 1 ] && echo "== round $round of $rounds"
    if ((round % 2)); then
        for p in "${projects[@]}"; do build_one "$p"; done
    else
        for ((i = ${#projects[@]} - 1; i >= 0; i--)); do build_one "${projects[i]}"; done
    fi
done

echo
print_table
