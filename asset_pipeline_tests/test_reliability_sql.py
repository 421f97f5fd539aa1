"""A source database connection killed mid-scan: retried when it passes, a clear failure when it
does not, and nothing marked removed either way."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from asset_pipeline.connectors.sql import SqlConnector

from .conftest import Pipeline, failure_message
from .test_sql_connector import PgSource, pg_source  # noqa: F401  (fixture)

TABLES = "".join(f"CREATE TABLE app.t{i} (id int, name text);" for i in range(40))


def _kill_source_connections(source: PgSource) -> int:
    with source.engine.connect() as conn:
        return len(conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": source.name}).all())


def _kill_after_first_record(monkeypatch: pytest.MonkeyPatch, source: PgSource,
                             times: int) -> dict[str, int]:
    original = SqlConnector.discover
    state = {"left": times, "killed": 0}

    def discover(self, report):  # type: ignore[no-untyped-def]
        for n, record in enumerate(original(self, report)):
            yield record
            if n == 0 and state["left"] > 0:
                state["left"] -= 1
                state["killed"] += _kill_source_connections(source)

    monkeypatch.setattr(SqlConnector, "discover", discover)
    return state


@pytest.fixture
def loaded(pipeline: Pipeline, pg_source: PgSource) -> list[tuple[object, ...]]:  # noqa: F811
    """A source of 40 tables, scanned once cleanly; returns that catalog."""
    pg_source.sql("CREATE SCHEMA app;" + TABLES)
    pipeline.add("db", "sql", pg_source.config(include_schemas=["app"]))
    pipeline.run("db")
    return pipeline.catalog("db")


def test_connection_killed_once_mid_scan_is_retried_to_a_complete_scan(
    pipeline: Pipeline, pg_source: PgSource, loaded: list[tuple[object, ...]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = _kill_after_first_record(monkeypatch, pg_source, times=1)
    out = pipeline.run("db").output_for_node("bulk_load")
    assert state["killed"] >= 1
    assert out.complete and (out.new, out.changed, out.removed) == (0, 0, 0)
    assert pipeline.catalog("db") == loaded


def test_connection_killed_on_every_attempt_fails_with_the_reason_and_removes_nothing(
    pipeline: Pipeline, pg_source: PgSource, loaded: list[tuple[object, ...]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = _kill_after_first_record(monkeypatch, pg_source, times=99)
    result = pipeline.run("db", expect_success=False)
    message = failure_message(result)
    assert "TransientSourceError" in message and "terminat" in message.lower(), message
    assert 99 - state["left"] == 4  # the first attempt and three retries
    assert pipeline.catalog("db") == loaded
