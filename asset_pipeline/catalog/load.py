"""Apply a diff table to the catalog, one committed batch at a time.

Each batch is a seq range of the diff table: one set-based upsert of its new / changed / restored
rows and one update of its removed ones, each with its data_discovery rows, in one transaction.
The upsert only touches rows whose fingerprint differs or that are not active, and history is
written only for rows actually touched, so re-applying a batch changes nothing: a killed run
re-executed from the load converges to the same catalog.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Connection, Table, and_, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from asset_pipeline.catalog.schema import assets, data_discovery

_WRITTEN = (
    "catalog", "schema", "name", "type", "parent", "size_bytes", "row_count", "properties",
    "fingerprint",
)
_HISTORY = ["asset_id", "run_id", "status", "fingerprint", "at"]


def _upsert(conn: Connection, diff: Table, connector: str, run_id: str, now: datetime,
            lo: int, hi: int):  # type: ignore[no-untyped-def]
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    d = diff.c
    rows = select(
        literal(connector), d.qualified_name, *(d[c] for c in _WRITTEN),
        literal("active"), literal(now, assets.c.discovered_at.type),
        literal(now, assets.c.updated_at.type), literal(run_id),
    ).where(d.seq.between(lo, hi), d.action != "removed")
    stmt = dialect_insert(assets).from_select(
        ["connector", "qualified_name", *_WRITTEN, "status", "discovered_at", "updated_at",
         "last_run_id"],
        rows,
    )
    ex = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["connector", "qualified_name"],
        set_={**{c: ex[c] for c in _WRITTEN}, "status": "active", "updated_at": ex.updated_at,
              "last_run_id": ex.last_run_id},
        where=or_(assets.c.fingerprint != ex.fingerprint, assets.c.status != "active"),
    ).returning(assets.c.id, assets.c.qualified_name, assets.c.fingerprint)


def _remove(diff: Table, run_id: str, now: datetime, lo: int, hi: int):  # type: ignore[no-untyped-def]
    d = diff.c
    ids = select(d.asset_id).where(d.seq.between(lo, hi), d.action == "removed")
    return (
        update(assets)
        .where(assets.c.id.in_(ids), assets.c.status == "active")
        .values(status="removed", updated_at=now, last_run_id=run_id)
        .returning(assets.c.id, assets.c.fingerprint)
    )


def apply_batch(
    conn: Connection, diff: Table, connector: str, run_id: str, lo: int, hi: int, now: datetime
) -> Counter[str]:
    """Apply diff rows ``lo..hi`` (seq) in the caller's transaction.

    Returns:
        rows actually written per action (0 for a batch applied before).
    """
    upsert = _upsert(conn, diff, connector, run_id, now, lo, hi)
    removal = _remove(diff, run_id, now, lo, hi)
    if conn.dialect.name == "postgresql":
        return _apply_postgres(conn, diff, upsert, removal, run_id, now, lo, hi)
    return _apply_returning(conn, diff, upsert, removal, run_id, now, lo, hi)


def _apply_postgres(conn, diff, upsert, removal, run_id, now, lo, hi) -> Counter[str]:  # type: ignore[no-untyped-def]
    """History rows come from data-modifying CTEs: nothing travels back to Python."""
    d = diff.c
    up = upsert.cte("up")
    history = select(up.c.id, literal(run_id), d.action, up.c.fingerprint, literal(now, data_discovery.c.at.type)).select_from(
        up.join(diff, and_(d.qualified_name == up.c.qualified_name, d.seq.between(lo, hi)))
    )
    stmt = (
        insert(data_discovery)
        .from_select(_HISTORY, history)
        .add_cte(up)
        .returning(data_discovery.c.status)
    )
    written = Counter(conn.scalars(stmt))
    gone = removal.cte("gone")
    history = select(gone.c.id, literal(run_id), literal("removed"), gone.c.fingerprint, literal(now, data_discovery.c.at.type))
    stmt = insert(data_discovery).from_select(_HISTORY, history).add_cte(gone)
    written["removed"] = conn.execute(stmt).rowcount
    return written


def _apply_returning(conn, diff, upsert, removal, run_id, now, lo, hi) -> Counter[str]:  # type: ignore[no-untyped-def]
    """SQLite: RETURNING gives the touched ids; their history goes in with executemany."""
    d = diff.c
    touched = conn.execute(upsert).all()
    written: Counter[str] = Counter()
    history = []
    if touched:
        actions = dict(
            conn.execute(
                select(d.qualified_name, d.action).where(d.seq.between(lo, hi), d.action != "removed")
            ).all()
        )
        for asset_id, qn, fingerprint in touched:
            action = actions[qn]
            written[action] += 1
            history.append({"asset_id": asset_id, "run_id": run_id, "status": action,
                            "fingerprint": fingerprint, "at": now})
    for asset_id, fingerprint in conn.execute(removal).all():
        written["removed"] += 1
        history.append({"asset_id": asset_id, "run_id": run_id, "status": "removed",
                        "fingerprint": fingerprint, "at": now})
    if history:
        conn.execute(insert(data_discovery), history)
    return written
