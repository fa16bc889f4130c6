"""Starts gcp-storage-emulator (in memory, quiet) for the store benchmark, with two changes that keep
the emulator's own costs from swamping the clients; BENCH_GCS_EMULATOR_PLAIN=1 leaves it unchanged.

- In-memory storage still serialises every bucket's and object's metadata into a `.meta` JSON
  document (indent=2) after every write, which only disk mode ever reads back (at start): about
  18 µs per stored object per write here, 0.18 s per PUT once 10,000 objects exist, so filling the
  listing workload alone would take about 15 minutes. That dump is skipped.
- The server is http.server's HTTPServer, one thread, HTTP/1.0 (a connection per request), with a
  listen backlog of 5: at concurrency 32 the kernel drops the SYNs that do not fit and each client
  waits the 1 s SYN retransmission. The backlog is raised to 128.

usage: python3 gcs_emulator.py PORT
"""

import os
import sys

if os.environ.get("BENCH_GCS_EMULATOR_PLAIN") != "1":
    from http import server

    from gcp_storage_emulator import storage

    storage.Storage._write_config_to_file = lambda self: None
    server.HTTPServer.request_queue_size = 128

from gcp_storage_emulator.__main__ import main

main(["start", "--host", "127.0.0.1", "--port", sys.argv[1], "--in-memory", "--quiet"])
