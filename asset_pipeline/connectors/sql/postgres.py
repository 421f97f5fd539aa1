"""PostgreSQL additions to inspector reflection: privileges, relation kinds, row estimates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text

from asset_pipeline.connectors.sql.reflect import InspectorReflector, SchemaInfo, row_estimate

_KINDS = {"r": "table", "p": "table", "f": "table", "v": "view", "m": "materialized_view"}
_USER_SCHEMAS = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"

_SCHEMAS = text("SELECT nspname, has_schema_privilege(oid, 'USAGE') FROM pg_catalog.pg_namespace")
_RELATIONS = text(
    "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f', 'v', 'm')"
)
# reltuples is what the planner keeps (-1: never analyzed); a count(*) would read every table.
_ESTIMATES = text(
    "SELECT c.relname, c.reltuples FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = :schema AND c.relname IN :names AND c.relkind IN ('r', 'p', 'f', 'm')"
).bindparams(bindparam("names", expanding=True))
_EXPECTED = text(
    f"SELECT (SELECT count(*) FROM pg_catalog.pg_namespace n WHERE {_USER_SCHEMAS}) "
    "+ (SELECT count(*) FROM pg_catalog.pg_class c "
    "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    f"  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_USER_SCHEMAS}) "
    "+ (SELECT count(*) FROM pg_catalog.pg_attribute a "
    "   JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "   WHERE a.attnum > 0 AND NOT a.attisdropped "
    f"  AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_USER_SCHEMAS})"
)


# Every DDL statement writes new versions of the catalog rows it touches, so their xmin moves;
# VACUUM and ANALYZE update pg_class statistics in place, which leaves xmin as it was.
_VERSIONS = text("""
WITH rels AS (
    SELECT c.oid, c.relnamespace FROM pg_catalog.pg_class c
    WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
), parts AS (
    SELECT n.oid AS nsp, 'n' || n.xmin::text AS part FROM pg_catalog.pg_namespace n
    UNION ALL SELECT r.relnamespace, 'c' || c.oid || ':' || c.xmin::text
        FROM rels r JOIN pg_catalog.pg_class c ON c.oid = r.oid
    UNION ALL SELECT r.relnamespace, 'a' || a.attrelid || '.' || a.attnum || ':' || a.xmin::text
        FROM rels r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid WHERE a.attnum > 0
    UNION ALL SELECT r.relnamespace, 'd' || d.oid || ':' || d.xmin::text
        FROM rels r JOIN pg_catalog.pg_attrdef d ON d.adrelid = r.oid
    UNION ALL SELECT r.relnamespace, 'k' || k.oid || ':' || k.xmin::text
        FROM rels r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid
    UNION ALL SELECT r.relnamespace, 'm' || m.objoid || '.' || m.objsubid || ':' || m.xmin::text
        FROM rels r JOIN pg_catalog.pg_description m
        ON m.objoid = r.oid AND m.classoid = 'pg_catalog.pg_class'::regclass
)
SELECT n.nspname, md5(string_agg(p.part, ',' ORDER BY p.part))
FROM parts p JOIN pg_catalog.pg_namespace n ON n.oid = p.nsp
GROUP BY n.nspname
""")


class PostgresReflector(InspectorReflector):
    system_schemas = frozenset({"information_schema"})

    def database_name(self) -> str:
        return str(self.connection.scalar(text("SELECT current_database()")))

    def schemas(self) -> list[SchemaInfo]:
        # pg_catalog is readable by every role, so a schema the role may not USE is still
        # listed: the connector reports it instead of passing over it in silence.
        rows = self.connection.execute(_SCHEMAS).all()
        return sorted((SchemaInfo(name, bool(usage)) for name, usage in rows),
                      key=lambda s: s.name)

    def is_system(self, schema: str) -> bool:
        # pg_catalog, pg_toast, and the per-session pg_temp_N / pg_toast_temp_N.
        return schema in self.system_schemas or schema.startswith("pg_")

    def relations(self, schema: str) -> list[tuple[str, str]]:
        rows = self.connection.execute(_RELATIONS, {"schema": schema}).all()
        return sorted((name, _KINDS[kind]) for name, kind in rows)

    def row_estimates(self, schema: str, names: Sequence[str]) -> dict[str, int | None]:
        rows = self.connection.execute(_ESTIMATES, {"schema": schema, "names": list(names)})
        return {name: row_estimate(tuples) for name, tuples in rows}

    def expected_count(self) -> int | None:
        return int(self.connection.scalar(_EXPECTED) or 0) + 1

    def schema_versions(self) -> dict[str, str]:
        return {str(name): str(digest) for name, digest in self.connection.execute(_VERSIONS)}
