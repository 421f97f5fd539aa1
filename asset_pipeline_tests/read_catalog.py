"""A catalog filled by the real job, shared by the read path's test modules (module scope).

Two connectors: ``syn`` (synthetic, 10,000 assets; a second run changes 1% and removes 2%) and
``files`` (a small tree whose names hold ``%``, ``_``, upper case and non-ASCII characters, loaded
after ``syn``, so its assets carry a later ``discovered_at``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dagster import DagsterInstance
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from asset_pipeline.catalog.db import make_engine, migrate, resolve_url
from asset_pipeline.catalog.queries import utc
from asset_pipeline.catalog.schema import assets
from asset_pipeline_tests.conftest import PG_ADMIN_URL, Pipeline

FILE_NAMES = ("a%b.csv", "a_b.csv", "axb.csv", "A_b.csv", "ümlaut.txt", "sub/a_c.jsonl",
              "sub/deeper/z.csv")


@dataclass
class Filled:
    engine: Engine
    url: str
    pipeline: Pipeline
    syn_loaded_at: datetime
    files_loaded_at: datetime

    def rows(self) -> list[dict[str, Any]]:
        """Every asset, newest first by (discovered_at, id): the order pages must follow."""
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(assets))]
        for row in rows:
            row["discovered_at"] = utc(row["discovered_at"])
        return sorted(rows, key=lambda r: (r["discovered_at"], r["id"]), reverse=True)


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty catalog database URL on ``backend``, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'read_{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"ap_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def filled_catalog(backend: str, tmp: Path, count: int = 10_000) -> Iterator[Filled]:
    """The shared test catalog on ``backend``; see the module docstring."""
    root = tmp / f"tree_{uuid.uuid4().hex[:6]}"
    for name in FILE_NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    with database(backend, tmp) as url, DagsterInstance.ephemeral() as instance:
        engine = make_engine(resolve_url(url))
        migrate(engine)
        pipeline = Pipeline(engine, url, instance)
        pipeline.add("syn", "synthetic", {"count": count})
        pipeline.run("syn")
        pipeline.add("files", "filesystem", {"root": str(root)})
        pipeline.run("files")
        pipeline.add("syn", "synthetic", {"count": count, "change_share": 0.01,
                                          "drop_share": 0.02, "round": 2})
        pipeline.run("syn")
        filled = Filled(engine, url, pipeline, datetime.min, datetime.min)
        stamps = {r["connector"]: r["discovered_at"] for r in filled.rows()}
        filled.syn_loaded_at, filled.files_loaded_at = stamps["syn"], stamps["files"]
        try:
            yield filled
        finally:
            engine.dispose()
