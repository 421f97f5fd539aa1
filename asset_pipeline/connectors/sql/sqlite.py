"""SQLite additions to inspector reflection: the database's name and sqlite_stat1 estimates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, text

from asset_pipeline.connectors.sql.reflect import InspectorReflector, row_estimate


class SqliteReflector(InspectorReflector):
    """``main`` and any attached database are the schemas. The inspector already leaves out
    ``temp`` and the internal ``sqlite_*`` tables.

    Column reflection is a PRAGMA per table; in SQLite that is a function call inside this
    process, not a round trip, so the inspector's per-table fallback is cheap here.
    """

    def __init__(self, connection: Connection, path: Path) -> None:
        super().__init__(connection)
        self.path = path
        self._stats: dict[str, dict[str, int | None]] = {}

    def database_name(self) -> str:
        # Every SQLite database calls itself "main"; the file's stem tells connectors apart.
        return self.path.stem

    def row_estimates(self, schema: str, names: Sequence[str]) -> dict[str, int | None]:
        if schema not in self._stats:
            self._stats[schema] = self._read_stat1(schema)
        stats = self._stats[schema]
        return {name: stats[name] for name in names if name in stats}

    def _read_stat1(self, schema: str) -> dict[str, int | None]:
        """Row counts ANALYZE left in sqlite_stat1 (first number of each row), if it ran."""
        quoted = schema.replace('"', '""')
        exists = self.connection.scalar(
            text(f'SELECT count(*) FROM "{quoted}".sqlite_master '
                 "WHERE type = 'table' AND name = 'sqlite_stat1'"))
        if not exists:
            return {}
        counts: dict[str, int] = {}
        for table, stat in self.connection.execute(
                text(f'SELECT tbl, stat FROM "{quoted}".sqlite_stat1')):
            head = str(stat or "").split(" ", 1)[0]
            if head.isdigit():
                counts[table] = max(counts.get(table, 0), int(head))
        return {table: row_estimate(n) for table, n in counts.items()}

    def schema_versions(self) -> dict[str, str]:
        # SQLite bumps schema_version on every schema change, in each database file.
        versions = {}
        for schema in self.inspector.get_schema_names():
            quoted = schema.replace('"', '""')
            versions[schema] = str(self.connection.exec_driver_sql(
                f'PRAGMA "{quoted}".schema_version').scalar())
        return versions

    def expected_count(self) -> int | None:
        count = self.connection.scalar(text(
            "SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) "
            "WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"))
        relations = self.connection.scalar(text(
            "SELECT count(*) FROM sqlite_master "
            "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"))
        return int(count or 0) + int(relations or 0) + 2
