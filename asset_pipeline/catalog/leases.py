"""One writer per connector: a lease row with an expiry, renewed while the run works.

Dagster's run queue allows one queued run per partition, but ``dagster job execute`` and
``execute_in_process`` bypass the queue; this lease makes the catalog itself refuse a second
writer. A re-execution of a run (same root run) takes over its lease at once; a run that died
without releasing it blocks others only until the lease expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from asset_pipeline.catalog.schema import connector_leases

DEFAULT_TTL = timedelta(minutes=5)


class LeaseHeld(RuntimeError):
    """Another run is writing this connector."""


def acquire(engine: Engine, connector: str, owner: str, ttl: timedelta = DEFAULT_TTL) -> None:
    """Take or renew the connector's lease for ``owner``.

    Raises:
        LeaseHeld: another owner holds an unexpired lease (the message names it).
    """
    now = datetime.now(timezone.utc)
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(connector_leases).values(
        connector=connector, run_id=owner, acquired_at=now, expires_at=now + ttl
    )
    current = connector_leases.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["connector"],
        set_={"run_id": stmt.excluded.run_id, "expires_at": stmt.excluded.expires_at,
              "acquired_at": stmt.excluded.acquired_at},
        where=or_(current.expires_at < now, current.run_id == owner),
    ).returning(current.run_id)
    with engine.begin() as conn:
        taken = conn.execute(stmt).first()
        if taken is None:
            holder, until = conn.execute(
                select(current.run_id, current.expires_at).where(current.connector == connector)
            ).one()
            raise LeaseHeld(
                f"connector {connector!r} is being written by run {holder} (lease until "
                f"{_utc(until):%Y-%m-%d %H:%M:%S} UTC); one writer per connector, so this run "
                "stops without touching the catalog"
            )


def release(engine: Engine, connector: str, owner: str) -> None:
    """Give the lease up, if ``owner`` still holds it."""
    c = connector_leases.c
    with engine.begin() as conn:
        conn.execute(delete(connector_leases).where(c.connector == connector, c.run_id == owner))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
