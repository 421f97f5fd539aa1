"""How many assets match a filter: not at all (default), an estimate, or exactly.

An exact ``count(*)`` reads every matching index entry (30-110 ms at a million rows on
PostgreSQL), so it is computed only when asked. The estimate on PostgreSQL is the query
planner's row estimate for the filtered query: ``reltuples`` scaled to the table's current size
for no filter, the column statistics (most common values, histograms) for filters. It costs one
planning pass (well under a millisecond) and is as fresh as the last ANALYZE, which the pipeline
runs after every large load. SQLite keeps no statistics; its catalogs are the small embedded
ones, where a count is one B-tree walk, so there the estimate is the exact count and says so.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from asset_pipeline.catalog.filters import AssetFilters, conditions
from asset_pipeline.catalog.schema import assets

TotalMode = Literal["none", "estimate", "exact"]
TOTAL_MODES: tuple[TotalMode, ...] = ("none", "estimate", "exact")


def count_assets(
    conn: Connection, filters: AssetFilters, mode: TotalMode
) -> tuple[int | None, TotalMode]:
    """The number of assets matching ``filters``, and how it was obtained.

    Returns:
        ``(None, "none")``, ``(n, "estimate")`` or ``(n, "exact")``. An estimate asked of SQLite
        comes back exact.
    """
    if mode == "none":
        return None, "none"
    where = conditions(filters, conn.dialect.name)
    if mode == "estimate" and conn.dialect.name == "postgresql":
        return _planner_estimate(conn, select(assets.c.id).where(*where)), "estimate"
    return conn.scalar(select(func.count()).select_from(assets).where(*where)) or 0, "exact"


def _planner_estimate(conn: Connection, query) -> int:  # type: ignore[no-untyped-def]
    compiled = query.compile(dialect=conn.dialect)
    plan: Any = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}",
                                     compiled.params).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
