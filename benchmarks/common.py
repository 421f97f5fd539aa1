"""What the benchmark commands share: fresh databases, a throwaway DAGSTER_HOME, and one run of
the job in a fresh child process (so peak RSS is that run's own)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def fresh_pg_database(admin_url: str, prefix: str = "bench") -> tuple[str, Callable[[], None]]:
    """Create ``<prefix>_<random>`` next to ``admin_url``; returns (its URL, a drop callable)."""
    from sqlalchemy import create_engine

    from asset_pipeline.catalog.db import resolve_url

    admin_target = resolve_url(admin_url)
    admin = create_engine(admin_target, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return admin_target.set(database=name).render_as_string(hide_password=False), drop


def fresh_catalog(backend: str, pg_url: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    """(catalog URL, cleanup) for an empty catalog: a new PostgreSQL database or a SQLite file."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'catalog.db'}", lambda: None
    return fresh_pg_database(pg_url)


def dagster_home(tmp: Path) -> Path:
    """A throwaway DAGSTER_HOME under ``tmp``."""
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def run_here(catalog_url: str, home: str, connector: str, kind: str,
             config: dict[str, Any]) -> None:
    """Register ``connector`` and run the job once in this process; print one JSON line with
    the wall time of the Dagster run, its LoadResult and this process's peak RSS."""
    import os

    os.environ["ASSET_PIPELINE_DATABASE_URL"] = catalog_url
    os.environ["DAGSTER_HOME"] = home
    from dagster import DagsterInstance

    from asset_pipeline.catalog.db import make_engine, migrate, resolve_url
    from asset_pipeline.cli import register, run_partition

    engine = make_engine(resolve_url(catalog_url))
    migrate(engine)
    instance = DagsterInstance.get()
    register(engine, instance, connector, kind, config, replace=True)
    engine.dispose()
    started = time.perf_counter()
    result = run_partition(instance, connector)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": round(wall, 3), "result": asdict(result),
                      "ru_maxrss_mb": round(peak, 1)}))


def run_child(args: list[str]) -> tuple[dict[str, Any] | None, float, str]:
    """Run ``python <args>`` (a benchmark's child mode) in a fresh process.

    Returns:
        (its JSON line, or None if it failed; seconds the process took; its stderr and stdout
        tail for a failure report)
    """
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    took = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return None, took, f"exit {proc.returncode}\n{proc.stderr[-6000:]}{proc.stdout[-2000:]}"
    return json.loads(lines[-1]), took, ""


def phase_line(phase: str, data: dict[str, Any], process_s: float) -> str:
    """One readable line for a phase's result."""
    r = data["result"]
    return (f"{phase}: {r['discovered']:,} discovered, {r['new']:,} new, {r['changed']:,} "
            f"changed, {r['unchanged']:,} unchanged in {data['wall_s']:.2f} s wall (job "
            f"{r['total_seconds']:.2f} s: discover {r['discover_seconds']:.2f}, dedup "
            f"{r['dedup_seconds']:.2f}, load {r['load_seconds']:.2f}; process {process_s:.2f} s;"
            f" peak RSS {data['ru_maxrss_mb']:.0f} MB)")


def machine() -> dict[str, Any]:
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal:"))
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform()}


def code_state() -> str:
    """HEAD plus a hash of uncommitted changes to the package: the code the phases imported."""
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = git("diff", "HEAD", "--", "asset_pipeline") + git(
        "ls-files", "--others", "--exclude-standard", "asset_pipeline")
    return git("rev-parse", "--short", "HEAD").strip() + (
        f"+dirty:{hashlib.sha1(dirty.encode()).hexdigest()[:8]}" if dirty else "")
