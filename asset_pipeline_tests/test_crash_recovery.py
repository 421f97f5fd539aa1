"""kill -9 a PostgreSQL run at five points; both ways of recovering converge to one clean run.

Each case starts `asset-pipeline run` in its own process, watches the catalog database until the
run reaches the kill point, kills the process with SIGKILL, then recovers either by running the
partition again or by re-executing the killed run from its failed step, and compares the catalog
with that of a clean run: same rows, no duplicates, none lost, one history event per change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import DagsterInstance, ReexecutionOptions, RunsFilter, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository
from sqlalchemy import Engine, func, select, text

from asset_pipeline.catalog.db import make_engine, resolve_url
from asset_pipeline.catalog.schema import assets, data_discovery
from asset_pipeline.cli import main

from .conftest import Pipeline

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COUNT = int(os.environ.get("ASSET_PIPELINE_CRASH_COUNT", "200000"))
BATCH = 2_000
FIRST = {"count": COUNT}
DROPPED = {"count": COUNT, "drop_share": 0.03, "change_share": 0.01, "round": 2}


def _active(engine: Engine, pattern: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND datname = current_database() AND application_name = 'asset_pipeline' "
            "AND query LIKE :p"), {"p": pattern}))


def _history(engine: Engine, status: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).where(data_discovery.c.status == status)) or 0


def _loaded(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(assets)) or 0


KILL_POINTS: dict[str, tuple[dict[str, object], Callable[[Engine], bool]]] = {
    "discover": (FIRST, lambda e: _active(e, 'COPY "ap_run_%')),
    "dedup": (FIRST, lambda e: _active(e, 'INSERT INTO ap_run_%_diff %')),
    "between_batches": (FIRST, lambda e: 0 < _loaded(e) < COUNT // 2),
    "inside_batch": (FIRST, lambda e: _loaded(e) > 0 and _active(e, "WITH up AS%")),
    "removal": (DROPPED, lambda e: 0 < _history(e, "removed")),
}


@pytest.fixture
def home(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("ASSET_PIPELINE_DATABASE_URL", pg_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _register(config: dict[str, object]) -> None:
    import json

    assert main(["connector", "add", "crash", "--kind", "synthetic", "--replace",
                 "--config", json.dumps(config)]) == 0


def _kill_at(engine: Engine, reached: Callable[[Engine], bool]) -> None:
    command = [str(BIN / "asset-pipeline"), "run", "crash", "--batch-size", str(BATCH),
               "--allow-mass-removal"]
    proc = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(PROJECT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not reached(engine):
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the kill point: {proc.stderr.read()[-300:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the kill point was never reached")
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _reexecute_from_failure() -> None:
    with DagsterInstance.get() as instance:
        killed = instance.get_runs(RunsFilter(tags={"dagster/partition": "crash"}), limit=1)[0]
        instance.report_run_failed(killed)  # what run monitoring does for a dead run worker
        job = ReconstructableRepository.for_module(
            "asset_pipeline.definitions", "defs", working_directory=str(PROJECT)
        ).get_reconstructable_job("discover_connector")
        options = ReexecutionOptions.from_failure(killed.run_id, instance)
        with execute_job(job, instance, reexecution_options=options,
                         tags={"dagster/partition": "crash"}) as result:
            assert result.success


def _snapshot(pipeline: Pipeline) -> tuple[list[tuple[object, ...]], Counter[tuple[str, str]]]:
    return pipeline.catalog("crash"), Counter(pipeline.history("crash"))


@pytest.fixture(scope="module")
def clean() -> dict[str, tuple[list[tuple[object, ...]], Counter[tuple[str, str]]]]:
    """The catalog after clean runs: the first load, then the load with drops and changes."""
    return {}


@pytest.mark.parametrize("recovery", ["rerun_partition", "reexecute_from_failure"])
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_then_recover_equals_a_clean_run(
    point: str, recovery: str, home: Path, pg_url: str, clean: dict  # type: ignore[type-arg]
) -> None:
    engine = make_engine(resolve_url(pg_url))
    pipeline = Pipeline(engine, pg_url, DagsterInstance.get())
    config, reached = KILL_POINTS[point]
    if config is DROPPED:  # the removal case starts from a clean first load
        _register(FIRST)
        assert main(["run", "crash", "--batch-size", str(BATCH)]) == 0
    _register(config)
    _kill_at(engine, reached)

    if recovery == "rerun_partition":
        assert main(["run", "crash", "--batch-size", str(BATCH), "--allow-mass-removal"]) == 0
    else:
        _reexecute_from_failure()

    rows, events = _snapshot(pipeline)
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)) == COUNT  # none lost, none doubled
    assert max(events.values()) == 1  # no doubled history event
    key = "dropped" if config is DROPPED else "first"
    if key not in clean:
        clean[key] = _clean_catalog(pg_url, config)
    assert (rows, events) == clean[key]
    engine.dispose()


def _clean_catalog(pg_url: str, config: dict[str, object]):  # type: ignore[no-untyped-def]
    """The same runs without a crash, in a fresh database."""
    from sqlalchemy import create_engine

    from .conftest import PG_ADMIN_URL

    name = f"ap_clean_{os.getpid()}_{'d' if config is DROPPED else 'f'}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        os.environ["ASSET_PIPELINE_DATABASE_URL"] = url
        if config is DROPPED:
            _register(FIRST)
            assert main(["run", "crash", "--batch-size", str(BATCH)]) == 0
        _register(config)
        assert main(["run", "crash", "--batch-size", str(BATCH), "--allow-mass-removal"]) == 0
        engine = make_engine(resolve_url(url))
        snapshot = _snapshot(Pipeline(engine, url, DagsterInstance.get()))
        engine.dispose()
        return snapshot
    finally:
        os.environ["ASSET_PIPELINE_DATABASE_URL"] = pg_url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
