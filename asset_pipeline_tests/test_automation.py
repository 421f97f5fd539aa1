"""Sensors, the schedule, the writer lease, retries and slow-query reporting."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)
from sqlalchemy import update

from asset_pipeline.automation.schedules import refresh_schedule
from asset_pipeline.automation.sensors import (
    connector_change_sensor,
    connector_freshness_sensor,
    connector_registry_sensor,
)
from asset_pipeline.catalog import leases
from asset_pipeline.catalog.connectors import add_connector
from asset_pipeline.catalog.schema import discovery_runs
from asset_pipeline.connectors.base import SourceError, TransientSourceError
from asset_pipeline.resources import CatalogDatabase

from .conftest import Pipeline, failure_message


def evaluate(sensor, pipeline: Pipeline, cursor: str | None = None):  # type: ignore[no-untyped-def]
    """Evaluate a sensor with the real catalog; returns (result, cursor after the tick)."""
    with build_sensor_context(
        instance=pipeline.instance, cursor=cursor,
        resources={"catalog": CatalogDatabase(url=pipeline.url)},
    ) as context:
        result = sensor(context)
        after = result.cursor if isinstance(result, SensorResult) and result.cursor else context.cursor
        return result, after


def test_registry_sensor_syncs_partitions_and_asks_one_first_run(pipeline: Pipeline) -> None:
    add_connector(pipeline.engine, "alpha", "synthetic", {"count": 100})
    add_connector(pipeline.engine, "beta", "synthetic", {"count": 100})
    add_connector(pipeline.engine, "off", "synthetic", {"count": 100}, enabled=False)
    pipeline.instance.add_dynamic_partitions("connectors", ["deleted", "off"])

    result, _ = evaluate(connector_registry_sensor, pipeline)
    assert isinstance(result, SensorResult)
    add, delete = result.dynamic_partitions_requests
    assert list(add.partition_keys) == ["alpha", "beta"]
    assert list(delete.partition_keys) == ["deleted", "off"]
    assert [r.partition_key for r in result.run_requests] == ["alpha", "beta"]
    assert all(r.run_key and r.run_key.startswith("first:") for r in result.run_requests)

    pipeline.instance.add_dynamic_partitions("connectors", ["alpha", "beta"])
    pipeline.run("alpha")
    again, _ = evaluate(connector_registry_sensor, pipeline)
    assert [r.partition_key for r in again.run_requests] == ["beta"]
    assert again.run_requests[0].run_key == result.run_requests[1].run_key  # asked once


def test_change_sensor_runs_only_connectors_whose_token_moved(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    (tmp_path / "d").mkdir()
    pipeline.add("syn", "synthetic", {"count": 100})
    pipeline.add("same", "synthetic", {"count": 100})
    pipeline.add("fs", "filesystem", {"root": str(tmp_path)})

    first, cursor = evaluate(connector_change_sensor, pipeline)
    assert isinstance(first, SkipReason)  # first sight only records tokens
    assert set(json.loads(cursor)["tokens"]) == {"syn", "same", "fs"}

    pipeline.add("syn", "synthetic", {"count": 100, "round": 2})
    (tmp_path / "d" / "new.csv").write_text("x")
    moved, cursor = evaluate(connector_change_sensor, pipeline, cursor)
    assert isinstance(moved, SensorResult)
    assert sorted(r.partition_key for r in moved.run_requests) == ["fs", "syn"]

    still, _ = evaluate(connector_change_sensor, pipeline, cursor)
    assert isinstance(still, SkipReason)


def test_freshness_sensor_runs_stale_connectors_once_per_interval(pipeline: Pipeline) -> None:
    pipeline.add("stale", "synthetic", {"count": 100}, refresh_interval_seconds=3600)
    pipeline.add("fresh", "synthetic", {"count": 100}, refresh_interval_seconds=3600)
    pipeline.add("never", "synthetic", {"count": 100}, refresh_interval_seconds=3600)
    pipeline.run("stale")
    pipeline.run("fresh")
    assert isinstance(evaluate(connector_freshness_sensor, pipeline)[0], SkipReason)

    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2, minutes=1)
    with pipeline.engine.begin() as conn:
        conn.execute(update(discovery_runs).where(discovery_runs.c.connector == "stale")
                     .values(finished_at=two_hours_ago))
    result, _ = evaluate(connector_freshness_sensor, pipeline)
    assert isinstance(result, SensorResult)
    assert [r.partition_key for r in result.run_requests] == ["stale"]
    assert result.run_requests[0].run_key.endswith(":2")


def test_schedule_requests_every_enabled_connector(pipeline: Pipeline) -> None:
    pipeline.add("a", "synthetic", {"count": 10})
    pipeline.add("b", "synthetic", {"count": 10})
    pipeline.add("off", "synthetic", {"count": 10}, enabled=False)
    schedule = refresh_schedule("30 3 * * *")
    when = datetime(2026, 12, 5, 3, 30, tzinfo=timezone.utc)
    with build_schedule_context(
        instance=pipeline.instance, scheduled_execution_time=when,
        resources={"catalog": CatalogDatabase(url=pipeline.url)},
    ) as context:
        requests = list(schedule(context))
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("a", f"{when.isoformat()}:a"), ("b", f"{when.isoformat()}:b")
    ]
    assert schedule.cron_schedule == "30 3 * * *"


def test_lease_one_owner_at_a_time(engine) -> None:  # type: ignore[no-untyped-def]
    add_connector(engine, "c", "synthetic", {"count": 1})
    leases.acquire(engine, "c", "run-1")
    leases.acquire(engine, "c", "run-1")  # the holder renews
    with pytest.raises(leases.LeaseHeld, match="being written by run run-1"):
        leases.acquire(engine, "c", "run-2")
    leases.release(engine, "c", "run-2")  # not the holder: nothing happens
    with pytest.raises(leases.LeaseHeld):
        leases.acquire(engine, "c", "run-2")
    leases.release(engine, "c", "run-1")
    leases.acquire(engine, "c", "run-2", ttl=timedelta(seconds=-1))  # taken, already expired
    leases.acquire(engine, "c", "run-3")  # an expired lease is taken over


def test_a_run_refuses_to_write_while_another_holds_the_connector(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 500})
    leases.acquire(pipeline.engine, "syn", "someone-else")
    result = pipeline.run("syn", expect_success=False)
    assert "being written by run someone-else" in failure_message(result)
    assert pipeline.catalog("syn") == []
    leases.release(pipeline.engine, "syn", "someone-else")
    pipeline.run("syn")
    assert len(pipeline.catalog("syn")) == 500


def test_transient_source_errors_retry_and_permanent_ones_do_not(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asset_pipeline.connectors import synthetic

    original = synthetic.SyntheticConnector.discover
    calls = {"n": 0}
    failures: list[Exception] = [TransientSourceError("connection reset by peer")]

    def flaky(self, report):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if failures:
            raise failures.pop()
        yield from original(self, report)

    monkeypatch.setattr(synthetic.SyntheticConnector, "discover", flaky)
    pipeline.add("syn", "synthetic", {"count": 200})
    assert pipeline.run("syn").output_for_node("bulk_load").new == 200
    assert calls["n"] == 2

    calls["n"] = 0
    failures.append(SourceError("password authentication failed"))
    result = pipeline.run("syn", expect_success=False)
    assert "password authentication failed" in failure_message(result)
    assert calls["n"] == 1


def test_slow_queries_are_logged_and_counted(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 100})
    result = pipeline.run("syn", catalog={"url": pipeline.url, "slow_query_seconds": 0})
    event = pipeline.instance.get_latest_materialization_event(AssetKey("catalog_assets"))
    assert event is not None and event.asset_materialization is not None
    meta = event.asset_materialization.metadata
    assert meta["slow_queries"].value > 0
    logs = pipeline.instance.all_logs(result.run_id)
    assert any("slow catalog query" in (e.user_message or "") for e in logs)


def test_a_lease_whose_holder_process_died_is_taken_over(engine) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from asset_pipeline.catalog.schema import connector_leases

    add_connector(engine, "c", "synthetic", {"count": 1})
    leases.acquire(engine, "c", "live-run")
    with pytest.raises(leases.LeaseHeld):
        leases.acquire(engine, "c", "other-run")  # our own pid: alive

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    with engine.begin() as conn:
        conn.execute(update(connector_leases).values(pid=int(dead.stdout)))
    leases.acquire(engine, "c", "other-run")  # the holder's process is gone

    with engine.begin() as conn:
        conn.execute(update(connector_leases).values(pid=int(dead.stdout), host="elsewhere"))
    with pytest.raises(leases.LeaseHeld):
        leases.acquire(engine, "c", "third-run")  # another host: only expiry frees it
