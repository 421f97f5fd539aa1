"""The Dagster daemon, as `dagster dev` runs it: sensors ask for runs, the queue runs them, and
two runs of one connector never write at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from asset_pipeline.catalog.db import make_engine, resolve_url
from asset_pipeline.catalog.schema import connector_leases
from asset_pipeline.cli import main
from sqlalchemy import func, select

from .conftest import Pipeline

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture
def home(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(PROJECT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("ASSET_PIPELINE_DATABASE_URL", pg_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_daemon_runs_the_first_run_of_a_new_connector(home: Path, pg_url: str) -> None:
    assert main(["connector", "add", "syn", "--kind", "synthetic",
                 "--config", '{"count": 5000}']) == 0
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT / "workspace.yaml")],
        cwd=PROJECT, env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        with DagsterInstance.get() as instance:
            def finished():  # type: ignore[no-untyped-def]
                runs = instance.get_runs(RunsFilter(tags={"dagster/partition": "syn"}))
                done = [r for r in runs if r.is_finished]
                return done[0] if done else None

            run = _wait_for(finished, 150, "the registry sensor's first run to finish")
            assert run.status == DagsterRunStatus.SUCCESS, instance.all_logs(run.run_id)[-5:]
            assert run.tags.get("asset_pipeline/trigger") == "new connector"
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    engine = make_engine(resolve_url(pg_url))
    pipeline = Pipeline(engine, pg_url, DagsterInstance.get())
    assert len(pipeline.catalog("syn")) == 5000


def test_two_concurrent_runs_of_one_connector_one_writes(home: Path, pg_url: str) -> None:
    assert main(["connector", "add", "syn", "--kind", "synthetic",
                 "--config", '{"count": 300000}']) == 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    command = [str(BIN / "asset-pipeline"), "run", "syn"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    engine = make_engine(resolve_url(pg_url))

    def leased() -> bool:
        with engine.connect() as conn:
            return bool(conn.scalar(select(func.count()).select_from(connector_leases)))

    _wait_for(leased, 60, "the first run to take the writer lease")
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert second.returncode == 2
    assert "is being written by run" in second.stderr
    assert "300,000 new" in out
    pipeline = Pipeline(engine, pg_url, DagsterInstance.get())
    assert len(pipeline.catalog("syn")) == 300_000
    assert len(pipeline.history("syn")) == 300_000
    assert not leased()  # released at the end


def test_eight_connectors_loading_at_once_share_one_database(home: Path, pg_url: str) -> None:
    for i in range(8):
        assert main(["connector", "add", f"c{i}", "--kind", "synthetic",
                     "--config", f'{{"count": 20000, "seed": {i}}}']) == 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    procs = [subprocess.Popen([str(BIN / "asset-pipeline"), "run", f"c{i}"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(8)]
    outcomes = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outcomes):
        assert proc.returncode == 0, err[-2000:]
        assert "20,000 new" in out
    engine = make_engine(resolve_url(pg_url))
    pipeline = Pipeline(engine, pg_url, DagsterInstance.get())
    for i in range(8):
        rows = pipeline.catalog(f"c{i}")
        assert len(rows) == 20_000 and all(r[0].startswith(f"db_{i}_") for r in rows)
        assert len(pipeline.history(f"c{i}")) == 20_000


def test_queued_runs_of_one_connector_run_one_after_the_other(home: Path, pg_url: str) -> None:
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    assert main(["connector", "add", "syn", "--kind", "synthetic",
                 "--config", '{"count": 50000}']) == 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    for _ in range(2):
        launched = subprocess.run(
            [str(BIN / "dagster"), "job", "launch", "-m", "asset_pipeline.definitions", "-j",
             "discover_connector", "--tags", '{"dagster/partition": "syn"}'],
            env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120,
        )
        assert launched.returncode == 0, launched.stderr[-2000:]
    with DagsterInstance.get() as instance:
        queued = instance.get_runs(RunsFilter(tags={"dagster/partition": "syn"}))
        assert [r.status for r in queued] == [DagsterRunStatus.QUEUED] * 2
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT / "workspace.yaml")],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with DagsterInstance.get() as instance:
            ids = [r.run_id for r in queued]

            def both_done():  # type: ignore[no-untyped-def]
                runs = [instance.get_run_by_id(i) for i in ids]
                return runs if all(r is not None and r.is_finished for r in runs) else None

            runs = _wait_for(both_done, 240, "both queued runs to finish")
            assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * 2
            records = [instance.get_run_record_by_id(i) for i in ids]
            spans = sorted((r.start_time, r.end_time) for r in records)  # type: ignore[union-attr]
            assert spans[0][1] <= spans[1][0], f"runs overlapped: {spans}"
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
