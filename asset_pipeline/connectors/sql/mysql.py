"""MySQL and MariaDB: bulk reflection from information_schema.

SQLAlchemy's MySQL dialect reflects a table by parsing its SHOW CREATE TABLE, one round trip per
table; information_schema answers a whole batch in two queries. Types are reported as MySQL
spells them (COLUMN_TYPE: 'int(11)', 'varchar(20)', "enum('a','b')").

No row estimate: InnoDB's TABLE_ROWS is a sample that can move by tens of percent between two
reads of an unchanged table, which would record changes that did not happen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, bindparam, text

from asset_pipeline.connectors.sql.reflect import ColumnInfo, Reflector, Relation, SchemaInfo

_KINDS = {"BASE TABLE": "table", "VIEW": "view", "SYSTEM VIEW": "view"}
_SYSTEM = ("mysql", "information_schema", "performance_schema", "sys")

_SCHEMAS = text("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
_RELATIONS = text(
    "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = :schema"
)
_COLUMNS = text(
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_COMMENT "
    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :schema AND TABLE_NAME IN :names "
    "ORDER BY TABLE_NAME, ORDINAL_POSITION"
).bindparams(bindparam("names", expanding=True))
_PRIMARY_KEYS = text(
    "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
    "WHERE TABLE_SCHEMA = :schema AND TABLE_NAME IN :names AND CONSTRAINT_NAME = 'PRIMARY' "
    "ORDER BY TABLE_NAME, ORDINAL_POSITION"
).bindparams(bindparam("names", expanding=True))
# A checksum of what the connector describes, per schema: information_schema has no DDL counter.
_VERSIONS = text(
    "SELECT TABLE_SCHEMA, COUNT(*), SUM(CRC32(CONCAT_WS('|', TABLE_NAME, COLUMN_NAME, "
    "ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COALESCE(COLUMN_DEFAULT, '~'), COLUMN_KEY, "
    "COLUMN_COMMENT))) FROM information_schema.COLUMNS GROUP BY TABLE_SCHEMA "
    "UNION ALL SELECT TABLE_SCHEMA, COUNT(*), SUM(CRC32(CONCAT_WS('|', TABLE_NAME, TABLE_TYPE, "
    "TABLE_COMMENT))) FROM information_schema.TABLES GROUP BY TABLE_SCHEMA"
)
_EXPECTED = text(
    "SELECT (SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN :system)"
    " + (SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN :system)"
    " + (SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA NOT IN :system)"
).bindparams(bindparam("system", expanding=True))


class MySQLReflector(Reflector):
    system_schemas = frozenset(_SYSTEM)

    def __init__(self, connection: Connection, database: str | None) -> None:
        super().__init__(connection)
        self._database = database
        self._comments: dict[str, dict[str, str | None]] = {}

    def database_name(self) -> str:
        # MySQL has no level above its databases: the config or the URL names it.
        assert self._database, "SqlConfig requires database_name or a database in a MySQL URL"
        return self._database

    def schemas(self) -> list[SchemaInfo]:
        names = self.connection.scalars(_SCHEMAS).all()
        return [SchemaInfo(str(name)) for name in sorted(names)]

    def relations(self, schema: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        comments: dict[str, str | None] = {}
        for name, kind, comment in self.connection.execute(_RELATIONS, {"schema": schema}):
            if kind not in _KINDS:
                continue  # MariaDB lists sequences here too
            found.append((name, _KINDS[kind]))
            # MySQL fills a view's comment with the word VIEW.
            comments[name] = (comment or None) if kind == "BASE TABLE" else None
        self._comments[schema] = comments
        return sorted(found)

    def describe(self, schema: str, batch: Sequence[tuple[str, str]]) -> Iterator[Relation]:
        params = {"schema": schema, "names": [name for name, _ in batch]}
        columns: dict[str, list[ColumnInfo]] = defaultdict(list)
        for table, name, type_, nullable, default, comment in self.connection.execute(
                _COLUMNS, params):
            columns[table].append(ColumnInfo(
                name=name, data_type=str(type_), nullable=nullable == "YES",
                # MariaDB spells a NULL default as the word NULL (a string default is quoted).
                default=None if default is None or default == "NULL" else str(default),
                comment=comment or None,
            ))
        keys: dict[str, list[str]] = defaultdict(list)
        for table, name in self.connection.execute(_PRIMARY_KEYS, params):
            keys[table].append(name)
        comments = self._comments.get(schema, {})
        for name, kind in batch:
            if name not in columns:
                continue  # dropped since it was listed
            yield Relation(name=name, type=kind, comment=comments.get(name),
                           primary_key=tuple(keys.get(name, ())), row_estimate=None,
                           columns=tuple(columns[name]))

    def schema_versions(self) -> dict[str, str]:
        # SCHEMATA may hide a schema that TABLES still shows (MariaDB: performance_schema).
        versions = dict.fromkeys((str(name) for name in self.connection.scalars(_SCHEMAS)), "")
        for schema, count, checksum in self.connection.execute(_VERSIONS):
            versions[str(schema)] = versions.get(str(schema), "") + f"{count}:{checksum};"
        return versions

    def expected_count(self) -> int | None:
        return int(self.connection.scalar(_EXPECTED, {"system": list(_SYSTEM)}) or 0) + 1
