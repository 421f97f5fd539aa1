"""Dagster resources: the catalog database, batching, preload and the removal policy.

Each setting can be given in run config (``resources: {batching: {config: {batch_size: 5000}}}``);
batch size and preload limit otherwise come from ``DISCOVERY_BATCH_SIZE`` /
``DISCOVERY_PRELOAD_LIMIT`` and then from adaptive defaults.
"""

from __future__ import annotations

import os
from datetime import timedelta

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr
from sqlalchemy import Engine

from asset_pipeline.catalog.db import (
    make_engine,
    migrate,
    resolve_url,
    safe_url,
    watch_slow_queries,
)

BATCH_SIZE_ENV = "DISCOVERY_BATCH_SIZE"
PRELOAD_LIMIT_ENV = "DISCOVERY_PRELOAD_LIMIT"
DEFAULT_PRELOAD_LIMIT = 150_000
#: (asset count below which the tier applies, batch size)
BATCH_TIERS = ((10_000, 500), (100_000, 2_000))
#: Larger batches amortize each transaction's commit; at 1M assets on PostgreSQL 10,000 loads
#: about a quarter faster than 2,000, and batches live in the database, not in Python memory.
LARGE_BATCH = 10_000


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


class CatalogDatabase(ConfigurableResource):
    """The catalog database. The URL comes from ``ASSET_PIPELINE_DATABASE_URL`` (embedded SQLite
    when unset), so a password in it never enters run config."""

    url: str | None = Field(
        None, description="Catalog URL; leave unset to read ASSET_PIPELINE_DATABASE_URL."
    )
    pool_size: int = Field(5, gt=0, description="Connections kept open (PostgreSQL).")
    max_overflow: int = Field(5, ge=0, description="Extra connections allowed above pool_size.")
    pool_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a free connection.")
    connect_timeout: int = Field(10, gt=0, description="Seconds to wait for the server.")
    slow_query_seconds: float = Field(
        5.0, ge=0, description="Catalog statements slower than this are logged as warnings "
        "and counted in the run's metadata.",
    )
    lease_seconds: int = Field(
        900, gt=0,
        description="A run's writer lease on its connector lasts this long unless renewed; "
        "a run that died blocks others at most this long.",
    )

    _engine: Engine | None = PrivateAttr(None)
    _slow: list[str] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        url = resolve_url(self.url)
        self._engine = make_engine(
            url, self.pool_size, self.max_overflow, self.pool_timeout, self.connect_timeout
        )
        migrate(self._engine)
        log = context.log

        def on_slow(seconds: float, statement: str) -> None:
            self._slow.append(f"{seconds:.1f} s: {statement}")
            if log is not None:
                log.warning(f"slow catalog query ({seconds:.1f} s): {statement}")

        watch_slow_queries(self._engine, self.slow_query_seconds, on_slow)
        if log is not None:
            log.debug(f"catalog database: {safe_url(url)}")

    @property
    def slow_queries(self) -> list[str]:
        """Statements over ``slow_query_seconds`` in this run so far."""
        return list(self._slow)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("CatalogDatabase used outside of execution")
        return self._engine


class BatchingResource(ConfigurableResource):
    """Rows per staged write and per committed load batch."""

    batch_size: int | None = Field(
        None, gt=0,
        description=f"Fixed batch size; unset: ${BATCH_SIZE_ENV}, else adaptive by asset count.",
    )

    def resolve(self, expected_assets: int | None) -> int:
        """Batch size for a connector expected to hold ``expected_assets`` assets."""
        if self.batch_size:
            return self.batch_size
        from_env = _env_int(BATCH_SIZE_ENV)
        if from_env:
            return from_env
        for below, size in BATCH_TIERS:
            if expected_assets is None or expected_assets < below:
                return size
        return LARGE_BATCH


class PreloadResource(ConfigurableResource):
    """Up to this many existing assets, dedup preloads the connector's index into memory."""

    preload_limit: int | None = Field(
        None, ge=0,
        description=f"Unset: ${PRELOAD_LIMIT_ENV}, else {DEFAULT_PRELOAD_LIMIT:,}.",
    )

    def resolve(self) -> int:
        if self.preload_limit is not None:
            return self.preload_limit
        from_env = _env_int(PRELOAD_LIMIT_ENV)
        return from_env if from_env is not None else DEFAULT_PRELOAD_LIMIT


class RemovalPolicy(ConfigurableResource):
    """Guards against marking a large share of a connector removed by mistake
    (an unmounted folder, a revoked grant)."""

    max_removal_share: float = Field(
        0.05, ge=0.0, le=1.0,
        description="Largest share of the connector's active assets one run may mark removed.",
    )
    always_allowed: int = Field(
        10, ge=0, description="Removals up to this many are allowed whatever the share."
    )
    allow_mass_removal: bool = Field(
        False, description="Allow this run to remove more than max_removal_share."
    )
    dry_run: bool = Field(False, description="Classify and report, write nothing.")

    def refusal(self, removing: int, active: int) -> str | None:
        """Why removing ``removing`` of ``active`` assets is refused, or None if allowed."""
        if self.allow_mass_removal or removing <= self.always_allowed or active == 0:
            return None
        share = removing / active
        if share <= self.max_removal_share:
            return None
        return (
            f"refusing to mark {removing:,} of {active:,} active assets removed "
            f"({share:.1%} > max_removal_share {self.max_removal_share:.1%}). Nothing was written. "
            "If the removal is real, run again with run config "
            "resources.removal_policy.config.allow_mass_removal: true"
        )
