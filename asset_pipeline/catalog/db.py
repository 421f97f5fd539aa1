"""Catalog database: URL resolution, engine creation and schema migration (Alembic)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DATABASE_URL_ENV = "ASSET_PIPELINE_DATABASE_URL"
HOME_ENV = "ASSET_PIPELINE_HOME"

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def default_home() -> Path:
    """Folder of the embedded catalog: ``$ASSET_PIPELINE_HOME`` or ``./.asset_pipeline``."""
    return Path(os.environ.get(HOME_ENV) or Path.cwd() / ".asset_pipeline").resolve()


def resolve_url(url: str | None = None) -> URL:
    """The catalog URL: ``url``, else ``$ASSET_PIPELINE_DATABASE_URL``, else embedded SQLite.

    ``postgresql://`` and ``postgres://`` are mapped to the psycopg2 driver, which the bulk paths
    (COPY) use.
    """
    raw = url or os.environ.get(DATABASE_URL_ENV)
    if not raw:
        home = default_home()
        home.mkdir(parents=True, exist_ok=True)
        return make_url(f"sqlite:///{home / 'catalog.db'}")
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    parsed = make_url(raw)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise ValueError(
            f"unsupported catalog database {parsed.get_backend_name()!r}: use postgresql or sqlite"
        )
    return parsed


def safe_url(url: URL) -> str:
    """The URL with its password hidden, for logs and messages."""
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def make_engine(
    url: URL,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout: float = 30.0,
    connect_timeout: int = 10,
) -> Engine:
    """An engine for the catalog. SQLite gets WAL and a busy timeout; PostgreSQL a sized pool."""
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout, "application_name": "asset_pipeline"},
    )


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the catalog schema to ``revision`` (once per process and URL for head)."""
    key = engine.url.render_as_string(hide_password=False)
    if revision == "head" and key in _migrated:
        return
    with _migrate_lock, engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    if revision == "head":
        _migrated.add(key)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the catalog schema to ``revision`` (used by migration tests)."""
    key = engine.url.render_as_string(hide_password=False)
    _migrated.discard(key)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def watch_slow_queries(
    engine: Engine, threshold_seconds: float, on_slow: Callable[[float, str], None]
) -> None:
    """Call ``on_slow(seconds, statement)`` for every statement slower than the threshold."""

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        elapsed = time.perf_counter() - conn.info["query_started"].pop()
        if elapsed >= threshold_seconds:
            on_slow(elapsed, " ".join(statement.split())[:300])
