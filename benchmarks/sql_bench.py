"""Benchmark the sql connector end to end on a big PostgreSQL schema (not part of the test suite).

    flock /tmp/asset_pipeline_bench.lock .venv/bin/python -m benchmarks.sql_bench \
        [--tables 10000] [--columns 10] [--backend postgresql|sqlite]
        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a source database ``bench_src_<random>`` with ``--tables`` tables of ``--columns`` columns
in one schema (DDL in DO blocks of 1,000 tables: one transaction per block keeps the lock table
small), a fresh catalog (``--backend``) and a fresh temporary DAGSTER_HOME, registers a ``sql``
connector over the source, and runs the real Dagster job twice, each run in its own child process:
the first load, then an unchanged re-scan. Prints assets discovered and wall time per run, then
drops both databases. The goal: 10,000 tables x 10 columns (110,000+ assets) first load <= 30 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    code_state,
    dagster_home,
    fresh_catalog,
    fresh_pg_database,
    machine,
    phase_line,
    run_child,
    run_here,
)

CONNECTOR = "bench_sql"
PHASES = ("first_load", "unchanged")
GOAL_SECONDS = 30.0
BLOCK = 1_000  # tables per DO block / transaction


def create_source(admin_url: str, tables: int, columns: int) -> tuple[str, Any]:
    """A new source database holding the tables; returns (URL without password, drop)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    raw_url, drop = fresh_pg_database(admin_url, "bench_src")
    url = make_url(raw_url)
    types = ("bigint", "text", "timestamptz", "numeric(12,2)", "boolean")
    cols = ", ".join(f"c{k:02d} {types[k % len(types)]}" for k in range(columns))
    source = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with source.connect() as conn:
            conn.exec_driver_sql("CREATE SCHEMA bench")
            for start in range(0, tables, BLOCK):
                stop = min(start + BLOCK, tables) - 1
                # '%%' is a literal % for the driver's parameter style.
                conn.exec_driver_sql(
                    f"DO $$ BEGIN FOR i IN {start}..{stop} LOOP "
                    f"EXECUTE format('CREATE TABLE bench.t_%%s ({cols})', lpad(i::text, 6, '0'));"
                    " END LOOP; END $$")
    except Exception:
        source.dispose()
        drop()
        raise
    source.dispose()
    return url.set(drivername="postgresql").render_as_string(hide_password=True), drop


def child(catalog_url: str, source_url: str, home: str) -> None:
    """One run in this (fresh) process; prints one JSON line."""
    run_here(catalog_url, home, CONNECTOR, "sql", {"url": source_url})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", type=int, default=10_000)
    p.add_argument("--columns", type=int, default=10)
    p.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql",
                   help="the catalog database")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--child", nargs=3, metavar=("CATALOG", "SOURCE", "HOME"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    print(f"machine: {machine()}\ncode: {code_state()}", flush=True)
    started = time.perf_counter()
    source_url, drop_source = create_source(args.pg_url, args.tables, args.columns)
    print(f"source: {args.tables:,} tables x {args.columns} columns created in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="ap_sql_bench_") as tmp_name:
            tmp = Path(tmp_name)
            home = dagster_home(tmp)
            catalog_url, drop_catalog = fresh_catalog(args.backend, args.pg_url, tmp)
            try:
                for phase in PHASES:
                    data, took, failure = run_child(
                        ["-m", "benchmarks.sql_bench", "--child", catalog_url, source_url,
                         str(home)])
                    if data is None:
                        print(f"{phase}: {failure}", file=sys.stderr)
                        failed = True
                        break
                    print(phase_line(phase, data, took), flush=True)
                    if phase == "first_load":
                        met = data["wall_s"] <= GOAL_SECONDS
                        failed |= not met
                        print(f"  [{'MET' if met else 'NOT MET'}] first load <= "
                              f"{GOAL_SECONDS:.0f} s wall ({args.backend} catalog)", flush=True)
            finally:
                drop_catalog()
    finally:
        drop_source()
    print(f"reproduce: flock /tmp/asset_pipeline_bench.lock .venv/bin/python -m "
          f"benchmarks.sql_bench {' '.join(sys.argv[1:])}".rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
