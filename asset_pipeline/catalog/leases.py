"""One writer per connector: a lease row with an expiry, renewed while the run works.

Dagster's run queue allows one queued run per partition, but ``dagster job execute`` and
``execute_in_process`` bypass the queue; this lease makes the catalog itself refuse a second
writer. A re-execution of a run (same root run) takes its lease over at once. A holder whose
process no longer exists on this host (killed, crashed) loses the lease at once; a holder on
another host that died holds it until it expires.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from asset_pipeline.catalog.schema import connector_leases

DEFAULT_TTL = timedelta(minutes=15)
HOST = socket.gethostname()[:255]


class LeaseHeld(RuntimeError):
    """Another run is writing this connector."""


def acquire(engine: Engine, connector: str, owner: str, ttl: timedelta = DEFAULT_TTL) -> None:
    """Take or renew the connector's lease for ``owner``.

    Raises:
        LeaseHeld: another live owner holds an unexpired lease (the message names it).
    """
    now = datetime.now(timezone.utc)
    c = connector_leases.c
    values = {"connector": connector, "run_id": owner, "acquired_at": now,
              "expires_at": now + ttl, "host": HOST, "pid": os.getpid()}
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(connector_leases).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["connector"],
        set_={k: stmt.excluded[k] for k in values if k != "connector"},
        where=or_(c.expires_at < now, c.run_id == owner),
    ).returning(c.run_id)
    with engine.begin() as conn:
        if conn.execute(stmt).first() is not None:
            return
        holder = conn.execute(
            select(c.run_id, c.expires_at, c.host, c.pid).where(c.connector == connector)
        ).one()
        if holder.host == HOST and not _alive(holder.pid):
            if _take_over(conn, connector, holder.run_id, values):
                return
        raise LeaseHeld(
            f"connector {connector!r} is being written by run {holder.run_id} (lease until "
            f"{_utc(holder.expires_at):%Y-%m-%d %H:%M:%S} UTC); one writer per connector, so "
            "this run stops without touching the catalog"
        )


def _take_over(conn: Connection, connector: str, dead_owner: str, values: dict) -> bool:  # type: ignore[type-arg]
    c = connector_leases.c
    taken = conn.execute(
        update(connector_leases)
        .where(c.connector == connector, c.run_id == dead_owner)
        .values(**{k: v for k, v in values.items() if k != "connector"})
    )
    return taken.rowcount == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release(engine: Engine, connector: str, owner: str) -> None:
    """Give the lease up, if ``owner`` still holds it."""
    c = connector_leases.c
    with engine.begin() as conn:
        conn.execute(delete(connector_leases).where(c.connector == connector, c.run_id == owner))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
