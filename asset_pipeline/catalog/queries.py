"""The read path: list assets page by page, show one asset with its history.

Pages are keyset-paginated, newest first by ``(discovered_at, id)``. Both values are fixed when
a row is inserted (a later change never rewrites them, and removal only marks the status), so
the order of the rows that exist is total and stable: the page after a cursor holds the rows
that sorted after the cursor's row when paging began, whatever loads commit meanwhile, so no
asset is skipped or repeated. A row inserted while paging takes a position of its own and
displaces nothing; a load stamps its new rows with the load's start time, newer than what was
already there, so they normally sort before the cursor and appear in the next fresh listing.
Only filters on columns a change can rewrite (status, type, catalog, schema, name) can let an
asset move in or out of a filtered listing while it is being paged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, literal, select, tuple_, union_all

from asset_pipeline.catalog.counting import TOTAL_MODES, TotalMode, count_assets
from asset_pipeline.catalog.cursor import (
    decode_cursor,
    encode_cursor,
    from_micros,
    scope_of,
    to_micros,
)
from asset_pipeline.catalog.filters import AssetFilters, conditions
from asset_pipeline.catalog.read_errors import AssetNotFound, InvalidQuery
from asset_pipeline.catalog.schema import assets, connectors, data_discovery

Fields = Literal["minimal", "full"]
FIELD_MODES: tuple[Fields, ...] = ("minimal", "full")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
DEFAULT_HISTORY = 20
MAX_HISTORY = 1000

a = assets.c
MINIMAL_COLUMNS = (a.id, a.connector, a.qualified_name, a.name, a.type, a.status, a.discovered_at)
FULL_COLUMNS = (
    *MINIMAL_COLUMNS, a.catalog, a.schema, a.parent, a.size_bytes, a.row_count, a.properties,
    a.fingerprint, a.updated_at, a.last_run_id,
)


@dataclass(frozen=True)
class AssetPage:
    """One page of assets; ``next_cursor`` is ``None`` on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int
    total: int | None
    total_kind: TotalMode

    def as_json(self) -> dict[str, Any]:
        """The page as JSON values (timestamps as ISO 8601 UTC strings)."""
        return {"items": [jsonable(i) for i in self.items], "next_cursor": self.next_cursor,
                "limit": self.limit, "total": self.total, "total_kind": self.total_kind}


def utc(moment: datetime | None) -> datetime | None:
    """An aware UTC datetime; SQLite hands back naive UTC values."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(
        UTC)


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 strings, recursively."""
    if isinstance(value, datetime):
        return utc(value).isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def _asset(row: Any) -> dict[str, Any]:
    item = dict(row._mapping)
    for key in ("discovered_at", "updated_at"):
        if key in item:
            item[key] = utc(item[key])
    if "properties" in item:
        item["properties"] = json.loads(item["properties"]) if item["properties"] else None
    if "change_status" in item:
        status, at, run_id = (item.pop(k) for k in ("change_status", "change_at", "change_run_id"))
        item["latest_change"] = (
            {"status": status, "at": utc(at), "run_id": run_id} if status else None)
    return item


def _scope(filters: AssetFilters) -> str:
    return scope_of("assets", filters.fingerprint_params())


