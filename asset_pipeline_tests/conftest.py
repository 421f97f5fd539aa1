"""Shared fixtures: a fresh catalog database per test on SQLite and on a real PostgreSQL server.

PostgreSQL tests create their own database and drop it afterwards. The server comes from
ASSET_PIPELINE_TEST_PG_URL (default: the local server, user postgres). An unreachable server fails
the tests; it never skips them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, serialize_value
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from asset_pipeline.catalog.connectors import add_connector
from asset_pipeline.catalog.db import make_engine, migrate, resolve_url
from asset_pipeline.catalog.schema import assets, data_discovery
from asset_pipeline.definitions import defs
from asset_pipeline.pipeline.job import failure_reason
from asset_pipeline.pipeline.partitions import CONNECTORS_PARTITIONS

PG_ADMIN_URL = os.environ.get(
    "ASSET_PIPELINE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def _admin():  # type: ignore[no-untyped-def]
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_server() -> str:
    try:
        with _admin().connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # pragma: no cover - environment problem, reported loudly
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"ap_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest) -> str:
    """Every test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


@pytest.fixture
def engine(catalog_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(resolve_url(catalog_url))
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as inst:
        yield inst


class Pipeline:
    """Registers connectors and runs the real job against one catalog and one instance."""

    def __init__(self, engine, url: str, instance: DagsterInstance) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.url, self.instance = engine, url, instance

    def add(self, name: str, kind: str, config: dict[str, Any], **options: Any) -> None:
        add_connector(self.engine, name, kind, config, replace=True, **options)
        if not self.instance.has_dynamic_partition(CONNECTORS_PARTITIONS.name, name):
            self.instance.add_dynamic_partitions(CONNECTORS_PARTITIONS.name, [name])

    def run(self, name: str, expect_success: bool = True, tags: dict[str, str] | None = None,
            **resources: dict[str, Any]):  # type: ignore[no-untyped-def]
        config: dict[str, Any] = {"catalog": {"config": {"url": self.url}}}
        config.update({key: {"config": value} for key, value in resources.items()})
        job = defs.resolve_job_def("discover_connector")
        kwargs: dict[str, Any] = {"tags": tags} if tags else {"partition_key": name}
        result = job.execute_in_process(
            instance=self.instance, run_config={"resources": config}, raise_on_error=False,
            **kwargs,
        )
        assert result.success is expect_success, failure_message(result)
        return result

    def catalog(self, connector: str) -> list[tuple[Any, ...]]:
        """The connector's catalog rows without ids, timestamps or run ids."""
        a = assets.c
        query = (
            select(a.qualified_name, a.catalog, a.schema, a.name, a.type, a.parent, a.size_bytes,
                   a.row_count, a.properties, a.fingerprint, a.status)
            .where(a.connector == connector).order_by(a.qualified_name)
        )
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]

    def history(self, connector: str) -> list[tuple[str, str]]:
        """(qualified_name, status) of every data_discovery row of the connector."""
        d, a = data_discovery.c, assets.c
        query = (
            select(a.qualified_name, d.status)
            .select_from(data_discovery.join(assets, d.asset_id == a.id))
            .where(a.connector == connector).order_by(a.qualified_name, d.id)
        )
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


    def written_text(self, results) -> dict[str, str]:  # type: ignore[no-untyped-def]
        """Where a secret could leak, as text: each run's config, tags and full event log, and
        every row of every catalog table."""
        places: dict[str, str] = {}
        for result in results:
            run = self.instance.get_run_by_id(result.run_id)
            assert run is not None
            places[f"run config {result.run_id}"] = json.dumps(run.run_config) + json.dumps(
                run.tags)
            places[f"logs {result.run_id}"] = "\n".join(
                serialize_value(entry) for entry in self.instance.all_logs(result.run_id))
        with self.engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                places[f"catalog {table}"] = repr(rows)
        return places


def failure_message(result) -> str:  # type: ignore[no-untyped-def]
    return failure_reason(result)


@pytest.fixture
def pipeline(engine, catalog_url: str, instance: DagsterInstance) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(engine, catalog_url, instance)
