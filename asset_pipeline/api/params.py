"""Query parameters of the API: one declaration each, used to parse requests and to write the
OpenAPI document, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import QueryParams

from asset_pipeline.catalog.counting import TOTAL_MODES
from asset_pipeline.catalog.filters import STATUSES, parse_timestamp
from asset_pipeline.catalog.queries import (
    DEFAULT_HISTORY,
    DEFAULT_LIMIT,
    FIELD_MODES,
    MAX_HISTORY,
    MAX_LIMIT,
)
from asset_pipeline.catalog.read_errors import InvalidQuery
from asset_pipeline.catalog.run_history import MAX_RUNS
from asset_pipeline.connectors.base import ASSET_TYPES


@dataclass(frozen=True)
class Param:
    """One query parameter: its name, JSON type, meaning and bounds."""

    name: str
    kind: Literal["string", "integer", "date-time"]
    description: str
    enum: tuple[str, ...] | None = None
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None

    def parse(self, raw: str) -> Any:
        """The typed value of ``raw``, or ``InvalidQuery`` saying what was expected."""
        if self.kind == "date-time":
            return parse_timestamp(raw, self.name)
        if self.kind == "integer":
            try:
                value = int(raw)
            except ValueError:
                raise InvalidQuery(f"{self.name} must be an integer, got {raw!r}") from None
            low = self.minimum if self.minimum is not None else -(2**63)
            high = self.maximum if self.maximum is not None else 2**63 - 1
            if not low <= value <= high:
                raise InvalidQuery(f"{self.name} must be from {low} to {high}, got {value}")
            return value
        if self.enum is not None and raw not in self.enum:
            raise InvalidQuery(f"{self.name} must be one of {', '.join(self.enum)}, got {raw!r}")
        return raw


FILTERS = (
    Param("connector", "string", "Only assets of this connector."),
    Param("catalog", "string", "Only assets in this catalog (database)."),
    Param("schema", "string", "Only assets in this schema."),
    Param("type", "string", "Only assets of this type.", enum=tuple(sorted(ASSET_TYPES))),
    Param("status", "string", "Only active or only removed assets.", enum=STATUSES),
    Param("name_prefix", "string",
          "Only assets whose name starts with this text (case-sensitive; % and _ are literal)."),
    Param("discovered_after", "date-time",
          "Only assets first seen at or after this instant (ISO 8601; UTC if no offset)."),
    Param("discovered_before", "date-time", "Only assets first seen before this instant."),
)
CURSOR = Param("cursor", "string",
               "next_cursor of the previous page, with the same filters. Opaque and "
               "integrity-checked: an altered cursor, or one reused with other filters, is a 400.")
ASSET_LIST = (
    *FILTERS,
    Param("limit", "integer", "Page size.", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
    CURSOR,
    Param("fields", "string",
          "minimal: key fields; full: every field, properties and the latest change.",
          enum=FIELD_MODES, default="minimal"),
    Param("total", "string",
          "Count of all matching assets: none (fast, default), estimate (PostgreSQL planner "
          "statistics; exact on SQLite) or exact (reads every match).",
          enum=TOTAL_MODES, default="none"),
)
ASSET_DETAIL = (
    Param("history", "integer", "How many of the latest changes to include.",
          default=DEFAULT_HISTORY, minimum=0, maximum=MAX_HISTORY),
)
RUN_LIST = (
    Param("limit", "integer", "Page size.", default=20, minimum=1, maximum=MAX_RUNS),
    CURSOR,
)


def parse_query(query: QueryParams, spec: Sequence[Param]) -> dict[str, Any]:
    """Every parameter of ``spec``: parsed, or its default when absent.

    Raises:
        InvalidQuery: an unknown or repeated parameter, or a value of the wrong type or range.
    """
    known = {p.name: p for p in spec}
    for name in query:
        if name not in known:
            allowed = ", ".join(known) or "none"
            raise InvalidQuery(f"unknown parameter {name!r}; allowed: {allowed}")
        if len(query.getlist(name)) > 1:
            raise InvalidQuery(f"parameter {name!r} given more than once")
    return {name: (p.parse(query[name]) if name in query else p.default)
            for name, p in known.items()}