def list_assets(
    engine: Engine | Connection,
    filters: AssetFilters | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    fields: Fields = "minimal",
    total: TotalMode = "none",
) -> AssetPage:
    """One page of assets matching ``filters``, newest first (``discovered_at``, then ``id``).

    Args:
        filters: conditions; all of them must hold.
        limit: page size, 1 to ``MAX_LIMIT``.
        cursor: ``next_cursor`` of the previous page, made with the same filters.
        fields: ``minimal`` (key fields) or ``full`` (every column, parsed properties and the
            asset's latest change, joined for this page's rows only).
        total: ``none``, ``estimate`` or ``exact`` count of all matching assets.

    Raises:
        InvalidQuery: a bad parameter; ``InvalidCursor`` (a subclass) for a bad cursor.
    """
    filters = (filters or AssetFilters()).validated()
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    if fields not in FIELD_MODES:
        raise InvalidQuery(f"fields must be one of {', '.join(FIELD_MODES)}, got {fields!r}")
    if total not in TOTAL_MODES:
        raise InvalidQuery(f"total must be one of {', '.join(TOTAL_MODES)}, got {total!r}")
    scope = _scope(filters)
    after = _position(cursor, scope) if cursor is not None else None
    with _connection(engine) as conn:
        # limit + 1 rows: the extra one only says whether a next page exists.
        query = page_query(filters, conn.dialect.name, after, fields, limit + 1)
        rows = conn.execute(query).all()
        count, kind = count_assets(conn, filters, total)
    items = [_asset(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([to_micros(last["discovered_at"]), last["id"]], scope)
    return AssetPage(items, next_cursor, limit, count, kind)


def page_query(filters: AssetFilters, dialect: str, after: tuple[datetime, int] | None,
               fields: Fields, rows: int):  # type: ignore[no-untyped-def]
    """The SELECT of one page: ``rows`` assets after keyset position ``after``, newest first.

    On PostgreSQL the keyset is one row comparison, ``(discovered_at, id) < (t, i)``, which
    becomes the start key of an index range scan; spelled ``d < t OR (d = t AND id < i)`` it
    would be a filter, and every row before the cursor would be read again.
    """
    where = conditions(filters, dialect)
    columns = FULL_COLUMNS if fields == "full" else MINIMAL_COLUMNS
    if after is None:
        page = select(*columns).where(*where).order_by(*PAGE_ORDER).limit(rows)
    elif dialect == "postgresql":
        # PostgreSQL estimates a row comparison from its first column alone, and one load
        # stamps all its rows with one discovered_at: "discovered_at < t" looks empty, and the
        # planner may pick an index that then filters through many rows. Behind a one-row
        # sub-select t is unknown at planning time, the estimate falls back to a third of the
        # rows, and the filter's own index wins. It is still the scan's start key.
        moment = select(literal(after[0], a.discovered_at.type)).scalar_subquery()
        keyset = tuple_(a.discovered_at, a.id) < tuple_(moment, after[1])
        page = select(*columns).where(*where, keyset).order_by(*PAGE_ORDER).limit(rows)
    else:
        page = _two_seeks(columns, where, after, rows)
    return _with_latest_change(page) if fields == "full" else page


PAGE_ORDER = (a.discovered_at.desc(), a.id.desc())


def _two_seeks(columns, where, after, rows):  # type: ignore[no-untyped-def]
    """SQLite's keyset: the rest of the cursor's own timestamp, then everything older.

    SQLite seeks a row-value range on its first column only when the second is the rowid
    (``id``), so a page deep inside one load (one ``discovered_at``) would scan from the top of
    the load. Each arm here is an index seek (``d = t AND id < i``; ``d < t``) cut at ``rows``.
    """
    moment, last_id = after
    same = (select(*columns).where(*where, a.discovered_at == moment, a.id < last_id)
            .order_by(*PAGE_ORDER).limit(rows).subquery())
    older = (select(*columns).where(*where, a.discovered_at < moment)
             .order_by(*PAGE_ORDER).limit(rows).subquery())
    both = union_all(select(same), select(older)).subquery()
    return select(both).order_by(both.c.discovered_at.desc(), both.c.id.desc()).limit(rows)


def _position(cursor: str, scope: str) -> tuple[datetime, int]:
    position = decode_cursor(cursor, scope)
    if len(position) != 2 or not all(type(v) is int for v in position):
        raise InvalidQuery("cursor is malformed")
    return from_micros(position[0]), position[1]


def _with_latest_change(page):  # type: ignore[no-untyped-def]
    """The page's rows with their latest data_discovery row: one lookup per row of the page."""
    p = page.subquery("page")
    d = data_discovery.c
    latest_id = (select(func.max(d.id)).where(d.asset_id == p.c.id)
                 .correlate(p).scalar_subquery())
    return (
        select(p, d.status.label("change_status"), d.at.label("change_at"),
               d.run_id.label("change_run_id"))
        .select_from(p.outerjoin(data_discovery, d.id == latest_id))
        .order_by(p.c.discovered_at.desc(), p.c.id.desc())
    )


class _connection:
    """Use a caller's connection as is, or borrow one from an engine for the call."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        if isinstance(self.bind, Connection):
            return self.bind
        self.conn = self.bind.connect()
        return self.conn

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()


def get_asset(
    engine: Engine | Connection,
    asset_id: int | None = None,
    *,
    connector: str | None = None,
    qualified_name: str | None = None,
    history: int = DEFAULT_HISTORY,
) -> dict[str, Any]:
    """One asset with every field, its connector and its latest changes, newest first.

    Give ``asset_id``, or ``connector`` and ``qualified_name``.

    Returns:
        the asset's fields plus ``connector_info`` (name, kind, enabled, refresh interval),
        ``history`` (up to ``history`` data_discovery rows) and ``history_truncated``.

    Raises:
        AssetNotFound: no such asset. InvalidQuery: bad arguments.
    """
    if (asset_id is None) == (connector is None or qualified_name is None):
        raise InvalidQuery("give an asset id, or a connector and a qualified name")
    if not isinstance(history, int) or not 0 <= history <= MAX_HISTORY:
        raise InvalidQuery(f"history must be an integer from 0 to {MAX_HISTORY}, got {history!r}")
    query = select(*FULL_COLUMNS)
    if asset_id is not None:
        query = query.where(a.id == asset_id)
    else:
        query = query.where(a.connector == connector, a.qualified_name == qualified_name)
    d, c = data_discovery.c, connectors.c
    with _connection(engine) as conn:
        row = conn.execute(query).first()
        if row is None:
            what = (f"id {asset_id}" if asset_id is not None
                    else f"{qualified_name!r} in connector {connector!r}")
            raise AssetNotFound(f"no asset with {what}")
        item = _asset(row)
        info = conn.execute(
            select(c.name, c.kind, c.enabled, c.refresh_interval_seconds)
            .where(c.name == item["connector"])
        ).first()
        changes = conn.execute(
            select(d.status, d.at, d.run_id, d.fingerprint).where(d.asset_id == item["id"])
            .order_by(d.id.desc()).limit(history + 1)
        ).all()
    item["connector_info"] = dict(info._mapping) if info else None
    item["history"] = [{**r._mapping, "at": utc(r.at)} for r in changes[:history]]
    item["history_truncated"] = len(changes) > history
    return item
