#!/usr/bin/env python3
"""How much LLVM IR each of cloudkit's crates hands to code generation in a build-cost project, and
whether any one function (or generic function's copies) dominates it, from `cargo llvm-lines`.

    cargo install cargo-llvm-lines --locked     # once
    benches/build-cost/llvm_lines.py cloudkit-full [rows]

For every cloudkit crate the project compiles it runs `cargo llvm-lines --release -p <crate>` in the
project (release profile, the project's features; the target directory is `target/llvm-lines` under the
project, kept between runs) and prints: the crate's lines of LLVM IR, the number of distinct functions,
the largest function with its share and number of copies (monomorphised instances), the share of
functions compiled in more than one copy, and the share of serde / serde_json's generic deserializer
code instantiated there. Then the `rows` largest functions of the whole project's cloudkit crates.
"""
import json
import os
import re
import subprocess
import sys

ROW = re.compile(r"\s*(\d+) \(.*?\)\s+(\d+) \(.*?\)\s+(.*)")


def cloudkit_crates(project):
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1"], cwd=project, check=True,
                                     capture_output=True, text=True).stdout)
    return sorted(p["name"] for p in meta["packages"] if p["name"].startswith("cloudkit") and p["source"] is None)


def llvm_lines(project, crate):
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.abspath(os.path.join(project, "target", "llvm-lines")))
    out = subprocess.run(["cargo", "llvm-lines", "--release", "-p", crate], cwd=project, env=env, check=True,
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = ROW.match(line)
        if m and m.group(3) != "(TOTAL)":
            rows.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return rows


def main():
    project = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    everything = []
    print(f"{'crate':24} {'IR lines':>9} {'fns':>6}  {'largest':>7} {'copies':>6} {'multi-copy':>10} "
          f"{'serde':>6}  largest function")
    grand = 0
    for crate in cloudkit_crates(project):
        rows = llvm_lines(project, crate)
        total = sum(r[0] for r in rows) or 1
        grand += total
        multi = sum(r[0] for r in rows if r[1] > 1)
        serde = sum(r[0] for r in rows if re.match(r"<*(&mut )?serde", r[2]))
        lines, copies, name = max(rows) if rows else (0, 0, "-")
        print(f"{crate:24} {total:9} {len(rows):6}  {lines / total:7.1%} {copies:6} {multi / total:10.1%} "
              f"{serde / total:6.1%}  {name[:90]}")
        everything += [(r[0], r[1], crate, r[2]) for r in rows]
    print(f"{'all':24} {grand:9}")
    print(f"\nthe {top} largest functions of cloudkit's crates in {project} (lines, copies, crate, name):")
    for lines, copies, crate, name in sorted(everything, reverse=True)[:top]:
        print(f"{lines:7} {lines / grand:5.1%} {copies:4}  {crate:22} {name[:110]}")


if __name__ == "__main__":
    main()
