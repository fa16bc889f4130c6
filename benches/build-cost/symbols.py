#!/usr/bin/env python3
"""Where a build-cost binary's machine code goes: the sizes of its text symbols (from `nm`, before
stripping), by the crate that defines them, and the share whose names mention cloudkit.

    benches/build-cost/symbols.py cloudkit-s3/target/release/bc-cloudkit-s3 [rows]

Names are demangled with the legacy scheme, which drops generic arguments: generic code of another
crate instantiated for a cloudkit type (a tokio task running a cloudkit future, `Vec<T>::push`) counts
for that crate unless a cloudkit name appears in its path (drop glue and closures do), so the cloudkit
share printed is a lower bound.
"""
import collections
import re
import subprocess
import sys


def main():
    path = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    out = subprocess.run(["nm", "-S", "--size-sort", "-C", path], check=True, capture_output=True, text=True).stdout
    by_crate = collections.Counter()
    total = ours = 0
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2] not in "tTwW":
            continue
        size, name = int(parts[1], 16), parts[3]
        bare = name.lstrip("<&*").replace("mut ", "").replace("dyn ", "")
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", bare)
        by_crate[m.group(0) if m else "?"] += size
        total += size
        if "cloudkit" in name:
            ours += size
    print(f"text symbols: {total / 1048576:.2f} MiB; names mentioning cloudkit: {ours / 1048576:.2f} MiB "
          f"({100 * ours / total:.0f}%)")
    for crate, size in by_crate.most_common(rows):
        print(f"{size / 1024:9.1f} KiB  {crate}")


if __name__ == "__main__":
    main()
