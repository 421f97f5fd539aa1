"""Filters of the asset listing: validation, and the SQL conditions each one becomes.

Every filter maps onto an index (migration 0003): connector, catalog and type lead a
``(column, discovered_at, id)`` index, ``status = 'removed'`` has a partial one, and the other
filters ride the general ``(discovered_at, id)`` index, so a page costs the same at any depth.
A name prefix can also take the byte-order ``(name, connector)`` index when it is selective.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, literal_column

from asset_pipeline.catalog.cursor import to_micros
from asset_pipeline.catalog.read_errors import InvalidQuery
from asset_pipeline.catalog.schema import assets
from asset_pipeline.connectors.base import ASSET_TYPES

STATUSES = ("active", "removed")
MAX_TEXT = 2000


def parse_timestamp(value: str, name: str) -> datetime:
    """An ISO 8601 timestamp as an aware datetime; one without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidQuery(
            f"{name} must be an ISO 8601 timestamp such as 2026-12-04T20:00:00Z, got {value!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class AssetFilters:
    """Which assets to list. ``None`` means no condition.

    ``discovered_after`` is inclusive and ``discovered_before`` exclusive, so consecutive windows
    tile without overlap. ``name_prefix`` matches the start of ``name`` literally (``%`` and
    ``_`` are ordinary characters) and case-sensitively.
    """

    connector: str | None = None
    catalog: str | None = None
    schema: str | None = None
    type: str | None = None
    status: str | None = None
    name_prefix: str | None = None
    discovered_after: datetime | None = None
    discovered_before: datetime | None = None

    def validated(self) -> AssetFilters:
        """This filter set, or ``InvalidQuery`` naming the first bad value."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and (value == "" or len(value) > MAX_TEXT or "\x00" in value):
                raise InvalidQuery(f"{f.name} must be 1 to {MAX_TEXT} characters without NUL")
        if self.type is not None and self.type not in ASSET_TYPES:
            raise InvalidQuery(
                f"type must be one of {', '.join(sorted(ASSET_TYPES))}; got {self.type!r}"
            )
        if self.status is not None and self.status not in STATUSES:
            raise InvalidQuery(f"status must be one of {', '.join(STATUSES)}; got {self.status!r}")
        after, before = self.discovered_after, self.discovered_before
        for name, moment in (("discovered_after", after), ("discovered_before", before)):
            if moment is not None and moment.tzinfo is None:
                raise InvalidQuery(f"{name} must carry a time zone")
        if after is not None and before is not None and after >= before:
            raise InvalidQuery("discovered_after must be earlier than discovered_before")
        return self

    def fingerprint_params(self) -> dict[str, Any]:
        """The filters as plain JSON values (the cursor's scope)."""
        return {
            k: (to_micros(v) if isinstance(v, datetime) else v)
            for k, v in asdict(self).items() if v is not None
        }

    def is_empty(self) -> bool:
        return not self.fingerprint_params()


def _prefix_successor(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` in code point order.

    Code point order is the byte order of UTF-8, which SQLite's BINARY collation compares.
    ``None`` when no such string exists (the prefix is all U+10FFFF).
    """
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000  # surrogates cannot be stored; the next storable code point
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _like_escape(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(filters: AssetFilters, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` for ``dialect`` (postgresql or sqlite)."""
    a = assets.c
    out: list[ColumnElement[bool]] = []
    for column, value in ((a.connector, filters.connector), (a.catalog, filters.catalog),
                          (a.schema, filters.schema), (a.type, filters.type)):
        if value is not None:
            out.append(column == value)
    if filters.status is not None:
        # A literal, not a bound parameter: SQLite uses a partial index only when the query's
        # term matches the index's WHERE text. The value is one of STATUSES (validated).
        out.append(a.status == literal_column(f"'{filters.status}'"))
    if filters.name_prefix is not None:
        prefix = filters.name_prefix
        if dialect == "postgresql":
            # LIKE on a text_pattern_ops index is a byte-order range scan whatever the
            # database's collation; a plain range would need the C collation on the index.
            out.append(a.name.like(_like_escape(prefix) + "%", escape="\\"))
        else:
            # SQLite's LIKE ignores case and skips the index; a BINARY range is exact.
            out.append(a.name >= prefix)
            upper = _prefix_successor(prefix)
            if upper is not None:
                out.append(a.name < upper)
    if filters.discovered_after is not None:
        out.append(a.discovered_at >= filters.discovered_after.astimezone(UTC))
    if filters.discovered_before is not None:
        out.append(a.discovered_at < filters.discovered_before.astimezone(UTC))
    if not has_own_index(filters):
        # Opens the general page-order index, partial on this always-true predicate (ALL_ROWS).
        # Filters with an index of their own leave it out, so the planner cannot prefer the
        # general index and skip past every newer row of other connectors or types.
        # A literal, not a bound parameter: SQLite matches partial index predicates as text.
        out.append(a.id > literal_column("0"))
    return out


def has_own_index(filters: AssetFilters) -> bool:
    """Whether a filter leads an index that is already in page order."""
    return bool(filters.connector or filters.catalog or filters.type
                or filters.status == "removed")
