"""Benchmark the s3 connector end to end against a local S3 server (not part of the test suite).

    flock /tmp/asset_pipeline_bench.lock .venv/bin/python -m benchmarks.s3_bench \
        [--objects 100000] [--prefixes 100] [--latency 0.1 --latency-objects 20000
        --latency-prefixes 20]
        [--backend postgresql|sqlite] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Starts the tests' moto S3 server (``asset_pipeline_tests.s3_server``) on a free port and puts
``--objects`` small objects across ``--prefixes`` top-level prefixes into one bucket (through
moto's backend in the server process: moto takes ~3 ms per PUT over HTTP; every listing below
goes over HTTP). Then:

1. listing only (no catalog): one serial ListObjectsV2 loop (boto3's paginator), and the
   connector's parallel listing with 1 and with 8 workers;
2. the real Dagster job on a fresh catalog (``--backend``) and a fresh DAGSTER_HOME, each run in
   its own child process: first load, then an unchanged re-scan;
3. with ``--latency`` > 0: the same listing comparison on a bucket of ``--latency-objects``
   objects with that many seconds added to every request, as a remote store's round trip
   (~0.1 s per 1,000-key page against AWS: ~10 s per 100,000 keys serially). On localhost moto
   answers in milliseconds of *CPU*, which one Python process cannot spread over cores, so step 1
   measures moto as much as the connector.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from asset_pipeline_tests import s3_server as s3_server_process
from benchmarks.common import (
    ROOT,
    code_state,
    dagster_home,
    fresh_catalog,
    machine,
    phase_line,
    run_child,
    run_here,
)

CONNECTOR = "bench_s3"
KEY_ENV, SECRET_ENV = "AP_BENCH_S3_KEY", "AP_BENCH_S3_SECRET"
PHASES = ("first_load", "unchanged")
SEED_CHUNK = 20_000


def _post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as answer:
        answer.read()


def seed(url: str, bucket: str, objects: int, prefixes: int) -> float:
    started = time.perf_counter()
    keys = [f"p{i % prefixes:04d}/part-{i:07d}.csv" for i in range(objects)]
    for at in range(0, len(keys), SEED_CHUNK):
        _post(f"{url}/_ap/seed", {"bucket": bucket, "keys": keys[at:at + SEED_CHUNK]})
    return time.perf_counter() - started


def config(url: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {"bucket": bucket, "endpoint_url": url, "access_key_env": KEY_ENV,
            "secret_key_env": SECRET_ENV, **extra}


def listing(url: str, bucket: str) -> list[tuple[str, int, float]]:
    """(what, keys or records, seconds) for a serial loop and the connector with 1 and 8 workers."""
    import boto3

    from asset_pipeline.connectors.base import ConnectorReport
    from asset_pipeline.connectors.registry import build_connector

    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    out = []
    started = time.perf_counter()
    keys = sum(len(page.get("Contents", ())) for page in
               client.get_paginator("list_objects_v2").paginate(Bucket=bucket))
    out.append(("one serial ListObjectsV2 loop", keys, time.perf_counter() - started))
    for workers in (1, 8):
        started = time.perf_counter()
        report = ConnectorReport()
        count = sum(1 for _ in build_connector("b", "s3", config(url, bucket, workers=workers))
                    .discover(report))
        assert report.complete, report.failure_samples
        out.append((f"connector, {workers} worker{'s' if workers > 1 else ''}", count,
                    time.perf_counter() - started))
    return out


def child(catalog_url: str, source: str, home: str) -> None:
    """One run in this (fresh) process; prints one JSON line."""
    run_here(catalog_url, home, CONNECTOR, "s3", json.loads(source))


def job(url: str, bucket: str, backend: str, pg_url: str) -> bool:
    """Both phases through Dagster on a fresh catalog; False if one failed."""
    with tempfile.TemporaryDirectory(prefix="ap_s3_bench_") as tmp_name:
        tmp = Path(tmp_name)
        home = dagster_home(tmp)
        catalog_url, drop_catalog = fresh_catalog(backend, pg_url, tmp)
        try:
            for phase in PHASES:
                data, took, failure = run_child(
                    ["-m", "benchmarks.s3_bench", "--child", catalog_url,
                     json.dumps(config(url, bucket)), str(home)])
                if data is None:
                    print(f"{phase}: {failure}", file=sys.stderr)
                    return False
                print(f"  {phase_line(phase, data, took)}", flush=True)
        finally:
            drop_catalog()
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objects", type=int, default=100_000)
    p.add_argument("--prefixes", type=int, default=100)
    p.add_argument("--latency", type=float, default=0.1,
                   help="seconds added per request in step 3 (0: skip it)")
    p.add_argument("--latency-objects", type=int, default=20_000)
    p.add_argument("--latency-prefixes", type=int, default=20,
                   help="prefixes in step 3: 1,000 keys each by default, as in a real layout; "
                   "moto's CPU per request grows with the bucket, real S3's does not")
    p.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql",
                   help="the catalog database")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--child", nargs=3, metavar=("CATALOG", "SOURCE", "HOME"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault(KEY_ENV, "bench")
    os.environ.setdefault(SECRET_ENV, "bench")
    if args.child:
        child(*args.child)
        return 0

    print(f"machine: {machine()}\ncode: {code_state()}", flush=True)
    proc, url = s3_server_process.start(cwd=str(ROOT))
    ok = True
    try:
        took = seed(url, "bench", args.objects, args.prefixes)
        print(f"bucket 'bench': {args.objects:,} objects in {args.prefixes} prefixes, seeded in "
              f"{took:.1f} s", flush=True)
        print("1. listing only (local moto, no added latency):", flush=True)
        for what, count, seconds in listing(url, "bench"):
            print(f"  {what}: {count:,} in {seconds:.2f} s", flush=True)
        print(f"2. the discover_connector job ({args.backend} catalog):", flush=True)
        ok = job(url, "bench", args.backend, args.pg_url)
        if args.latency > 0:
            seed(url, "bench-latency", args.latency_objects, args.latency_prefixes)
            _post(f"{url}/_ap/latency", {"seconds": args.latency})
            print(f"3. listing {args.latency_objects:,} objects in {args.latency_prefixes} "
                  f"prefixes, {args.latency * 1000:.0f} ms added per request:", flush=True)
            for what, count, seconds in listing(url, "bench-latency"):
                print(f"  {what}: {count:,} in {seconds:.2f} s", flush=True)
    finally:
        s3_server_process.stop(proc)
    print(f"reproduce: flock /tmp/asset_pipeline_bench.lock .venv/bin/python -m "
          f"benchmarks.s3_bench {' '.join(sys.argv[1:])}".rstrip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
