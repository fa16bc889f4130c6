"""google-cloud-storage (the Python SDK) for the store benchmark's GCS rows, run in a child process;
prints the result lines of sdk_common.py.

The client is anonymous with STORAGE_EMULATOR_HOST set to the emulator (as tests/tests/gcs_python.rs
configures it). The SDK runs with its defaults: `upload_from_filename` (multipart up to 8 MiB, else a
resumable upload in 100 MiB chunks), `download_to_filename` (one streaming GET, CRC32C checked),
`upload_from_string` / `download_as_bytes` for small objects and `list_blobs`. Small operations at
concurrency above 1 run in a thread pool sharing one client, as an application would.

usage:
  python3 gcs_sdk.py ENDPOINT BUCKET EMULATOR_PID small PREFIX N CONCURRENCY
  python3 gcs_sdk.py ENDPOINT BUCKET EMULATOR_PID upload|download KEY FILE
  python3 gcs_sdk.py ENDPOINT BUCKET EMULATOR_PID list PREFIX EXPECTED
  python3 gcs_sdk.py - - - version
"""

import os
import sys

from sdk_common import Meter, listing, small


def main():
    endpoint, bucket_name, pid, mode = sys.argv[1:5]
    args = sys.argv[5:]
    if mode == "version":
        from importlib.metadata import version

        print(f"VERSION google-cloud-storage {version('google-cloud-storage')}")
        return
    os.environ["STORAGE_EMULATOR_HOST"] = endpoint
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="store-bench", credentials=AnonymousCredentials())
    bucket = client.bucket(bucket_name)
    if mode == "small":
        small(
            pid,
            args[0],
            int(args[1]),
            int(args[2]),
            lambda k, body: bucket.blob(k).upload_from_string(body),
            lambda k: len(bucket.blob(k).download_as_bytes()),
        )
    elif mode in ("upload", "download"):
        key, path = args[0], args[1]
        blob = bucket.blob(key)
        m = Meter(pid)
        if mode == "upload":
            blob.upload_from_filename(path)
        else:
            blob.download_to_filename(path)
        m.report(mode, os.path.getsize(path) / 1048576)
    elif mode == "list":
        listing(pid, int(args[1]), lambda: sum(1 for _ in client.list_blobs(bucket_name, prefix=args[0])))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
