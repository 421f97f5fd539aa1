"""Catalog tables and indexes. Alembic migrations (catalog/migrations) create them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Predicate of the general page-order index: true for every row, see Asset.__table_args__.
ALL_ROWS = "id > 0"

#: SQLite only aliases the rowid (fast autoincrement) for a column declared exactly INTEGER.
Id = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Connector(Base):
    """A named, configured source; its name is the Dagster partition key."""

    __tablename__ = "connectors"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    #: Validated config as JSON. Secrets appear only as the names of environment variables.
    config: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    refresh_interval_seconds: Mapped[int] = mapped_column(Integer, default=86_400)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Asset(Base):
    """One discovered asset; identity is (connector, qualified_name)."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: No foreign keys on the bulk-written tables: the checks cost a third of the load time at
    #: a million rows, and only catalog.load and catalog.connectors write these rows.
    connector: Mapped[str] = mapped_column(String(200))
    qualified_name: Mapped[str] = mapped_column(String(2000))
    catalog: Mapped[str | None] = mapped_column(String(2000))
    schema_name: Mapped[str | None] = mapped_column("schema", String(2000))
    name: Mapped[str] = mapped_column(String(2000))
    type: Mapped[str] = mapped_column(String(32))
    parent: Mapped[str | None] = mapped_column(String(2000))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    properties: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: active or removed; a removed asset is kept, never deleted by a scan.
    status: Mapped[str] = mapped_column(String(16))
    discovered_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    #: The run that last wrote this row (a change, not a sighting: unchanged rows are not touched).
    last_run_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index(None, "connector", "qualified_name", unique=True),
        # Read path (migration 0003): every listing filter leads an index that ends in the page
        # order (discovered_at, id), so a page at any depth is one index range scan. A btree
        # scans either way, so ascending columns serve the newest-first order.
        Index("ix_assets_connector_discovered", "connector", discovered_at.desc(), id.desc()),
        # Holds every row (ids start at 1), but only a query that repeats the predicate may use
        # it: catalog.filters adds it when no filter has its own index. Otherwise PostgreSQL
        # may walk this index for a dense filter and skip the newer rows of everything else.
        Index(None, "discovered_at", "id", postgresql_where=text(ALL_ROWS),
              sqlite_where=text(ALL_ROWS)),
        Index(None, "catalog", "discovered_at", "id"),
        Index(None, "type", "discovered_at", "id"),
        # Removed assets are few: a partial index finds them without scanning active ones.
        Index("ix_assets_removed_discovered", "discovered_at", "id",
              postgresql_where=text("status = 'removed'"),
              sqlite_where=text("status = 'removed'")),
        # Name prefix: byte-order ranges whatever the database collation (LIKE 'p%' uses a
        # default-collation btree only under the C collation).
        Index(None, "name", "connector", postgresql_ops={"name": "text_pattern_ops"}),
    )


class DataDiscovery(Base):
    """A change to an asset: new, changed, removed or restored. Never 'seen again'."""

    __tablename__ = "data_discovery"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(Id)
    run_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp)

    __table_args__ = (Index(None, "asset_id", "status"),)


class DiscoveryRun(Base):
    """One row per run and partition: counts, step durations, timing per 10K, outcome."""

    __tablename__ = "discovery_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connector: Mapped[str] = mapped_column(String(200), ForeignKey("connectors.name"))
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: running, success or failed
    outcome: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    complete: Mapped[bool | None] = mapped_column(Boolean)
    discovered: Mapped[int] = mapped_column(BigInteger, default=0)
    new: Mapped[int] = mapped_column(BigInteger, default=0)
    changed: Mapped[int] = mapped_column(BigInteger, default=0)
    restored: Mapped[int] = mapped_column(BigInteger, default=0)
    unchanged: Mapped[int] = mapped_column(BigInteger, default=0)
    removed: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    discover_seconds: Mapped[float | None] = mapped_column(Float)
    dedup_seconds: Mapped[float | None] = mapped_column(Float)
    load_seconds: Mapped[float | None] = mapped_column(Float)
    seconds_per_10k: Mapped[float | None] = mapped_column(Float)
    peak_rss_mb: Mapped[float | None] = mapped_column(Float)
    #: JSON: elapsed seconds per 10,000 assets, and other per-run details.
    details: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "connector", "started_at"),
        # The read API's response cache keys on max(finished_at): one index entry per request.
        Index(None, "finished_at"),
    )


connectors = Connector.__table__
assets = Asset.__table__
data_discovery = DataDiscovery.__table__
discovery_runs = DiscoveryRun.__table__


class ConnectorLease(Base):
    """Who may write a connector's assets right now: one run, until expires_at."""

    __tablename__ = "connector_leases"

    connector: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    #: Where the holder runs: a holder whose process is gone from this host loses the lease.
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)


connector_leases = ConnectorLease.__table__
