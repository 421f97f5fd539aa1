"""Bulk reflection: what a ``sql`` source holds, a schema and a batch of tables at a time.

A :class:`Reflector` lists names cheaply (schemas, then the relations of one schema), lets the
connector filter them, and only then describes the chosen relations in batches: columns, primary
keys and comments for a whole batch in a few catalog queries, never one round trip per table.
:class:`InspectorReflector` does this with SQLAlchemy 2's multi-object inspector methods; dialect
modules add what the inspector lacks (row estimates, schema privileges, bulk MySQL queries).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.engine.reflection import Inspector, ObjectKind
from sqlalchemy.exc import SAWarning
from sqlalchemy.types import NullType, TypeEngine


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    data_type: str
    nullable: bool
    default: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class Relation:
    """A table, view or materialized view and its columns, in the database's column order."""

    name: str
    type: str  # an asset type: table, view or materialized_view
    comment: str | None
    primary_key: tuple[str, ...]
    row_estimate: int | None
    columns: tuple[ColumnInfo, ...]


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    name: str
    readable: bool = True  # False: the role may not use the schema (PostgreSQL USAGE)


def row_estimate(value: float | None) -> int | None:
    """A statistics row count rounded to two significant figures; None when unknown (< 0).

    Statistics move with every ANALYZE and autovacuum; the estimate is fingerprinted, so the
    raw value would record a change for every busy table on every run. Two significant figures
    keep what a reader needs (about how big) and move only when the table really grows.
    """
    if value is None or value < 0:
        return None
    n = round(value)
    if n < 100:
        return n
    return int(round(n, 2 - len(str(n))))


def type_name(type_: TypeEngine[object], connection: Connection) -> str:
    """The column type as DDL text for the source's dialect ('VARCHAR(20)', 'NUMERIC(12, 2)')."""
    if isinstance(type_, NullType):
        return "unknown"
    try:
        return str(type_.compile(dialect=connection.dialect))
    except Exception:  # a type without DDL for this dialect: its class name still says a lot
        return type(type_).__name__


class Reflector:
    """Lists and describes what one connection can see. Subclasses per dialect family."""

    #: Schemas hidden unless the config includes system schemas.
    system_schemas: frozenset[str] = frozenset()

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def database_name(self) -> str:
        """The database-level asset's default name."""
        raise NotImplementedError

    def schemas(self) -> list[SchemaInfo]:
        """Every schema the connection can see, system ones included, sorted by name."""
        raise NotImplementedError

    def is_system(self, schema: str) -> bool:
        return schema in self.system_schemas

    def relations(self, schema: str) -> list[tuple[str, str]]:
        """(name, asset type) of the schema's tables, views and materialized views, by name."""
        raise NotImplementedError

    def describe(self, schema: str, batch: Sequence[tuple[str, str]]) -> Iterator[Relation]:
        """Describe ``batch`` (from :meth:`relations`) in bulk. A relation that vanished since
        it was listed is left out."""
        raise NotImplementedError

    def expected_count(self) -> int | None:
        """A cheap estimate of relations + columns outside system schemas, or None."""
        return None

    def schema_versions(self) -> dict[str, str]:
        """Schema name -> a value that moves when the schema's described objects change
        (DDL, comments, privileges) and not when only data or statistics do. Far cheaper than
        describing the schema; empty when the dialect cannot tell."""
        return {}


class InspectorReflector(Reflector):
    """Reflection through SQLAlchemy's inspector: get_multi_columns / _pk_constraint /
    _table_comment over a batch of names (``filter_names``), one schema at a time."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.inspector: Inspector = inspect(connection)

    def schemas(self) -> list[SchemaInfo]:
        return [SchemaInfo(name) for name in sorted(self.inspector.get_schema_names())]

    def relations(self, schema: str) -> list[tuple[str, str]]:
        insp = self.inspector
        found: dict[str, str] = {}
        listings = (("table", insp.get_table_names), ("view", insp.get_view_names),
                    ("materialized_view", insp.get_materialized_view_names))
        for kind, names in listings:
            try:
                found.update((name, kind) for name in names(schema))
            except NotImplementedError:  # e.g. no materialized views in this dialect
                pass
        return sorted(found.items())

    def row_estimates(self, schema: str, names: Sequence[str]) -> dict[str, int | None]:
        """Statistics row counts by relation name; none unless the dialect keeps them cheaply."""
        return {}

    def describe(self, schema: str, batch: Sequence[tuple[str, str]]) -> Iterator[Relation]:
        insp = self.inspector
        names = [name for name, _ in batch]
        with warnings.catch_warnings():
            # e.g. "Did not recognize type": the column is still reported, as 'unknown'.
            warnings.simplefilter("ignore", SAWarning)
            columns = _by_name(insp.get_multi_columns(schema, filter_names=names,
                                                      kind=ObjectKind.ANY))
            keys = _by_name(insp.get_multi_pk_constraint(schema, filter_names=names,
                                                         kind=ObjectKind.ANY))
            comments = (
                _by_name(insp.get_multi_table_comment(schema, filter_names=names,
                                                      kind=ObjectKind.ANY))
                if self.connection.dialect.supports_comments else {}
            )
        estimates = self.row_estimates(schema, names)
        # The inspector caches every answer; a scan never asks twice, so keep memory flat.
        insp.clear_cache()
        for name, kind in batch:
            cols = columns.get(name)
            if cols is None:
                continue  # dropped since it was listed
            pk = tuple((keys.get(name) or {}).get("constrained_columns") or ())
            yield Relation(
                name=name, type=kind, comment=(comments.get(name) or {}).get("text"),
                primary_key=pk, row_estimate=estimates.get(name) if kind != "view" else None,
                columns=tuple(
                    ColumnInfo(
                        name=c["name"], data_type=type_name(c["type"], self.connection),
                        nullable=bool(c["nullable"]), default=_text(c.get("default")),
                        comment=_text(c.get("comment")),
                    )
                    for c in cols
                ),
            )


def _by_name(reflected: Mapping[tuple[str | None, str], Any]) -> dict[str, Any]:
    return {table: value for (_, table), value in reflected.items()}


def _text(value: object) -> str | None:
    return None if value is None else str(value)
