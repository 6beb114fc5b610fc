#!/usr/bin/env python3
"""moto's S3 alone on loopback, for scripts/bench-s3.sh: `moto-s3.py PORT`.

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


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    run_simple("127.0.0.1", int(sys.argv[1]), S3Only(create_backend_app), threaded=True)
