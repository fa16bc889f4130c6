"""boto3's download_fileobj (default TransferConfig: 8 MiB threshold and ranges, 10 threads) of one
object into a file, for the S3 benchmark: prints `RESULT <MiB/s> <peak RSS KiB>`.

usage: python3 boto3_download.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET KEY FILE
"""

import os
import resource
import sys
import time

import boto3
from botocore.config import Config

endpoint, access_key, secret_key, bucket, key, path = sys.argv[1:7]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=access_key,
    aws_secret_access_key=secret_key,
    config=Config(s3={"addressing_style": "path"}, max_pool_connections=10),
)
start = time.monotonic()
with open(path, "wb") as f:
    s3.download_fileobj(bucket, key, f)
secs = time.monotonic() - start
size = os.path.getsize(path)
print(f"RESULT {size / 1048576 / secs} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
