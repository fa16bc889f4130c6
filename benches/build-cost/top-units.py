#!/usr/bin/env python3
"""The slowest compilation units of a `cargo build --timings` report.

    benches/build-cost/top-units.py cloudkit-s3/target/cargo-timings/cargo-timing.html [N]

Durations are per unit (wall seconds while it ran, so on a busy machine they stretch too); the
share column is of the sum of all unit durations, a rough stand-in for where CPU time goes.
"""
import json
import re
import sys

html = open(sys.argv[1], encoding="utf-8").read()
n = int(sys.argv[2]) if len(sys.argv) > 2 else 15
data = json.loads(re.search(r"const UNIT_DATA = (\[.*?\n\]);", html, re.S).group(1))
total = sum(u["duration"] for u in data)
print(f"{len(data)} units, sum of unit durations {total:.1f} s")
for u in sorted(data, key=lambda u: -u["duration"])[:n]:
    what = u["target"].strip() or "lib"
    print(f"{u['duration']:7.1f} s  {100 * u['duration'] / total:5.1f}%  {u['name']} {u['version']} {what}")
