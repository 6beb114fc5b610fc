#!/usr/bin/env python3
"""moto's S3 alone on loopback, for scripts/bench-s3.sh: `moto-s3.py PORT [--fill BUCKET/PREFIX N FILE]...`.

With --fill (any number of times), the bucket is made and N copies of FILE put under PREFIX in
folders of 1,000 (`d000/img_0.jpg`, …) straight into moto's backend before serving (100,000
in a few seconds, where as many PUT requests take minutes): for the test of listing 100,000
keys (tests/integration/s3.rs).

`moto_server` finds the service of every request anew: it lists moto's own package folder
(about 200 entries, one stat each) under a lock shared by all requests, and logs a line per
request: together a third of its CPU time on the bench (py-spy), spent on the two cores
Conveyor runs on. This serves the same moto S3 backend, sends every request straight to it
(and /moto-api to moto's own API), and does not log requests.
"""

import logging
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class S3Only(DomainDispatcherApplication):
    def get_application(self, environ):
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return super().get_application(environ)
        app = self.app_instances.get("s3")
        if app is None:
            with self.lock:
                app = self.app_instances.setdefault("s3", create_backend_app("s3"))
        return app


def fill(where, n, path):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket, _, prefix = where.partition("/")
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, "us-east-1")
    with open(path, "rb") as f:
        data = f.read()
    for i in range(n):
        backend.put_object(bucket, f"{prefix.rstrip('/')}/d{i // 1000:03d}/img_{i}.jpg", data)


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    fills = sys.argv[2:]
    while fills[:1] == ["--fill"] and len(fills) >= 4:
        fill(fills[1], int(fills[2]), fills[3])
        fills = fills[4:]
    run_simple("127.0.0.1", int(sys.argv[1]), S3Only(create_backend_app), threaded=True)
