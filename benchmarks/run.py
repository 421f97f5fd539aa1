"""Benchmark the discover_connector job end to end (not part of the test suite).

    .venv/bin/python -m benchmarks.run [--sizes 100000,1000000] [--backends sqlite,postgresql]
        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres] [--out benchmarks/results]

For each backend x size, a fresh catalog (PostgreSQL: a new ``bench_<random>`` database, dropped
at the end; SQLite: a file in a temp dir) and a fresh temporary DAGSTER_HOME; then three phases,
each in its own child process (so peak RSS is per phase) through the real Dagster job
(``run_partition``): first load of a synthetic connector with ``count`` = size, an unchanged
re-scan, and a re-scan with 1% changed. Prints a table and the goals, writes
``<out>/bench-<UTC timestamp>.json``. Run it alone on the machine: the timings are wall clock.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    code_state,
    dagster_home,
    fresh_catalog,
    machine,
    run_child,
    run_here,
)

CONNECTOR = "bench_synthetic"
PHASES: dict[str, dict[str, Any]] = {
    "first_load": {},
    "unchanged": {},
    "changed_1pct": {"change_share": 0.01, "round": 2},
}
#: (label, backend or None for any, size, phase or None for the max over phases, metric, limit)
GOALS: list[tuple[str, str | None, int, str | None, str, float]] = [
    ("100K first load on PostgreSQL <= 8 s wall", "postgresql", 100_000, "first_load", "wall_s", 8),
    ("1M first load <= 60 s wall", None, 1_000_000, "first_load", "wall_s", 60),
    ("1M unchanged re-scan <= 30 s wall", None, 1_000_000, "unchanged", "wall_s", 30),
    ("peak RSS at 1M <= 600 MB (process ru_maxrss)", None, 1_000_000, None, "ru_maxrss_mb", 600),
]


def child(phase: str, url: str, size: int, home: str) -> None:
    """One phase in this (fresh) process; prints one JSON line."""
    run_here(url, home, CONNECTOR, "synthetic", {"count": size, **PHASES[phase]})


def bench(backend: str, size: int, pg_url: str) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ap_bench_") as tmp_name:
        tmp = Path(tmp_name)
        home = dagster_home(tmp)
        url, cleanup = fresh_catalog(backend, pg_url, tmp)
        try:
            for phase in PHASES:
                data, took, failure = run_child(
                    ["-m", "benchmarks.run", "--phase", phase, "--url", url,
                     "--size", str(size), "--dagster-home", str(home)])
                if data is None:
                    errors.append(f"{backend} {size:,} {phase}: {failure}")
                    break  # the later phases depend on this one
                rows.append({"backend": backend, "size": size, "phase": phase,
                             "process_s": round(took, 3), **data})
                print(_line(rows[-1]), flush=True)
        finally:
            cleanup()
    return rows, errors


HEADER = (f"{'backend':<10} {'size':>9} {'phase':<12} {'wall s':>7} {'proc s':>7} {'op s':>7} "
          f"{'disc s':>7} {'dedup s':>7} {'load s':>7} {'assets/s':>9} {'new':>9} {'changed':>8} "
          f"{'unchanged':>9} {'rss op':>7} {'rss proc':>8}")


def _line(row: dict[str, Any]) -> str:
    r = row["result"]
    return (f"{row['backend']:<10} {row['size']:>9,} {row['phase']:<12} {row['wall_s']:>7.2f} "
            f"{row['process_s']:>7.2f} {r['total_seconds']:>7.2f} {r['discover_seconds']:>7.2f} "
            f"{r['dedup_seconds']:>7.2f} {r['load_seconds']:>7.2f} "
            f"{row['size'] / row['wall_s']:>9,.0f} {r['new']:>9,} {r['changed']:>8,} "
            f"{r['unchanged']:>9,} {r['peak_rss_mb']:>7.0f} {row['ru_maxrss_mb']:>8.0f}")


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for label, backend, size, phase, metric, limit in GOALS:
        found = sorted({r["backend"] for r in rows if backend in (None, r["backend"])})
        for b in found or [backend or "any"]:
            hits = [r[metric] for r in rows if r["backend"] == b and r["size"] == size
                    and phase in (None, r["phase"])]
            value = max(hits) if hits else None
            out.append({"goal": label, "backend": b, "value": value, "limit": limit,
                        "met": None if value is None else value <= limit})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--out", default="benchmarks/results")
    p.add_argument("--phase", choices=list(PHASES), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dagster-home", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.phase:
        child(args.phase, args.url, args.size, args.dagster_home)
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.run", *sys.argv[1:]])
    info, code = machine(), code_state()
    print(f"machine: {info}\ncode: {code}\nreproduce (from {ROOT}): {command}\n\n{HEADER}",
          flush=True)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for backend in backends:
        for size in sizes:
            try:
                got, errs = bench(backend, size, args.pg_url)
            except Exception as exc:  # e.g. the server is unreachable: report, go on
                got, errs = [], [f"{backend} {size:,}: {type(exc).__name__}: {exc}"]
            rows += got
            errors += errs

    if code_state() != code:
        errors.append(f"the code changed while benchmarking ({code} -> {code_state()}): "
                      "the phases may have run different code; run again")
    print("\ngoals:")
    checked = goals(rows)
    for g in checked:
        state = "not measured" if g["met"] is None else ("MET" if g["met"] else "NOT MET")
        value = "-" if g["value"] is None else f"{g['value']:.1f}"
        print(f"  [{state}] {g['goal']} ({g['backend']}): {value} (limit {g['limit']})")
    for err in errors:
        print(f"\nERROR {err}", file=sys.stderr)

    out = ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps({"command": command, "code": code, "machine": info, "results": rows,
                                "goals": checked, "errors": errors}, indent=2))
    print(f"\nmachine: nproc {info['nproc']}, {info['memory_gb']} GB, Python {info['python']}"
          f", code {code}"
          f"\nreproduce: {command}\nresults: {path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
