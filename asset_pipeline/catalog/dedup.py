"""Classify a staged scan against the catalog: new, changed, restored, unchanged, removed.

Only the difference is written to the diff table; unchanged rows never reach the load. Two
strategies give the same result: ``preload`` holds the connector's (key -> id, fingerprint, status)
index in memory (bounded by the preload limit) and streams the stage past it; ``join`` lets the
database join the stage to the catalog, for connectors above the limit.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, Engine, Table, and_, case, func, insert, literal, or_, select

from asset_pipeline.catalog.schema import assets
from asset_pipeline.pipeline.normalize import STAGED_COLUMNS

ROW_COLUMNS = list(STAGED_COLUMNS)


def connector_asset_count(engine: Engine, connector: str) -> int:
    """How many assets (active or removed) the catalog holds for ``connector``."""
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).where(assets.c.connector == connector)) or 0


def classify_join(
    engine: Engine, connector: str, stage: Table, diff: Table, find_removed: bool
) -> None:
    """Fill ``diff`` with one set-based statement per action kind."""
    a = assets
    s = stage
    joined = s.outerjoin(a, and_(a.c.connector == connector, a.c.qualified_name == s.c.qualified_name))
    action = case(
        (a.c.id.is_(None), literal("new")),
        (a.c.status != "active", literal("restored")),
        else_=literal("changed"),
    )
    changed = (
        select(action, a.c.id, *(s.c[c] for c in ROW_COLUMNS))
        .select_from(joined)
        .where(or_(a.c.id.is_(None), a.c.fingerprint != s.c.fingerprint, a.c.status != "active"))
        .order_by(s.c.seq)
    )
    with engine.begin() as conn:
        conn.execute(insert(diff).from_select(["action", "asset_id", *ROW_COLUMNS], changed))
        if find_removed:
            gone = (
                select(literal("removed"), a.c.id, a.c.qualified_name, a.c.fingerprint)
                .where(
                    a.c.connector == connector,
                    a.c.status == "active",
                    ~select(s.c.seq).where(s.c.qualified_name == a.c.qualified_name).exists(),
                )
                .order_by(a.c.id)
            )
            conn.execute(
                insert(diff).from_select(["action", "asset_id", "qualified_name", "fingerprint"], gone)
            )


def _preload(conn: Connection, connector: str, batch_size: int) -> dict[str, tuple[int, str, bool]]:
    index: dict[str, tuple[int, str, bool]] = {}
    a = assets
    rows = conn.execution_options(yield_per=batch_size).execute(
        select(a.c.qualified_name, a.c.id, a.c.fingerprint, a.c.status).where(
            a.c.connector == connector
        )
    )
    for qn, asset_id, fingerprint, status in rows:
        index[qn] = (asset_id, fingerprint, status == "active")
    return index


def classify_preload(
    engine: Engine, connector: str, stage: Table, diff: Table, find_removed: bool, batch_size: int
) -> int:
    """Fill ``diff`` by streaming the stage past an in-memory index of the connector's assets.

    Returns:
        the number of entries the preloaded index held.
    """
    with engine.connect() as read, engine.connect() as write:
        index = _preload(read, connector, batch_size)
        size = len(index)
        pending: list[dict[str, object]] = []
        staged = read.execution_options(yield_per=batch_size).execute(
            select(*(stage.c[c] for c in ROW_COLUMNS)).order_by(stage.c.seq)
        )
        for row in staged:
            known = index.pop(row.qualified_name, None)
            if known is None:
                action, asset_id = "new", None
            elif not known[2]:
                action, asset_id = "restored", known[0]
            elif known[1] != row.fingerprint:
                action, asset_id = "changed", known[0]
            else:
                continue
            pending.append({"action": action, "asset_id": asset_id, **row._asdict()})
            if len(pending) >= batch_size:
                _flush(write, diff, pending)
        _flush(write, diff, pending)
        if find_removed:
            for qn, (asset_id, fingerprint, active) in sorted(index.items(), key=lambda i: i[1][0]):
                if active:
                    pending.append(
                        {"action": "removed", "asset_id": asset_id, "qualified_name": qn,
                         "fingerprint": fingerprint}
                    )
                    if len(pending) >= batch_size:
                        _flush(write, diff, pending)
            _flush(write, diff, pending)
        write.commit()
    return size


def _flush(conn: Connection, diff: Table, rows: list[dict[str, object]]) -> None:
    if rows:
        keys = ["action", "asset_id", *ROW_COLUMNS]
        conn.execute(insert(diff), [{k: r.get(k) for k in keys} for r in rows])
        rows.clear()


def diff_counts(engine: Engine, diff: Table) -> Counter[str]:
    """Rows per action in the diff table."""
    with engine.connect() as conn:
        rows = conn.execute(select(diff.c.action, func.count()).group_by(diff.c.action))
        return Counter({action: n for action, n in rows})


def seq_bounds(engine: Engine, table: Table) -> tuple[int, int]:
    """(min, max) seq of a staging table; (1, 0) when empty."""
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(table.c.seq), func.max(table.c.seq))).one()
    return (lo, hi) if lo is not None else (1, 0)
