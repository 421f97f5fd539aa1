"""discovery_runs: one row per run and partition, written as the run goes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from asset_pipeline.catalog.schema import assets, discovery_runs


def start_run(engine: Engine, run_id: str, connector: str) -> None:
    """Record a run as running (again, for a re-executed run id)."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        exists = conn.scalar(select(func.count()).where(discovery_runs.c.run_id == run_id))
        if exists:
            conn.execute(
                update(discovery_runs).where(discovery_runs.c.run_id == run_id)
                .values(outcome="running", message=None, finished_at=None)
            )
        else:
            conn.execute(insert(discovery_runs).values(
                run_id=run_id, connector=connector, started_at=now, outcome="running",
                discovered=0, new=0, changed=0, restored=0, unchanged=0, removed=0, rejected=0,
            ))


def update_run(engine: Engine, run_id: str, **values: Any) -> None:
    """Set columns of a run's row; ``outcome`` other than running also sets finished_at."""
    if values.get("outcome") in ("success", "failed"):
        values["finished_at"] = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(update(discovery_runs).where(discovery_runs.c.run_id == run_id).values(**values))


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(discovery_runs).where(discovery_runs.c.run_id == run_id)).first()
    return dict(row._mapping) if row else None


def active_asset_count(engine: Engine, connector: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count()).where(assets.c.connector == connector, assets.c.status == "active")
        ) or 0


def last_success_by_connector(engine: Engine) -> dict[str, datetime]:
    """When each connector's last successful run finished (connectors never run: absent)."""
    r = discovery_runs.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(r.connector, func.max(r.finished_at))
            .where(r.outcome == "success")
            .group_by(r.connector)
        )
        return {name: _utc(at) for name, at in rows if at is not None}


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they are stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
