"""The ``sql`` connector: databases, schemas, tables, views and columns of a SQL database.

Identity is ``database.schema.table[.column]`` in the case the database reports. Names are listed
first and filtered by the include / exclude patterns; only what is kept is described, in batches
of ``reflect_batch`` relations. Records come out in a fixed order (schemas and relations by name,
columns in the database's order), and carry nothing volatile, so an unchanged database yields the
same fingerprints on every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from fnmatch import fnmatchcase
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from asset_pipeline.connectors.base import AssetRecord, Connector, ConnectorReport, scrub
from asset_pipeline.connectors.sql.config import SqlConfig, Target, resolve_target, sqlite_path
from asset_pipeline.connectors.sql.errors import (
    driver_message,
    is_permission_error,
    is_transient,
    source_error,
)
from asset_pipeline.connectors.sql.mysql import MySQLReflector
from asset_pipeline.connectors.sql.postgres import PostgresReflector
from asset_pipeline.connectors.sql.reflect import Reflector, Relation
from asset_pipeline.connectors.sql.sqlite import SqliteReflector


T = TypeVar("T")


class SqlConnector(Connector[SqlConfig]):
    kind = "sql"
    config_model = SqlConfig
    case_policy = ("case as the database reports it (PostgreSQL folds unquoted names to lower "
                   "case); identity database.schema.table[.column]")

    def expected_count(self) -> int | None:
        """Relations + columns outside system schemas, from one catalog query; None if the
        source cannot be asked (discover then raises the real error)."""
        return self._ask(lambda reflector: reflector.expected_count())

    def change_token(self) -> str | None:
        """A digest of the scanned schemas' versions (PostgreSQL: catalog row versions;
        SQLite: schema_version; MySQL: a checksum of information_schema). It moves on DDL,
        comments and privileges, not on data or statistics; table patterns are not applied, so
        a change to an excluded table may move it too. None when the source cannot be asked."""
        def digest(reflector: Reflector) -> str | None:
            versions = reflector.schema_versions()
            kept = sorted((name, version) for name, version in versions.items()
                          if _schema_kept(name, self.config, reflector))
            return hashlib.sha1(repr(kept).encode()).hexdigest() if versions else None
        return self._ask(digest)

    def _ask(self, question: Callable[[Reflector], T]) -> T | None:
        """One short-lived connection for a cheap question; any failure answers None, since
        callers (batch sizing, the change sensor) must go on without it."""
        try:
            target = resolve_target(self.config)
            engine = _engine(target, min(self.config.connect_timeout, 3))
            try:
                with engine.connect() as conn:
                    return question(_reflector(conn, self.config, target.url))
            finally:
                engine.dispose()
        except Exception:
            return None

    def discover(self, report: ConnectorReport) -> Iterator[AssetRecord]:
        """Stream the database, its schemas, relations and columns.

        A schema or relation that cannot be read is a failure on ``report`` (the scan is then
        incomplete); one the role may not use (PostgreSQL: no USAGE) too.

        Raises:
            SourceError: the source cannot be listed (bad credentials, unknown database, missing
                driver or environment variable); TransientSourceError: it cannot be reached,
                or the connection dropped. Messages never hold the password.
        """
        target = resolve_target(self.config)
        engine = _engine(target, self.config.connect_timeout)
        try:
            try:
                conn = engine.connect()
            except Exception as exc:
                raise source_error(exc, f"cannot connect to {target.safe_url}",
                                   target.secrets) from None
            with conn:
                yield from _Scan(self.config, target, conn, report).records()
        finally:
            engine.dispose()


def _engine(target: Target, timeout: int) -> Engine:
    """An engine for one scan: one connection, no pool, a short connect timeout."""
    url = target.url
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args = {"connect_timeout": timeout, "application_name": "asset_pipeline"}
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": timeout, "read_timeout": 300}
    elif backend == "sqlite":
        # Read-only: a scan must never create or change the file. A URI: '?', '#', '%' quoted.
        url = URL.create("sqlite", database=f"file:{quote(url.database or '')}",
                         query={"mode": "ro", "uri": "true"})
        connect_args = {"timeout": timeout}
    return create_engine(url, poolclass=NullPool, connect_args=connect_args,
                         hide_parameters=True)


def _reflector(conn: Connection, config: SqlConfig, url: URL) -> Reflector:
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresReflector(conn)
    if backend == "sqlite":
        return SqliteReflector(conn, sqlite_path(url))
    return MySQLReflector(conn, config.database_name or url.database)


def _schema_kept(name: str, config: SqlConfig, reflector: Reflector) -> bool:
    return ((config.include_system_schemas or not reflector.is_system(name))
            and _matches(name, config.include_schemas, config.exclude_schemas))


def _matches(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return (any(fnmatchcase(name, p) for p in include)
            and not any(fnmatchcase(name, p) for p in exclude))


@contextmanager
def _fatal(doing: str, secrets: tuple[str, ...]) -> Iterator[None]:
    """A driver error inside means the source cannot be listed at all."""
    try:
        yield
    except DBAPIError as exc:
        raise source_error(exc, doing, secrets) from None


def _batches(items: Sequence[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class _Scan:
    """One walk over one connection: records out, per-item failures onto the report."""

    def __init__(self, config: SqlConfig, target: Target, conn: Connection,
                 report: ConnectorReport) -> None:
        self.config, self.target, self.conn, self.report = config, target, conn, report
        self.reflector = _reflector(conn, config, target.url)

    def records(self) -> Iterator[AssetRecord]:
        c = self.config
        with _fatal(f"cannot list {self.target.safe_url}", self.target.secrets):
            db = c.database_name or self.reflector.database_name()
            schemas = [s for s in self.reflector.schemas()
                       if _schema_kept(s.name, c, self.reflector)]
        yield AssetRecord(db, "database", db, db,
                          properties={"dialect": self.target.url.get_backend_name()})
        for schema in schemas:
            schema_qn = f"{db}.{schema.name}"
            yield AssetRecord(schema_qn, "schema", schema.name, db, schema.name, db)
            if not schema.readable:
                self.report.failure(schema_qn, "permission denied: the role has no USAGE "
                                               "privilege on this schema")
                continue
            yield from self._schema(db, schema.name)

    def _schema(self, db: str, schema: str) -> Iterator[AssetRecord]:
        c = self.config
        schema_qn = f"{db}.{schema}"
        try:
            listed = self.reflector.relations(schema)
        except DBAPIError as exc:
            self._item_failure(schema_qn, exc)
            return
        kept = [(name, kind) for name, kind in listed
                if _matches(f"{schema}.{name}", c.include_tables, c.exclude_tables)]
        for batch in _batches(kept, c.reflect_batch):
            for relation in self._describe(schema_qn, schema, batch):
                yield from _relation_records(db, schema, relation)

    def _describe(self, schema_qn: str, schema: str,
                  batch: list[tuple[str, str]]) -> Iterator[Relation]:
        """The batch described in bulk; on an error, relation by relation, so one unreadable
        relation (a broken view, a denied table) fails alone."""
        try:
            return iter(list(self.reflector.describe(schema, batch)))
        except DBAPIError as exc:
            if len(batch) == 1:
                self._item_failure(f"{schema_qn}.{batch[0][0]}", exc)
                return iter(())
            self._rollback(exc)
        return (r for one in batch for r in self._describe(schema_qn, schema, [one]))

    def _item_failure(self, where: str, exc: DBAPIError) -> None:
        """Report an unreadable item; a dropped connection still ends the scan."""
        self._rollback(exc)
        self.report.failure(where, scrub(driver_message(exc), self.target.secrets))

    def _rollback(self, exc: DBAPIError) -> None:
        if is_transient(exc) and not is_permission_error(exc):
            raise source_error(exc, f"lost the connection to {self.target.safe_url}",
                               self.target.secrets) from None
        # PostgreSQL refuses every statement after an error until the transaction ends.
        self.conn.rollback()

def _relation_records(db: str, schema: str, rel: Relation) -> Iterator[AssetRecord]:
    table_qn = f"{db}.{schema}.{rel.name}"
    props: dict[str, Any] = {"comment": rel.comment}
    if rel.type == "table":
        props["primary_key"] = list(rel.primary_key)
    yield AssetRecord(table_qn, rel.type, rel.name, db, schema, f"{db}.{schema}",
                      row_count=rel.row_estimate, properties=props)
    keys = set(rel.primary_key)
    for position, col in enumerate(rel.columns, start=1):
        yield AssetRecord(
            f"{table_qn}.{col.name}", "column", col.name, db, schema, table_qn,
            properties={"position": position, "data_type": col.data_type,
                        "nullable": col.nullable, "default": col.default,
                        "primary_key": col.name in keys, "comment": col.comment},
        )
