"""The sql connector against real PostgreSQL, SQLite and MariaDB databases.

Golden trees, filters applied before reflection, bulk reflection, unreadable schemas, secrets that
never leak, failures that fail fast, and changes recorded by the real job. Every source database
is created here (PostgreSQL through an AUTOCOMMIT admin engine) and dropped afterwards; the
catalog database of the ``pipeline`` fixture is a separate one.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from asset_pipeline.connectors.base import (
    AssetRecord,
    ConnectorReport,
    SourceError,
    TransientSourceError,
)
from asset_pipeline.connectors.registry import ConnectorConfigError, build_connector
from asset_pipeline.connectors.base import scrub
from asset_pipeline.connectors.sql.reflect import row_estimate

from .conftest import PG_ADMIN_URL, Pipeline, failure_message

PASSWORD_ENV = "AP_TEST_SQL_PASSWORD"
MYSQL_ADMIN_URL = os.environ.get(
    "ASSET_PIPELINE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/"
)


def scan(config: dict[str, Any]) -> tuple[list[AssetRecord], ConnectorReport]:
    report = ConnectorReport()
    return list(build_connector("src", "sql", config).discover(report)), report


def tree(records: list[AssetRecord], db: str) -> list[tuple[Any, ...]]:
    """Records as (qualified_name, type, row_count, properties), the database name as DB."""
    for r in records:
        assert r.catalog == db and r.name == r.qualified_name.rsplit(".", 1)[-1]
        assert r.parent == (r.qualified_name.rsplit(".", 1)[0] if r.parent else None)
    return [(r.qualified_name.replace(db, "DB"), r.type, r.row_count, r.properties)
            for r in records]


def col(position: int, data_type: str, nullable: bool = True, default: str | None = None,
        primary_key: bool = False, comment: str | None = None) -> dict[str, Any]:
    return {"position": position, "data_type": data_type, "nullable": nullable,
            "default": default, "primary_key": primary_key, "comment": comment}


# --- PostgreSQL sources ------------------------------------------------------------------------

class PgSource:
    """A fresh PostgreSQL database to scan, and an AUTOCOMMIT engine to shape it with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.admin_url = make_url(PG_ADMIN_URL).set(database=name)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def sql(self, statements: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(statements)

    def config(self, user: str | None = None, **extra: Any) -> dict[str, Any]:
        """A connector config for this database; the URL never carries the password."""
        url: URL = self.admin_url.set(drivername="postgresql", password=None)
        if user is not None:
            url = url.set(username=user)
        config: dict[str, Any] = {"url": url.render_as_string(hide_password=False), **extra}
        if user is None and self.admin_url.password:
            config["password_env"] = "AP_TEST_PG_ADMIN_PASSWORD"
        return config


@pytest.fixture
def pg_source(pg_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[PgSource]:
    name = f"ap_src_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    source = PgSource(name)
    if source.admin_url.password:
        monkeypatch.setenv("AP_TEST_PG_ADMIN_PASSWORD", source.admin_url.password)
    try:
        yield source
    finally:
        source.engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_role(pg_source: PgSource) -> Iterator[tuple[str, str]]:
    """A login role with a planted password (the local server trusts it, so any password
    connects, but the value still travels through the connector)."""
    role = f"ap_reader_{uuid.uuid4().hex[:8]}"
    password = f"planted-{uuid.uuid4().hex}-S3cr3t"
    pg_source.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        yield role, password
    finally:
        pg_source.sql(f"DROP OWNED BY {role}")  # its grants in the source database
        pg_source.sql(f"DROP ROLE {role}")


SALES = """
CREATE SCHEMA sales;
CREATE TABLE sales.orders (
    id bigserial PRIMARY KEY,
    customer_id integer NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'new',
    total numeric(12, 2)
);
COMMENT ON TABLE sales.orders IS 'One row per order';
COMMENT ON COLUMN sales.orders.status IS 'Order state';
CREATE TABLE sales.customers (id integer PRIMARY KEY, name text NOT NULL);
CREATE VIEW sales.open_orders AS SELECT id, total FROM sales.orders WHERE status <> 'done';
CREATE MATERIALIZED VIEW sales.order_totals AS
    SELECT customer_id, sum(total) AS total FROM sales.orders GROUP BY customer_id;
CREATE SCHEMA "Audit";
CREATE TABLE "Audit"."EventLog" ("EventId" integer, "Payload" jsonb, at timestamptz DEFAULT now());
INSERT INTO sales.orders (customer_id, total) VALUES (1, 10), (2, 20), (1, 5);
REFRESH MATERIALIZED VIEW sales.order_totals;
ANALYZE;
"""

SALES_GOLDEN = [
    ("DB", "database", None, {"dialect": "postgresql"}),
    ("DB.Audit", "schema", None, None),
    ("DB.Audit.EventLog", "table", 0, {"comment": None, "primary_key": []}),
    ("DB.Audit.EventLog.EventId", "column", None, col(1, "INTEGER")),
    ("DB.Audit.EventLog.Payload", "column", None, col(2, "JSONB")),
    ("DB.Audit.EventLog.at", "column", None, col(3, "TIMESTAMP WITH TIME ZONE", default="now()")),
    ("DB.public", "schema", None, None),
    ("DB.sales", "schema", None, None),
    ("DB.sales.customers", "table", 0, {"comment": None, "primary_key": ["id"]}),
    ("DB.sales.customers.id", "column", None, col(1, "INTEGER", False, primary_key=True)),
    ("DB.sales.customers.name", "column", None, col(2, "TEXT", False)),
    ("DB.sales.open_orders", "view", None, {"comment": None}),
    ("DB.sales.open_orders.id", "column", None, col(1, "BIGINT")),
    ("DB.sales.open_orders.total", "column", None, col(2, "NUMERIC(12, 2)")),
    ("DB.sales.order_totals", "materialized_view", 2, {"comment": None}),
    ("DB.sales.order_totals.customer_id", "column", None, col(1, "INTEGER")),
    ("DB.sales.order_totals.total", "column", None, col(2, "NUMERIC")),
    ("DB.sales.orders", "table", 3, {"comment": "One row per order", "primary_key": ["id"]}),
    ("DB.sales.orders.id", "column", None,
     col(1, "BIGINT", False, "nextval('sales.orders_id_seq'::regclass)", primary_key=True)),
    ("DB.sales.orders.customer_id", "column", None, col(2, "INTEGER", False)),
    ("DB.sales.orders.status", "column", None,
     col(3, "VARCHAR(20)", False, "'new'::character varying", comment="Order state")),
    ("DB.sales.orders.total", "column", None, col(4, "NUMERIC(12, 2)")),
]


def test_postgres_tree_matches_golden(pg_source: PgSource) -> None:
    pg_source.sql(SALES)
    records, report = scan(pg_source.config())
    assert tree(records, pg_source.name) == SALES_GOLDEN  # no information_schema, no pg_*
    assert report.complete and report.skipped == 0
    assert records[0].name == pg_source.name
    assert build_connector("src", "sql", pg_source.config()).expected_count() == len(records)

    again, _ = scan(pg_source.config(reflect_batch=1))  # batching changes nothing
    assert again == records

    system, _ = scan(pg_source.config(include_system_schemas=True,
                                      include_schemas=["information_schema"]))
    assert {r.schema for r in system[1:]} == {"information_schema"}
    assert any(r.qualified_name.endswith("information_schema.columns") for r in system)


class Statements:
    """Every statement and parameter set sent to any database while active."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        event.listen(Engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        self.seen.append(f"{statement} {parameters!r}")


def test_reflection_is_bulk_and_filters_apply_before_it(pg_source: PgSource) -> None:
    tables = "".join(f"CREATE TABLE wide.t{i:03d} (a int, b text);" for i in range(60))
    pg_source.sql("CREATE SCHEMA wide; CREATE SCHEMA skipped; CREATE TABLE skipped.hidden (x int);"
                  + tables + "CREATE TABLE wide.zz_tmp_secret_name (x int);")
    config = pg_source.config(exclude_schemas=["skipped", "public"],
                              exclude_tables=["*.zz_tmp_*"])
    with Statements() as few:
        small, _ = scan({**config, "include_tables": ["wide.t00*"]})
    with Statements() as many:
        big, report = scan(config)
    assert len(small) == 2 + 10 * 3 and len(big) == 2 + 60 * 3 and report.complete
    # Same number of queries for 10 tables and for 60: nothing is asked per table.
    assert len(many.seen) == len(few.seen) < 30
    # Excluded names are never described: no query mentions them.
    assert not [s for s in many.seen if "zz_tmp_secret_name" in s or "hidden" in s]
    assert {r.schema for r in big[1:]} == {"wide"}

    with Statements() as batched:
        assert scan({**config, "reflect_batch": 25})[0] == big
    assert len(batched.seen) > len(many.seen)  # three batches instead of one


def test_unreadable_schema_is_reported_and_nothing_is_removed(
    pipeline: Pipeline, pg_source: PgSource, pg_role: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role, password = pg_role
    pg_source.sql(f"""
        CREATE SCHEMA open; CREATE TABLE open.visible (id int);
        CREATE SCHEMA secret; CREATE TABLE secret.hidden (id int);
        GRANT USAGE ON SCHEMA open TO {role};""")
    monkeypatch.setenv(PASSWORD_ENV, password)
    limited = pg_source.config(user=role, password_env=PASSWORD_ENV)

    records, report = scan(limited)
    assert not report.complete and report.failures == 1
    denied = "permission denied: the role has no USAGE privilege on this schema"
    assert report.failure_samples == [f"{pg_source.name}.secret: {denied}"]
    names = {r.qualified_name.split(".", 1)[-1] for r in records}
    assert {"open.visible", "secret", "public"} <= names and "secret.hidden" not in names

    pipeline.add("src", "sql", pg_source.config())  # the owner sees everything
    assert pipeline.run("src").output_for_node("bulk_load").new == 8
    pipeline.add("src", "sql", limited)
    out = pipeline.run("src").output_for_node("bulk_load")
    assert not out.complete and out.removed == 0
    statuses = {r[0].split(".", 1)[-1]: r[-1] for r in pipeline.catalog("src")}
    assert statuses["secret.hidden"] == statuses["secret.hidden.id"] == "active"


@pytest.mark.parametrize("catalog_url", ["sqlite", "postgresql"], indirect=True)
def test_change_and_removal_are_recorded_in_data_discovery(
    pipeline: Pipeline, pg_source: PgSource
) -> None:
    pg_source.sql(SALES)
    pipeline.add("src", "sql", pg_source.config())
    first = pipeline.run("src").output_for_node("bulk_load")
    assert first.new == len(SALES_GOLDEN) and first.complete
    again = pipeline.run("src").output_for_node("bulk_load")  # stable fingerprints: no churn
    assert (again.new, again.changed, again.removed) == (0, 0, 0)

    # Changes that rewrite no table: a rewrite (e.g. most ALTER ... TYPE) resets PostgreSQL's
    # row estimate to unknown, which would record the table itself as changed too.
    pg_source.sql("""
        ALTER TABLE sales.customers ADD COLUMN email text;
        ALTER TABLE sales.customers ALTER COLUMN name DROP NOT NULL,
                                    ALTER COLUMN name SET DEFAULT 'anonymous';
        DROP MATERIALIZED VIEW sales.order_totals;""")
    out = pipeline.run("src").output_for_node("bulk_load")
    assert (out.new, out.changed, out.removed) == (1, 1, 3)
    db = pg_source.name
    history = [(qn.replace(db, "DB", 1), status) for qn, status in pipeline.history("src")]
    assert sorted(h for h in history if h[1] != "new" or h[0].endswith("email")) == [
        ("DB.sales.customers.email", "new"),
        ("DB.sales.customers.name", "changed"),
        ("DB.sales.order_totals", "removed"),
        ("DB.sales.order_totals.customer_id", "removed"),
        ("DB.sales.order_totals.total", "removed"),
    ]
    name = next(r for r in pipeline.catalog("src") if r[0] == f"{db}.sales.customers.name")
    assert json.loads(name[8]) == col(2, "TEXT", True, "'anonymous'::text")


def test_change_token_moves_with_ddl_not_with_data(pg_source: PgSource, shop_db: Path) -> None:
    pg_source.sql(SALES)
    connector = build_connector("src", "sql", pg_source.config(exclude_schemas=["Audit"]))
    token = connector.change_token()
    assert token is not None and connector.change_token() == token
    pg_source.sql("INSERT INTO sales.orders (customer_id) VALUES (3); ANALYZE")
    pg_source.sql("VACUUM sales.orders")
    pg_source.sql('ALTER TABLE "Audit"."EventLog" ADD COLUMN note text')  # an excluded schema
    assert connector.change_token() == token
    pg_source.sql("COMMENT ON COLUMN sales.customers.name IS 'full name'")
    commented = connector.change_token()
    assert commented not in (None, token)
    pg_source.sql("ALTER TABLE sales.customers ALTER COLUMN name SET DEFAULT 'x'")
    assert connector.change_token() not in (None, token, commented)

    lite = build_connector("s", "sql", {"url": f"sqlite:///{shop_db}"})
    before = lite.change_token()
    with sqlite3.connect(shop_db) as conn:
        conn.execute("INSERT INTO customers (name) VALUES ('c')")
    conn.close()
    assert lite.change_token() == before
    with sqlite3.connect(shop_db) as conn:
        conn.execute("CREATE TABLE added (x INTEGER)")
    conn.close()
    assert lite.change_token() not in (None, before)
    assert build_connector("u", "sql", {"url": "postgresql://u@127.0.0.1:1/x"}).change_token() is None


# --- secrets and failures ----------------------------------------------------------------------

def test_config_is_validated_at_add_and_never_holds_a_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def rejected(config: dict[str, Any]) -> str:
        with pytest.raises(ConnectorConfigError) as err:
            build_connector("src", "sql", config)
        return str(err.value)

    message = rejected({"url": "postgresql://u:hunter2-planted@db/sales"})
    assert "url must not contain a password" in message and "password_env" in message
    assert "hunter2-planted" not in message
    assert "password" in rejected({"url": "postgresql://u@db/sales?password=hunter2"})
    assert "unsupported database 'oracle'" in rejected({"url": "oracle://u@db/x"})
    assert "exactly one of url" in rejected({})
    assert "name of an environment variable" in rejected(
        {"url": "postgresql://u@db/x", "password_env": "hunter2 planted!"})
    assert "does not exist" in rejected({"url": f"sqlite:///{tmp_path}/missing.db"})
    assert "must be absolute" in rejected({"url": "sqlite:///relative.db"})
    assert "database_name" in rejected({"url": "mysql://u@db"})

    monkeypatch.setitem(sys.modules, "pymysql", None)  # as if the extra were not installed
    assert "install asset_pipeline[mysql]" in rejected({"url": "mysql://u@db/shop"})


def test_missing_driver_or_variable_fails_the_run_at_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)
    pipeline.add("my", "sql", {"url": "mysql://u@127.0.0.1/shop"})  # stored without validation
    assert "install asset_pipeline[mysql]" in failure_message(pipeline.run("my", False))

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    pipeline.add("pg", "sql", {"url": "postgresql://u@127.0.0.1/x", "password_env": PASSWORD_ENV})
    message = failure_message(pipeline.run("pg", False))
    assert f"environment variable {PASSWORD_ENV} (password_env) is not set" in message


def test_unreachable_host_fails_fast_as_transient() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed_port = free.getsockname()[1]  # nothing listens once closed
    started = time.perf_counter()
    with pytest.raises(TransientSourceError) as refused:
        scan({"url": f"postgresql://u@127.0.0.1:{closed_port}/x"})
    assert f"cannot connect to postgresql+psycopg2://u@127.0.0.1:{closed_port}/x" in str(
        refused.value)
    assert "Connection refused" in str(refused.value)

    with socket.socket() as silent:  # accepts TCP, never answers: only the timeout ends it
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(TransientSourceError) as timeout:
            scan({"url": f"postgresql://u@127.0.0.1:{port}/x", "connect_timeout": 2})
    assert "timeout expired" in str(timeout.value)
    assert time.perf_counter() - started < 8


def test_scrub_removes_raw_and_url_encoded_secrets() -> None:
    text_ = "auth failed for p@ss w0rd (dsn password=p%40ss+w0rd, p%40ss%20w0rd)"
    assert scrub(text_, ["p@ss w0rd"]) == "auth failed for *** (dsn password=***, ***)"


def test_planted_password_appears_nowhere(
    pipeline: Pipeline, pg_source: PgSource, pg_role: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role, password = pg_role
    pg_source.sql(f"CREATE SCHEMA app; CREATE TABLE app.t (id int); "
                  f"GRANT USAGE ON SCHEMA app TO {role};")
    monkeypatch.setenv(PASSWORD_ENV, password)
    good = pg_source.config(user=role, password_env=PASSWORD_ENV)
    pipeline.add("ok", "sql", good)
    ok = pipeline.run("ok")
    assert ok.output_for_node("bulk_load").new == 5
    # A permanent failure (unknown database), and the whole URL in a variable.
    bad_url = make_url(good["url"]).set(database="no_such_db", password=password)
    monkeypatch.setenv("AP_TEST_SQL_URL", bad_url.render_as_string(hide_password=False))
    pipeline.add("bad", "sql", {"url_env": "AP_TEST_SQL_URL"})
    bad = pipeline.run("bad", expect_success=False)
    message = failure_message(bad)
    assert 'database "no_such_db" does not exist' in message and ":***@" in message

    with pytest.raises(SourceError) as direct:
        scan({"url_env": "AP_TEST_SQL_URL"})
    places = {"exception": str(direct.value), "failure": message}
    places.update(pipeline.written_text((ok, bad)))
    assert "materialization" in places[f"logs {ok.run_id}"].lower()
    assert places["catalog connectors"].count(PASSWORD_ENV) == 1
    leaks = [where for where, text_ in places.items() if password in text_]
    assert leaks == []


# --- SQLite --------------------------------------------------------------------------------------

SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    status VARCHAR(20) NOT NULL DEFAULT 'new',
    total NUMERIC(12, 2)
);
CREATE VIEW open_orders AS SELECT id, total FROM orders WHERE status <> 'done';
INSERT INTO customers (name) VALUES ('a'), ('b');
INSERT INTO orders (customer_id, total) VALUES (1, 10), (2, 20), (1, 5);
ANALYZE;
"""

SHOP_GOLDEN = [
    ("DB", "database", None, {"dialect": "sqlite"}),
    ("DB.main", "schema", None, None),
    ("DB.main.customers", "table", 2, {"comment": None, "primary_key": ["id"]}),
    ("DB.main.customers.id", "column", None, col(1, "INTEGER", primary_key=True)),
    ("DB.main.customers.name", "column", None, col(2, "TEXT", False)),
    ("DB.main.open_orders", "view", None, {"comment": None}),
    ("DB.main.open_orders.id", "column", None, col(1, "INTEGER")),
    ("DB.main.open_orders.total", "column", None, col(2, "NUMERIC(12, 2)")),
    ("DB.main.orders", "table", 3, {"comment": None, "primary_key": ["id"]}),
    ("DB.main.orders.id", "column", None, col(1, "INTEGER", primary_key=True)),
    ("DB.main.orders.customer_id", "column", None, col(2, "INTEGER", False)),
    ("DB.main.orders.status", "column", None, col(3, "VARCHAR(20)", False, "'new'")),
    ("DB.main.orders.total", "column", None, col(4, "NUMERIC(12, 2)")),
]


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SHOP)
    conn.close()
    return path


def test_sqlite_tree_matches_golden_and_file_is_untouched(shop_db: Path) -> None:
    before = shop_db.read_bytes()
    records, report = scan({"url": f"sqlite:///{shop_db}"})
    assert tree(records, "shop") == SHOP_GOLDEN  # no sqlite_stat1, sqlite_sequence
    assert report.complete
    assert shop_db.read_bytes() == before
    named, _ = scan({"url": f"sqlite:///{shop_db}", "database_name": "Shop"})
    assert named[2].qualified_name == "Shop.main.customers"
    assert build_connector("s", "sql", {"url": f"sqlite:///{shop_db}"}).expected_count() == 13


def test_sqlite_broken_view_fails_alone_unless_excluded(shop_db: Path) -> None:
    with sqlite3.connect(shop_db) as conn:
        conn.executescript("CREATE TABLE gone (x INTEGER); CREATE VIEW broken AS SELECT x FROM "
                           "gone; DROP TABLE gone;")
    conn.close()
    records, report = scan({"url": f"sqlite:///{shop_db}"})
    assert report.failures == 1 and "shop.main.broken" in report.failure_samples[0]
    assert tree(records, "shop") == SHOP_GOLDEN  # every other relation is still described
    records, report = scan({"url": f"sqlite:///{shop_db}", "exclude_tables": ["main.broken"]})
    assert report.complete and tree(records, "shop") == SHOP_GOLDEN


# --- MariaDB / MySQL -----------------------------------------------------------------------------

@pytest.fixture
def mysql_source() -> Iterator[tuple[str, str, str]]:
    """(database, user, planted password) on the local MariaDB."""
    name = f"ap_src_{uuid.uuid4().hex[:10]}"
    user, password = f"ap_r_{uuid.uuid4().hex[:8]}", f"planted-{uuid.uuid4().hex}"
    admin = create_engine(MYSQL_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in (
                f"CREATE DATABASE {name}",
                (f"CREATE TABLE {name}.orders (id INT PRIMARY KEY AUTO_INCREMENT, "
                 "status VARCHAR(20) NOT NULL DEFAULT 'new' COMMENT 'state', note TEXT) "
                 "COMMENT='all orders'"),
                f"CREATE VIEW {name}.open_orders AS SELECT id FROM {name}.orders",
                f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
                f"GRANT SELECT, SHOW VIEW ON {name}.* TO '{user}'@'127.0.0.1'",
            ):
                conn.exec_driver_sql(statement)
    except Exception as exc:  # pragma: no cover - environment problem, reported loudly
        pytest.fail(f"MariaDB is not usable at {MYSQL_ADMIN_URL}: {exc}")
    try:
        yield name, user, password
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")
        admin.dispose()


def test_mariadb_tree_and_wrong_password(
    mysql_source: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, user, password = mysql_source
    config = {"url": f"mysql://{user}@127.0.0.1:3306/{name}", "password_env": PASSWORD_ENV}
    monkeypatch.setenv(PASSWORD_ENV, password)
    records, report = scan(config)
    assert report.complete
    assert tree(records, name) == [
        ("DB", "database", None, {"dialect": "mysql"}),
        ("DB.DB", "schema", None, None),  # MySQL's databases are the schemas
        ("DB.DB.open_orders", "view", None, {"comment": None}),
        ("DB.DB.open_orders.id", "column", None, col(1, "int(11)", False, "0")),
        ("DB.DB.orders", "table", None, {"comment": "all orders", "primary_key": ["id"]}),
        ("DB.DB.orders.id", "column", None, col(1, "int(11)", False, primary_key=True)),
        ("DB.DB.orders.status", "column", None,
         col(2, "varchar(20)", False, "'new'", comment="state")),
        ("DB.DB.orders.note", "column", None, col(3, "text")),
    ]

    connector = build_connector("my", "sql", config)
    token = connector.change_token()
    assert token is not None and connector.change_token() == token
    admin = create_engine(MYSQL_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {name}.orders ADD COLUMN shipped DATE")
    admin.dispose()
    assert connector.change_token() not in (None, token)

    monkeypatch.setenv(PASSWORD_ENV, "wrong-" + password)
    started = time.perf_counter()
    with pytest.raises(SourceError) as denied:
        scan(config)
    assert type(denied.value) is SourceError  # permanent: retrying cannot fix a password
    assert "Access denied" in str(denied.value) and password not in str(denied.value)
    assert time.perf_counter() - started < 5


def test_row_estimates_keep_two_significant_figures() -> None:
    assert [row_estimate(v) for v in (-1, 0, 7, 99, 123, 1_049, 1_051, 987_654)] == [
        None, 0, 7, 99, 120, 1_000, 1_100, 990_000]
