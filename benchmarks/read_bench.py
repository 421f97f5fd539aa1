"""Benchmark the read path on a large PostgreSQL catalog (not part of the test suite).

    flock /tmp/asset_pipeline_bench.lock .venv/bin/python -m benchmarks.read_bench \\
        [--size 1000000] [--requests 200] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Fills a fresh PostgreSQL catalog (a new ``bench_<random>`` database, dropped at the end) through
the real Dagster job, in a child process: a synthetic connector of ``--size`` assets, then a
second run of it that changes 1% and removes 1% (so there is history and a ``removed`` status),
and a second connector of 20,000 assets (so a connector filter selects a small part). Then
``VACUUM ANALYZE``, as autovacuum would soon after such a load.

Measured, each after 5 unmeasured calls, as p50 / p95 of ``--requests`` calls:

- ``list_assets`` (50 per page) in this process at depth 0, 50% and 99% of each filter's
  matches, for several filters; the cursor for a depth is made from the row at that depth;
- the same pages over HTTP: ``asset-pipeline serve`` (uvicorn) on 127.0.0.1, cache off, one
  keep-alive connection; and the cache-hit latency with the cache on;
- the OFFSET query for the same pages, and ``count(*)`` against the estimate (fewer calls:
  they are slow by design);
- ``get_asset`` (detail with history) for random ids, in process and over HTTP.

Prints a table and the goals, writes ``benchmarks/results/read-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, code_state, dagster_home, fresh_catalog, machine

BIG, SMALL = "bench_synthetic", "bench_small"
SMALL_SIZE = 20_000
DEPTHS = (0.0, 0.5, 0.99)
WARMUP = 5


def fill(url: str, size: int, dagster_home: str) -> None:
    """Child process: load the catalog through the real job (see the module docstring)."""
    os.environ["DAGSTER_HOME"] = dagster_home
    from dagster import DagsterInstance

    from asset_pipeline.catalog.db import make_engine, migrate, resolve_url
    from asset_pipeline.cli import register, run_partition

    engine = make_engine(resolve_url(url))
    migrate(engine)
    instance = DagsterInstance.get()
    run_config = {"resources": {"catalog": {"config": {"url": url}}}}
    for name, config in ((BIG, {"count": size}),
                         (BIG, {"count": size, "change_share": 0.01, "drop_share": 0.01,
                                "round": 2}),
                         (SMALL, {"count": SMALL_SIZE, "seed": 7})):
        register(engine, instance, name, "synthetic", config, replace=True)
        started = time.perf_counter()
        result = run_partition(instance, name, run_config)
        print(f"  {name}: {result.new:,} new, {result.changed:,} changed, {result.removed:,} "
              f"removed in {time.perf_counter() - started:.1f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE assets")
        conn.exec_driver_sql("VACUUM ANALYZE data_discovery")
    engine.dispose()


def timed(call: Callable[[], Any], n: int, warmup: int = WARMUP) -> dict[str, float]:
    """p50 / p95 / max of ``n`` calls in milliseconds, after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"n": n, "p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[min(n - 1, int(0.95 * n))], 3),
            "max_ms": round(samples[-1], 3)}


