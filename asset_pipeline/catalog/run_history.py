"""Read side of connectors and discovery runs: what the API's /connectors endpoints show."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, func, select, tuple_

from asset_pipeline.catalog.connectors import ConnectorNotFound
from asset_pipeline.catalog.cursor import (
    decode_cursor,
    encode_cursor,
    from_micros,
    scope_of,
    to_micros,
)
from asset_pipeline.catalog.queries import _connection, utc
from asset_pipeline.catalog.read_errors import InvalidQuery
from asset_pipeline.catalog.schema import connectors, discovery_runs

MAX_RUNS = 200
r, c = discovery_runs.c, connectors.c


def _run(row: Any) -> dict[str, Any]:
    run = dict(row._mapping)
    for key in ("started_at", "finished_at"):
        run[key] = utc(run[key])
    run["details"] = json.loads(run["details"]) if run.get("details") else None
    return run


_SUMMARY = ("run_id", "started_at", "finished_at", "outcome", "discovered", "new", "changed",
            "removed")


def connectors_overview(engine: Engine | Connection) -> list[dict[str, Any]]:
    """Every connector with its config and its latest run, in one statement.

    The latest run is a correlated lookup per connector on the (connector, started_at) index,
    not a scan of all runs.
    """
    latest = (select(r.run_id).where(r.connector == c.name).order_by(r.started_at.desc())
              .limit(1).correlate(connectors).scalar_subquery())
    query = (select(connectors, *(r[k].label(f"run_{k}") for k in _SUMMARY))
             .select_from(connectors.outerjoin(discovery_runs, r.run_id == latest))
             .order_by(c.name))
    out = []
    with _connection(engine) as conn:
        for row in conn.execute(query):
            values = dict(row._mapping)
            run = {k: values.pop(f"run_{k}") for k in _SUMMARY}
            values["config"] = json.loads(values["config"])
            values["created_at"] = utc(values["created_at"])
            values["updated_at"] = utc(values["updated_at"])
            values["last_run"] = _run_summary(run) if run["run_id"] else None
            out.append(values)
    return out


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    run["started_at"], run["finished_at"] = utc(run["started_at"]), utc(run["finished_at"])
    return run


def list_runs(
    engine: Engine | Connection, connector: str, *, limit: int = 20, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A connector's runs, newest first by start time, keyset-paginated like the assets.

    Returns:
        (runs, next cursor or None).

    Raises:
        ConnectorNotFound: unknown connector. InvalidQuery: bad limit or cursor.
    """
    if not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_RUNS}, got {limit!r}")
    scope = scope_of("runs", {"connector": connector})
    query = select(discovery_runs).where(r.connector == connector)
    if cursor is not None:
        position = decode_cursor(cursor, scope)
        if len(position) != 2 or type(position[0]) is not int or type(position[1]) is not str:
            raise InvalidQuery("cursor is malformed")
        query = query.where(
            tuple_(r.started_at, r.run_id) < tuple_(from_micros(position[0]), position[1]))
    query = query.order_by(r.started_at.desc(), r.run_id.desc()).limit(limit + 1)
    with _connection(engine) as conn:
        if conn.scalar(select(func.count()).where(c.name == connector)) == 0:
            raise ConnectorNotFound(f"unknown connector {connector!r}")
        rows = conn.execute(query).all()
    runs = [_run(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = runs[-1]
        next_cursor = encode_cursor([to_micros(last["started_at"]), last["run_id"]], scope)
    return runs, next_cursor


def catalog_version(engine: Engine | Connection) -> tuple[Any, ...]:
    """A value that changes whenever a run finishes or a connector is added, changed or removed.

    Response caches key on it. ``max(finished_at)`` reads one entry of the finished_at index;
    the connectors table holds one row per source.
    """
    with _connection(engine) as conn:
        row = conn.execute(select(
            select(func.max(r.finished_at)).scalar_subquery(),
            select(func.count()).select_from(connectors).scalar_subquery(),
            select(func.max(c.updated_at)).scalar_subquery(),
        )).one()
    return tuple(row)
