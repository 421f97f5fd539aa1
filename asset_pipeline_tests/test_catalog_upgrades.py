"""Upgrading a catalog that holds data, from every earlier revision, keeps every row."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, insert, inspect, select

from asset_pipeline.catalog.db import alembic_config, make_engine, migrate, resolve_url

REVISIONS = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
ROWS = {
    "connectors": [{"name": "c", "kind": "synthetic", "config": '{"count": 2}', "enabled": True,
                    "refresh_interval_seconds": 60, "created_at": NOW, "updated_at": NOW}],
    "assets": [
        {"id": i, "connector": "c", "qualified_name": f"db.s.t{i}", "catalog": "db", "schema": "s",
         "name": f"t{i}", "type": "table", "parent": "db.s", "size_bytes": None, "row_count": i,
         "properties": '{"k":1}', "fingerprint": f"f{i}", "status": "active",
         "discovered_at": NOW, "updated_at": NOW, "last_run_id": "r1"}
        for i in (1, 2)
    ],
    "data_discovery": [{"id": i, "asset_id": i, "run_id": "r1", "status": "new",
                        "fingerprint": f"f{i}", "at": NOW} for i in (1, 2)],
    "discovery_runs": [{"run_id": "r1", "connector": "c", "started_at": NOW, "finished_at": NOW,
                        "outcome": "success", "discovered": 2, "new": 2, "changed": 0,
                        "restored": 0, "unchanged": 0, "removed": 0, "rejected": 0}],
}


@pytest.mark.parametrize("revision", REVISIONS[1:] if len(REVISIONS) > 1 else [],
                         ids=lambda r: f"from-{r}")
def test_upgrade_with_data_keeps_every_row(catalog_url: str, revision: str) -> None:
    engine = make_engine(resolve_url(catalog_url))
    migrate(engine, revision)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table, rows in ROWS.items():
            columns = set(meta.tables[table].c.keys())
            conn.execute(insert(meta.tables[table]), [
                {k: v for k, v in row.items() if k in columns} for row in rows
            ])
    migrate(engine)
    assert REVISIONS[0] != revision
    after = MetaData()
    after.reflect(engine)
    with engine.connect() as conn:
        for table, rows in ROWS.items():
            stored = [dict(r._mapping) for r in conn.execute(select(after.tables[table]))]
            assert len(stored) == len(rows)
            for want, got in zip(rows, sorted(stored, key=lambda r: str(r.get("id", r.get("name"))))):
                for key, value in want.items():
                    if isinstance(value, datetime):
                        assert _utc(got[key]) == value
                    else:
                        assert got[key] == value, (table, key)
    engine.dispose()


def test_every_revision_is_covered() -> None:
    """The newest revision is head; every older one gets an upgrade test above."""
    assert REVISIONS[-1] == "0001" and len(REVISIONS) >= 2


def _utc(value: datetime) -> datetime:
    """SQLite returns naive UTC timestamps, PostgreSQL aware ones in the session's zone."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