class Http:
    """One keep-alive connection to the API server."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> Any:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
        return json.loads(body)


def start_server(url: str, ttl: int) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ASSET_PIPELINE_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline.cli", "serve", "--port", str(port),
         "--cache-ttl", str(ttl)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            Http(port).get("/health")
            return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {server.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.2)


def measure(url: str, requests: int) -> dict[str, Any]:
    from urllib.parse import urlencode

    from sqlalchemy import func, select, text

    from asset_pipeline.catalog.cursor import encode_cursor, scope_of, to_micros
    from asset_pipeline.catalog.db import make_engine, resolve_url
    from asset_pipeline.catalog.filters import AssetFilters, conditions
    from asset_pipeline.catalog.queries import MINIMAL_COLUMNS, get_asset, list_assets
    from asset_pipeline.catalog.schema import assets

    engine = make_engine(resolve_url(url))
    a = assets.c
    scenarios = {
        "no filter": AssetFilters(),
        f"connector={BIG}": AssetFilters(connector=BIG),
        f"connector={SMALL}": AssetFilters(connector=SMALL),
        "type=table": AssetFilters(type="table"),
        "status=removed": AssetFilters(status="removed"),
        "catalog": AssetFilters(catalog="db_0_0050"),
        "connector+name_prefix": AssetFilters(connector=BIG, name_prefix="table_0001"),
    }
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:  # ids have gaps (upserts use up sequence values): sample
        ids = list(conn.scalars(text("SELECT id FROM assets TABLESAMPLE SYSTEM (1) LIMIT 5000")))
    pages: list[tuple[str, float, AssetFilters, str | None, int]] = []
    print("positions:", flush=True)
    for label, f in scenarios.items():
        with engine.connect() as conn:
            where = conditions(f, "postgresql")
            total = conn.scalar(select(func.count()).select_from(assets).where(*where)) or 0
            for depth in DEPTHS:
                offset = int(total * depth)
                cursor = None
                if offset:  # the cursor of the page that starts at this depth
                    t, i = conn.execute(
                        select(a.discovered_at, a.id).where(*where)
                        .order_by(a.discovered_at.desc(), a.id.desc()).offset(offset - 1).limit(1)
                    ).one()
                    cursor = encode_cursor([to_micros(t), i], scope_of("assets",
                                                                      f.fingerprint_params()))
                pages.append((label, depth, f, cursor, offset))
        print(f"  {label}: {total:,} matches", flush=True)

    print("in process:", flush=True)
    for label, depth, f, cursor, offset in pages:
        stats = timed(lambda f=f, c=cursor: list_assets(engine, f, limit=50, cursor=c),  # type: ignore[misc]
                      requests)
        rows.append({"what": "keyset page", "where": "in-process", "filter": label,
                     "depth": depth, "offset": offset, **stats})
        print(_line(rows[-1]), flush=True)
    for depth in DEPTHS:
        f = AssetFilters()
        label, _, _, cursor, offset = next(p for p in pages if p[0] == "no filter"
                                           and p[1] == depth)
        stats = timed(lambda f=f, c=cursor: list_assets(engine, f, limit=50, cursor=c,  # type: ignore[misc]
                                                        fields="full"), requests)
        rows.append({"what": "keyset page, fields=full", "where": "in-process",
                     "filter": label, "depth": depth, "offset": offset, **stats})
        print(_line(rows[-1]), flush=True)
    for label in ("no filter", f"connector={BIG}"):
        where = conditions(scenarios[label], "postgresql")
        for depth in DEPTHS:
            offset = next(p[4] for p in pages if p[0] == label and p[1] == depth)
            query = (select(*MINIMAL_COLUMNS).where(*where)
                     .order_by(a.discovered_at.desc(), a.id.desc()).offset(offset).limit(51))

            def run_offset(q: Any = query) -> None:
                with engine.connect() as conn:
                    conn.execute(q).all()

            n = requests if depth == 0 else 10
            rows.append({"what": "OFFSET page", "where": "in-process", "filter": label,
                         "depth": depth, "offset": offset, **timed(run_offset, n, 2)})
            print(_line(rows[-1]), flush=True)
        for mode, n in (("exact", 10), ("estimate", requests)):
            stats = timed(lambda m=mode, f=scenarios[label]: list_assets(  # type: ignore[misc]
                engine, f, limit=1, total=m), n, 2)
            rows.append({"what": f"page of 1 + total={mode}", "where": "in-process",
                         "filter": label, "depth": 0.0, "offset": 0, **stats})
            print(_line(rows[-1]), flush=True)
    rng = random.Random(1)
    stats = timed(lambda: get_asset(engine, rng.choice(ids)), requests)
    rows.append({"what": "asset detail", "where": "in-process", "filter": "-", "depth": None,
                 "offset": None, **stats})
    print(_line(rows[-1]), flush=True)
    with engine.connect() as conn:
        sizes = {r[0]: r[1] for r in conn.execute(text(
            "select indexrelname, pg_relation_size(indexrelid) from pg_stat_user_indexes "
            "where relname = 'assets'"))}
    engine.dispose()

    print("over HTTP (uvicorn, cache off):", flush=True)
    server, port = start_server(url, 0)
    try:
        client = Http(port)
        for label, depth, f, cursor, offset in pages:
            params: dict[str, Any] = {**f.fingerprint_params(), "limit": 50}
            if cursor:
                params["cursor"] = cursor
            path = "/assets?" + urlencode(params)
            rows.append({"what": "keyset page", "where": "HTTP", "filter": label,
                         "depth": depth, "offset": offset,
                         **timed(lambda p=path: client.get(p), requests)})  # type: ignore[misc]
            print(_line(rows[-1]), flush=True)
        rows.append({"what": "asset detail", "where": "HTTP", "filter": "-", "depth": None,
                     "offset": None, **timed(lambda: client.get(
                         f"/assets/{rng.choice(ids)}"), requests)})
        print(_line(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(10)
    print("over HTTP (cache on, TTL 60 s): repeated page", flush=True)
    server, port = start_server(url, 60)
    try:
        client = Http(port)
        _, depth, f, cursor, offset = next(p for p in pages if p[0] == "no filter"
                                           and p[1] == 0.5)
        path = "/assets?" + urlencode({"limit": 50, "cursor": cursor})
        rows.append({"what": "cached page (hit)", "where": "HTTP", "filter": "no filter",
                     "depth": depth, "offset": offset,
                     **timed(lambda: client.get(path), requests)})
        print(_line(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(10)
    return {"rows": rows, "index_bytes": sizes}


HEADER = (f"{'what':<26} {'where':<10} {'filter':<28} {'depth':>6} {'offset':>9} {'n':>4} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")


def _line(r: dict[str, Any]) -> str:
    depth = "-" if r["depth"] is None else f"{r['depth']:.0%}"
    offset = "-" if r["offset"] is None else f"{r['offset']:,}"
    return (f"{r['what']:<26} {r['where']:<10} {r['filter']:<28} {depth:>6} {offset:>9} "
            f"{r['n']:>4} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['max_ms']:>8.2f}")


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def worst(what: str, where: str) -> float | None:
        hits = [r["p95_ms"] for r in rows if r["what"] == what and r["where"] == where]
        return max(hits) if hits else None

    out = []
    for label, what, where, limit in (
        ("keyset page p95 <= 5 ms in-process, any depth and filter", "keyset page",
         "in-process", 5.0),
        ("keyset page p95 <= 25 ms over HTTP", "keyset page", "HTTP", 25.0),
        ("asset detail p95 <= 5 ms in-process", "asset detail", "in-process", 5.0),
    ):
        value = worst(what, where)
        out.append({"goal": label, "value": value, "limit": limit,
                    "met": None if value is None else value <= limit})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--url", help="measure this already filled catalog (kept) instead of a new one")
    p.add_argument("--out", default="benchmarks/results")
    p.add_argument("--fill", help=argparse.SUPPRESS)
    p.add_argument("--dagster-home", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.fill:
        fill(args.fill, args.size, args.dagster_home)
        return 0

    command = shlex.join([".venv/bin/python", "-m", "benchmarks.read_bench", *sys.argv[1:]])
    info, code = machine(), code_state()
    print(f"machine: {info}\ncode: {code}\nreproduce (from {ROOT}): {command}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ap_read_bench_") as tmp_name:
        tmp = Path(tmp_name)
        if args.url:
            url, cleanup = args.url, (lambda: None)
        else:
            url, cleanup = fresh_catalog("postgresql", args.pg_url, tmp)
        try:
            fill_s = None
            if not args.url:
                home = dagster_home(tmp)
                print(f"filling {args.size:,} assets through the job ...", flush=True)
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "benchmarks.read_bench", "--fill", url,
                                "--size", str(args.size), "--dagster-home", str(home)],
                               cwd=ROOT, check=True)
                fill_s = round(time.perf_counter() - started, 1)
            print(HEADER, flush=True)
            result = measure(url, args.requests)
        finally:
            cleanup()
    checked = goals(result["rows"])
    print("\ngoals:")
    for g in checked:
        state = "not measured" if g["met"] is None else ("MET" if g["met"] else "NOT MET")
        print(f"  [{state}] {g['goal']}: {g['value']} ms (limit {g['limit']})")
    out = ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"read-{stamp}.json"
    path.write_text(json.dumps({"command": command, "code": code, "machine": info,
                                "size": args.size, "fill_seconds": fill_s, **result,
                                "goals": checked}, indent=2))
    print(f"\nreproduce: {command}\nresults: {path}")
    return 0 if all(g["met"] is not False for g in checked) else 1


if __name__ == "__main__":
    sys.exit(main())
