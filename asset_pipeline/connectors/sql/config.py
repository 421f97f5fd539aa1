"""Config of the ``sql`` connector and the URL rules it enforces.

The catalog stores a connector's config as given, so the config never holds a secret: a URL
without its password plus the *name* of the environment variable that holds it, or the name of a
variable that holds the whole URL. Variables are read when a scan starts (:func:`resolve_target`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from asset_pipeline.connectors.base import ConnectorConfig, SourceError

#: Backends the connector supports -> the driver a bare ``backend://`` URL gets.
DEFAULT_DRIVERS = {"postgresql": "psycopg2", "sqlite": "pysqlite", "mysql": "pymysql",
                   "mariadb": "pymysql"}
#: How to get a missing driver, by its DBAPI module.
DRIVER_HINTS = {"pymysql": "install asset_pipeline[mysql]",
                "psycopg2": "install psycopg2-binary"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd"})


class SqlConfig(ConnectorConfig):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL of the source, without a password: "
        "postgresql://reader@db:5432/sales, mysql://reader@db/shop, sqlite:////srv/app.db "
        "(absolute path). postgresql:// uses psycopg2, mysql:// and mariadb:// use PyMySQL.",
    )
    password_env: str | None = Field(
        None,
        description="Name of the environment variable that holds the password for url. Read when "
        "a scan starts; the password itself is never stored.",
    )
    url_env: str | None = Field(
        None,
        description="Name of an environment variable holding the whole URL (password included), "
        "instead of url.",
    )
    database_name: str | None = Field(
        None,
        description="Name of the database-level asset. Default: the database PostgreSQL reports, "
        "the SQLite file's stem, the database named in a MySQL URL.",
    )
    include_schemas: list[str] = Field(
        ["*"], description="fnmatch patterns (case-sensitive) on schema names; a schema is "
        "scanned if it matches any."
    )
    exclude_schemas: list[str] = Field(
        [], description="fnmatch patterns on schema names that are not scanned."
    )
    include_tables: list[str] = Field(
        ["*"], description="fnmatch patterns on 'schema.table' for tables, views and "
        "materialized views; one is scanned if it matches any ('*' also matches '.')."
    )
    exclude_tables: list[str] = Field(
        [], description="fnmatch patterns on 'schema.table' that are not scanned, e.g. "
        "'*.tmp_*', 'staging.*'."
    )
    include_system_schemas: bool = Field(
        False, description="Also scan system schemas (pg_catalog, information_schema, "
        "pg_toast, mysql, performance_schema, sys)."
    )
    connect_timeout: int = Field(
        10, ge=1, le=300, description="Seconds to wait for a connection before the scan fails."
    )
    reflect_batch: int = Field(
        1000, ge=1, le=20_000, description="Tables described per catalog query; bounds memory "
        "and query size on big schemas."
    )

    @field_validator("password_env", "url_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and not _ENV_NAME.match(name):
            # Never echo the value: someone may have pasted the secret itself here.
            raise ValueError("must be the name of an environment variable (letters, digits, _)")
        return name

    @model_validator(mode="after")
    def _url_rules(self) -> SqlConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url (with password_env if it needs a "
                             "password) or url_env")
        if self.url_env is not None and self.password_env is not None:
            raise ValueError("password_env goes with url; url_env holds the whole URL")
        if self.url is not None:
            try:
                url = parse_url(self.url, allow_password=False)
            except SourceError as exc:
                raise ValueError(str(exc)) from None
            if url.get_backend_name() in ("mysql", "mariadb") and not (
                self.database_name or url.database
            ):
                raise ValueError("MySQL has no level above its databases: name the "
                                 "database-level asset with database_name, or put a database "
                                 "in the url")
        return self


def parse_url(raw: str, allow_password: bool) -> URL:
    """Parse and check a source URL: supported backend, importable driver, password rules.

    ``postgresql://`` gets psycopg2 and ``mysql://`` / ``mariadb://`` PyMySQL. A SQLite URL must
    name an existing file by absolute path.

    Raises:
        SourceError: what is wrong, without the URL's password.
    """
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise SourceError("url is not a valid SQLAlchemy URL "
                          "(e.g. postgresql://user@host:5432/db)") from None
    backend = url.get_backend_name()
    if backend == "postgres":
        url, backend = url.set(drivername="postgresql"), "postgresql"
    if backend not in DEFAULT_DRIVERS:
        raise SourceError(f"unsupported database {backend!r}; supported: "
                          f"{', '.join(sorted(DEFAULT_DRIVERS))}")
    if "+" not in url.drivername:
        url = url.set(drivername=f"{backend}+{DEFAULT_DRIVERS[backend]}")
    if not allow_password:
        if url.password is not None:
            raise SourceError("url must not contain a password: the catalog stores the config "
                              "as given. Put the password in an environment variable and name "
                              "it in password_env, or put the whole URL in one (url_env)")
        if _SECRET_QUERY_KEYS & {k.lower() for k in url.query}:
            raise SourceError("url must not carry a password in its query string; use "
                              "password_env")
    _check_driver(url)
    if backend == "sqlite":
        _check_sqlite_file(url)
    return url


def _check_driver(url: URL) -> None:
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise SourceError(f"unknown driver {url.get_driver_name()!r} for "
                          f"{url.get_backend_name()}") from None
    try:
        dialect.import_dbapi()
    except ImportError:
        driver = url.get_driver_name()
        hint = DRIVER_HINTS.get(driver, f"install the {driver} package")
        raise SourceError(f"the {driver} driver for {url.get_backend_name()} is not installed: "
                          f"{hint}") from None


def _check_sqlite_file(url: URL) -> None:
    path = url.database or ""
    if not path or path == ":memory:" or path.startswith("file:"):
        raise SourceError("a sqlite url must name a database file: sqlite:////abs/path/file.db")
    if not os.path.isabs(path):
        raise SourceError(f"sqlite database path {path!r} must be absolute "
                          "(sqlite:////abs/path/file.db): scans may run from another folder")
    if not os.path.isfile(path):
        raise SourceError(f"sqlite database file {path!r} does not exist")


@dataclass(frozen=True)
class Target:
    """A resolved source: the URL to connect with and the secrets to keep out of messages."""

    url: URL
    secrets: tuple[str, ...]

    @property
    def safe_url(self) -> str:
        """The URL for messages: password hidden (SQLite: the file path, not the ro URI)."""
        return self.url.render_as_string(hide_password=True)


def resolve_target(config: SqlConfig) -> Target:
    """Read the environment and return the URL to connect with. Called when a scan starts.

    Raises:
        SourceError: a variable is unset, or the URL it holds is invalid.
    """
    if config.url_env is not None:
        raw = os.environ.get(config.url_env)
        if not raw:
            raise SourceError(f"environment variable {config.url_env} (url_env) is not set")
        secrets = _password_of(raw)
        try:
            url = parse_url(raw, allow_password=True)
        except SourceError as exc:
            raise SourceError(f"environment variable {config.url_env}: {exc}") from None
        password = url.password
        secrets += (str(password),) if password else ()
    else:
        assert config.url is not None  # the model validator guarantees it
        url = parse_url(config.url, allow_password=False)
        secrets = ()
        if config.password_env is not None:
            password = os.environ.get(config.password_env)
            if password is None:
                raise SourceError(f"environment variable {config.password_env} "
                                  "(password_env) is not set")
            url = url.set(password=password)
            secrets = (password,) if password else ()
    return Target(url, secrets)


def _password_of(raw: str) -> tuple[str, ...]:
    """The password in a raw URL string, even one make_url cannot parse, so it can be scrubbed."""
    match = re.match(r"^[^:/]+://[^:/@]*:([^@]*)@", raw)
    return (match.group(1),) if match and match.group(1) else ()


def sqlite_path(url: URL) -> Path:
    """The database file of a SQLite URL."""
    return Path(url.database or "")
