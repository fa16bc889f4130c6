"""What the store benchmark's Python SDK scripts (azure_sdk.py, gcs_sdk.py) share: the result lines.

Each workload prints `RESULT <name> <rate> <wall s> <cpu s> <emulator cpu s> <peak RSS KiB>`: the rate
in ops/s, MiB/s or keys/s, the wall time, this process's CPU time (user + system), the CPU time the
emulator (its pid is an argument) spent meanwhile, read from /proc, and this process's peak RSS
(ru_maxrss). A failed workload prints `ERROR <name> <message>` instead.
"""

import concurrent.futures
import os
import resource
import time

SMALL = 4096
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emulator_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Meter:
    """Wall time, this process's CPU time and the emulator's CPU time from its creation on."""

    def __init__(self, pid):
        self.pid = pid
        self.wall = time.monotonic()
        self.cpu = cpu()
        self.emu = emulator_cpu(pid)

    def stop(self):
        """(wall s, CPU s, emulator CPU s) since the start."""
        return (time.monotonic() - self.wall, cpu() - self.cpu, emulator_cpu(self.pid) - self.emu)

    def report(self, name, amount, measured=None):
        wall, used, emu = measured or self.stop()
        print(f"RESULT {name} {amount / wall} {wall} {used} {emu} {rss_kib()}", flush=True)


def error(name, e):
    print(f"ERROR {name} {type(e).__name__}: {e}".replace("\n", " "), flush=True)


def run_pool(fn, items, concurrency):
    """fn over items, in a thread pool of `concurrency` threads (in order when 1)."""
    if concurrency == 1:
        return [fn(i) for i in items]
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(fn, items))


def small(pid, prefix, n, concurrency, put, get):
    """50 PUTs and GETs to warm up (connections), then n PUTs and n GETs of 4 KiB objects."""
    body = b"\x42" * SMALL
    warm = [f"{prefix}/warm/{i:06}" for i in range(50)]
    run_pool(lambda k: put(k, body), warm, min(4, concurrency))
    run_pool(get, warm, min(4, concurrency))
    keys = [f"{prefix}/{i:06}" for i in range(n)]
    try:
        m = Meter(pid)
        run_pool(lambda k: put(k, body), keys, concurrency)
        m.report("put", n)
    except Exception as e:  # noqa: BLE001 - reported as the row's error
        error("put", e)
    try:
        m = Meter(pid)
        sizes = run_pool(get, keys, concurrency)
        assert sum(sizes) == n * SMALL, "every GET read the whole object"
        m.report("get", n)
    except Exception as e:  # noqa: BLE001
        error("get", e)


def listing(pid, expected, list_all):
    """Best of three listings (each must count `expected` keys)."""
    best = None
    for _ in range(3):
        m = Meter(pid)
        n = list_all()
        assert n == expected, f"listed {n} keys, expected {expected}"
        measured = m.stop()
        if best is None or measured[0] < best[0]:
            best = measured
    Meter(pid).report("list", expected, best)
