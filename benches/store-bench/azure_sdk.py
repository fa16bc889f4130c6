"""azure-storage-blob (the Python SDK) for the store benchmark's Azure rows, run in a child process;
prints the result lines of sdk_common.py.

The SDK runs with its defaults: `upload_blob` (one Put Blob up to 64 MiB, else 4 MiB blocks,
max_concurrency=1), `download_blob().readinto` (a 32 MiB first GET, then 4 MiB ranges,
max_concurrency=1) and `list_blobs` (5,000 per page). The optional MAX_CONCURRENCY of
upload/download overrides max_concurrency (for a diagnostic line). Small operations at concurrency
above 1 run in a thread pool sharing one client, as an application would.

usage:
  python3 azure_sdk.py CONNECTION_STRING CONTAINER EMULATOR_PID small PREFIX N CONCURRENCY
  python3 azure_sdk.py CONNECTION_STRING CONTAINER EMULATOR_PID upload|download KEY FILE [MAX_CONCURRENCY]
  python3 azure_sdk.py CONNECTION_STRING CONTAINER EMULATOR_PID list PREFIX EXPECTED
  python3 azure_sdk.py - - - version
"""

import os
import sys

from sdk_common import Meter, listing, small


def main():
    conn, container_name, pid, mode = sys.argv[1:5]
    args = sys.argv[5:]
    if mode == "version":
        from importlib.metadata import version

        print(f"VERSION azure-storage-blob {version('azure-storage-blob')}")
        return
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(conn)
    container = service.get_container_client(container_name)
    if mode == "small":
        small(
            pid,
            args[0],
            int(args[1]),
            int(args[2]),
            lambda k, body: container.upload_blob(k, body, overwrite=True),
            lambda k: len(container.download_blob(k).readall()),
        )
    elif mode in ("upload", "download"):
        key, path = args[0], args[1]
        kwargs = {"max_concurrency": int(args[2])} if len(args) > 2 else {}
        blob = container.get_blob_client(key)
        m = Meter(pid)
        if mode == "upload":
            with open(path, "rb") as f:
                blob.upload_blob(f, overwrite=True, **kwargs)
        else:
            with open(path, "wb") as f:
                blob.download_blob(**kwargs).readinto(f)
        m.report(mode, os.path.getsize(path) / 1048576)
    elif mode == "list":
        listing(pid, int(args[1]), lambda: sum(1 for _ in container.list_blobs(name_starts_with=args[0])))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
