"""A local S3 protocol server for the s3 connector's tests and benchmark: moto's own server app.

    .venv/bin/python -m asset_pipeline_tests.s3_server --port 9000

Clients talk plain S3 over HTTP to moto's application (the one ``moto_server`` runs), wrapped in a
small WSGI middleware that adds what a test or a benchmark needs and moto lacks, under ``/_ap/``
(POST, JSON body):

- ``/_ap/fault``   ``{"bucket": b, "prefix": p, "after_pages": n}``: ListObjectsV2 requests on
  bucket ``b`` whose ``prefix`` parameter starts with ``p`` answer 403 AccessDenied once they carry
  a continuation token (``after_pages`` 1) or always (0): a prefix a deny policy hides part-way.
- ``/_ap/latency`` ``{"seconds": s}``: every S3 request waits ``s`` before it is answered, as a
  remote store's round trip does (moto on localhost answers in a few ms).
- ``/_ap/seed``    ``{"bucket": b, "keys": [...], "body": "x"}``: create ``b`` if needed and put
  every key through moto's S3 backend in this process. Only for the benchmark's 100,000 objects:
  moto takes ~3 ms per PUT over HTTP on two cores. Listing still goes over HTTP.

Everything else, IAM authentication included (``/moto-api/reset-auth``), is moto's.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
import urllib.request
from urllib.parse import parse_qs, unquote

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
           b"<Message>Access Denied</Message></Error>")


class Controls:
    """Faults and latency, changed at run time through ``/_ap/`` and read by every request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: list[dict[str, Any]] = []
        self.latency = 0.0

    def fault_for(self, bucket: str, query: dict[str, list[str]]) -> bool:
        if query.get("list-type") != ["2"]:
            return False
        prefix = query.get("prefix", [""])[0]
        continued = "continuation-token" in query
        with self.lock:
            return any(f["bucket"] == bucket and prefix.startswith(f["prefix"])
                       and (continued or not f.get("after_pages", 0)) for f in self.faults)


def _seed(body: dict[str, Any]) -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    bucket = body["bucket"]
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, "us-east-1")
    value = str(body.get("body", "x")).encode()
    for key in body["keys"]:
        backend.put_object(bucket, key, value)
    return len(body["keys"])


def middleware(app: WsgiApp, controls: Controls) -> WsgiApp:
    """``app`` with the ``/_ap/`` control API, fault injection and latency in front of it."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ap/"):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
            answer: dict[str, Any] = {"ok": True}
            with controls.lock:
                if path == "/_ap/fault":
                    controls.faults.append(body)
                elif path == "/_ap/latency":
                    controls.latency = float(body["seconds"])
            if path == "/_ap/seed":
                answer["seeded"] = _seed(body)
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(answer).encode()]
        if not path.startswith("/moto-api"):
            if controls.latency:
                time.sleep(controls.latency)  # releases the GIL, as a network wait does
            bucket = unquote(path.lstrip("/").split("/", 1)[0])
            if controls.fault_for(bucket, parse_qs(environ.get("QUERY_STRING", ""))):
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [_DENIED]
        return app(environ, start_response)

    return wrapped


def start(cwd: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start this server in a child process on a free loopback port; returns (process, URL)
    once it answers. Used by the tests and by ``benchmarks.s3_bench``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline_tests.s3_server", "--port", str(port)],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the moto S3 server did not start on {url}") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, middleware(app, Controls()), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
