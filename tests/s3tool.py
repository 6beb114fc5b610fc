#!/usr/bin/env python3
"""The S3 client tests/s3.rs checks Conveyor against (boto3, not Conveyor's own client).

Reads the endpoint and credentials from the same AWS_* environment Conveyor does.

  s3tool.py mb BUCKET
  s3tool.py put-dir DIR s3://BUCKET/PREFIX      upload every file under DIR (keys mirror paths)
  s3tool.py get-dir s3://BUCKET/PREFIX DIR      download every object under the prefix
  s3tool.py put FILE s3://BUCKET/KEY            upload one file under exactly that key
  s3tool.py ls s3://BUCKET/PREFIX               print "key<TAB>size" per object, sorted
  s3tool.py wait-count s3://BUCKET/PREFIX N EXT wait until N objects ending in EXT exist
  s3tool.py refuse-after s3://BUCKET/PREFIX N EXT
                                                as wait-count, then moto checks every later
                                                request's credentials against its (empty) IAM:
                                                each is refused as InvalidAccessKeyId
  s3tool.py accept-all                          moto stops checking credentials
"""

import os
import sys
import time
import urllib.request

import boto3


def client():
    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def split(url):
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def listing(s3, url):
    bucket, prefix = split(url)
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix + "/" if prefix else ""
    ):
        out.extend(page.get("Contents", []))
    return bucket, prefix, out


def moto_auth(after):
    """moto's own switch: requests after the next `after` are checked against its IAM."""
    url = os.environ["AWS_ENDPOINT_URL"].rstrip("/") + "/moto-api/reset-auth"
    headers = {"Content-Type": "text/plain"}
    urllib.request.urlopen(urllib.request.Request(url, after.encode(), headers, method="POST"))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    s3 = client()
    if cmd == "mb":
        s3.create_bucket(Bucket=args[0])
    elif cmd == "put-dir":
        root, (bucket, prefix) = args[0], split(args[1])
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                key = f"{prefix}/{rel}" if prefix else rel
                s3.upload_file(path, bucket, key)
    elif cmd == "get-dir":
        bucket, prefix, objects = listing(s3, args[0])
        for o in objects:
            rel = o["Key"][len(prefix) + 1 :] if prefix else o["Key"]
            path = os.path.join(args[1], *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, o["Key"], path)
    elif cmd == "ls":
        _, _, objects = listing(s3, args[0])
        for o in sorted(objects, key=lambda o: o["Key"]):
            print(f"{o['Key']}\t{o['Size']}")
    elif cmd in ("wait-count", "refuse-after"):
        want, ext = int(args[1]), args[2]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, _, objects = listing(s3, args[0])
            if sum(o["Key"].endswith(ext) for o in objects) >= want:
                if cmd == "refuse-after":
                    moto_auth("0")
                return 0
            time.sleep(0.05)
        print("timed out", file=sys.stderr)
        return 1
    elif cmd == "put":
        bucket, key = split(args[1])
        s3.upload_file(args[0], bucket, key)
    elif cmd == "accept-all":
        moto_auth("inf")
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
