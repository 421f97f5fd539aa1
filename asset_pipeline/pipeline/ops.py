"""The three steps of a discovery run: discover -> dedup -> bulk_load.

Each op hands the next a small reference (run-scoped tables and counts), never the assets
themselves; every step streams, so memory stays flat as the asset count grows.
"""


import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from dagster import (
    AssetMaterialization,
    Backoff,
    Failure,
    Jitter,
    OpExecutionContext,
    RetryPolicy,
    op,
)
from sqlalchemy import Engine

from asset_pipeline.catalog import dedup as dedup_sql
from asset_pipeline.catalog import staging
from asset_pipeline.catalog.connectors import ConnectorNotFound, get_connector
from asset_pipeline.catalog import leases
from asset_pipeline.catalog.load import apply_batch
from asset_pipeline.catalog.runs import active_asset_count, start_run, update_run
from asset_pipeline.connectors.base import (
    SAMPLE_LIMIT,
    Connector,
    ConnectorReport,
    TransientSourceError,
)
from asset_pipeline.connectors.registry import ConnectorConfigError, build_connector
from asset_pipeline.pipeline.handoff import Difference, LoadResult, StagedScan
from asset_pipeline.pipeline.metrics import ProgressMeter, peak_rss_mb, reset_peak_rss
from asset_pipeline.pipeline.normalize import RejectedRecord, StagedRow, normalize
from asset_pipeline.pipeline.partitions import CATALOG_ASSET_KEY, CONNECTORS_PARTITIONS
from asset_pipeline.pipeline.run_metadata import materialization_metadata
from asset_pipeline.resources import (
    BatchingResource,
    CatalogDatabase,
    PreloadResource,
    RemovalPolicy,
)


#: How often a long load renews its writer lease.
LEASE_RENEW_SECONDS = 30.0
#: Rows written by one run above which the assets table's statistics are refreshed.
ANALYZE_AFTER = 10_000


#: Transient source errors (TransientSourceError) retry discover with backoff: 2, 4, 8 s.
#: Everything else fails at once: Failure(allow_retries=False) bypasses the policy.
SOURCE_RETRY = RetryPolicy(
    max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def lease_owner(context: OpExecutionContext) -> str:
    """Who holds the writer lease: the root run, so a re-execution takes its parent's over."""
    return context.dagster_run.root_run_id or context.run_id


@contextmanager
def _recorded(engine: Engine, run_id: str, connector: str, owner: str) -> Iterator[None]:
    """If the step raises: mark the run failed in discovery_runs and give up the writer lease."""
    try:
        yield
    except Exception as exc:
        message = exc.description if isinstance(exc, Failure) else f"{type(exc).__name__}: {exc}"
        update_run(engine, run_id, outcome="failed", message=message)
        leases.release(engine, connector, owner)
        raise


def _hold_lease(catalog: CatalogDatabase, connector: str, owner: str) -> None:
    try:
        leases.acquire(catalog.engine, connector, owner, catalog.lease_ttl)
    except leases.LeaseHeld as exc:
        raise Failure(str(exc), allow_retries=False) from None


@contextmanager
def _step(context: OpExecutionContext, catalog: CatalogDatabase, connector: str) -> Iterator[str]:
    """Every step's frame: its discovery_runs row (a re-execution has a new run id), the
    connector's writer lease, and recording a failure. Yields the lease owner."""
    owner = lease_owner(context)
    start_run(catalog.engine, context.run_id, connector)
    with _recorded(catalog.engine, context.run_id, connector, owner):
        _hold_lease(catalog, connector, owner)
        yield owner


def _connector_for(context: OpExecutionContext, engine: Engine) -> Connector[Any]:
    """The partition's connector, validated. Unknown or invalid ones fail the run clearly."""
    if not context.has_partition_key:
        raise Failure("discover_connector runs per connector: give a partition key "
                      "(--tags '{\"dagster/partition\": \"NAME\"}')", allow_retries=False)
    name = context.partition_key
    try:
        row = get_connector(engine, name)
        connector = build_connector(row.name, row.kind, row.config)
    except (ConnectorNotFound, ConnectorConfigError) as exc:
        raise Failure(str(exc), allow_retries=False) from None
    if not row.enabled:
        raise Failure(f"connector {name!r} is disabled; enable it with "
                      f"'asset-pipeline connector enable {name}'", allow_retries=False)
    instance = context.instance
    if not instance.has_dynamic_partition(CONNECTORS_PARTITIONS.name, name):
        instance.add_dynamic_partitions(CONNECTORS_PARTITIONS.name, [name])
    return connector


def _expected_count(context: OpExecutionContext, connector: Connector[Any]) -> int | None:
    """The connector's size estimate, which only picks a batch size: a source that cannot give
    one is not an error here (the scan itself reports real failures)."""
    try:
        return connector.expected_count()
    except Exception as exc:
        context.log.warning(f"no size estimate from {connector.name}: {type(exc).__name__}")
        return None


@op(
    description="Stream every asset of the partition's connector into a run-scoped stage table.",
    retry_policy=SOURCE_RETRY,
)
def discover(
    context: OpExecutionContext, catalog: CatalogDatabase, batching: BatchingResource
) -> StagedScan:
    engine = catalog.engine
    connector = _connector_for(context, engine)
    name, run_id = connector.name, context.run_id
    reset_peak_rss()
    with _step(context, catalog, name):
        expected = _expected_count(context, connector) or dedup_sql.connector_asset_count(
            engine, name
        )
        batch_size = batching.resolve(expected)
        dropped = staging.drop_leftovers(engine, name)
        if dropped:
            context.log.info(f"dropped {len(dropped)} staging tables left by earlier runs")
        stage_name, diff_name = staging.table_names(name, run_id)
        stage = staging.create_stage(engine, stage_name)
        report = ConnectorReport()
        meter = ProgressMeter(context.log.info, f"discover {name}")
        rejected: list[str] = []
        rejected_count = 0

        def rows() -> Iterator[StagedRow]:
            nonlocal rejected_count
            for record in meter.track(connector.discover(report)):
                try:
                    yield normalize(record)
                except RejectedRecord as exc:
                    rejected_count += 1
                    if len(rejected) < SAMPLE_LIMIT:
                        where = getattr(record, "qualified_name", None) or f"#{meter.count}"
                        rejected.append(f"{where}: {exc}")

        try:
            staging.write_stage(engine, stage, rows(), batch_size)
        except Exception as exc:
            staging.drop_tables(engine, [stage_name])
            transient = isinstance(exc, TransientSourceError)
            raise Failure(
                f"scan of connector {name!r} failed after {meter.count:,} assets: "
                f"{type(exc).__name__}: {exc}. Nothing was written to the catalog."
                + (" Transient: retrying with backoff." if transient else ""),
                allow_retries=transient,
            ) from exc
        duplicates, dup_samples = staging.seal_stage(engine, stage)
        rejected_count += duplicates
        rejected.extend(f"{qn}: duplicate qualified_name" for qn in dup_samples)
        if rejected_count:
            context.log.warning(f"rejected {rejected_count:,} records; first: {rejected[:5]}")
        if not report.complete:
            context.log.warning(
                f"scan incomplete ({report.failures} unreadable entries): nothing will be "
                f"marked removed in this run; first: {report.failure_samples[:5]}"
            )
        scan = StagedScan(
            connector=name, kind=connector.kind, run_id=run_id, stage_table=stage_name,
            diff_table=diff_name, batch_size=batch_size, discovered=meter.count,
            rejected=rejected_count, rejected_samples=rejected[:SAMPLE_LIMIT],
            complete=report.complete, failures=report.failures,
            failure_samples=report.failure_samples, skipped=report.skipped,
            discover_seconds=round(meter.elapsed, 3), per_10k=meter.rows,
        )
        update_run(engine, run_id, discovered=scan.discovered, rejected=scan.rejected,
                   complete=scan.complete, discover_seconds=scan.discover_seconds)
        context.log.info(f"discovered {scan.discovered:,} assets in {scan.discover_seconds:.2f} s "
                         f"(batch size {batch_size:,})")
        return scan


@op(description="Classify the staged scan against the catalog; keep only the difference.")
def dedup(
    context: OpExecutionContext,
    catalog: CatalogDatabase,
    preload: PreloadResource,
    removal_policy: RemovalPolicy,
    scan: StagedScan,
) -> Difference:
    engine = catalog.engine
    started = time.perf_counter()
    with _step(context, catalog, scan.connector):
        existing = dedup_sql.connector_asset_count(engine, scan.connector)
        limit = preload.resolve()
        strategy = "preload" if 0 < existing <= limit else "join"
        stage = staging.stage_table(scan.stage_table)
        diff = staging.create_diff(engine, scan.diff_table)
        preloaded = 0
        if strategy == "preload":
            preloaded = dedup_sql.classify_preload(
                engine, scan.connector, stage, diff, scan.complete, scan.batch_size
            )
        else:
            dedup_sql.classify_join(engine, scan.connector, stage, diff, scan.complete)
        staging.analyze(engine, diff.name)
        counts = dedup_sql.diff_counts(engine, diff)
        staged = scan.discovered - scan.rejected
        result = Difference(
            scan=scan, strategy=strategy, preloaded=preloaded, new=counts["new"],
            changed=counts["changed"], restored=counts["restored"],
            unchanged=staged - counts["new"] - counts["changed"] - counts["restored"],
            removed=counts["removed"], dedup_seconds=round(time.perf_counter() - started, 3),
        )
        if result.removed:
            refusal = removal_policy.refusal(
                result.removed, active_asset_count(engine, scan.connector)
            )
            if refusal:
                raise Failure(f"connector {scan.connector!r}: {refusal}", allow_retries=False)
        update_run(engine, context.run_id, new=result.new, changed=result.changed,
                   restored=result.restored, unchanged=result.unchanged, removed=result.removed,
                   dedup_seconds=result.dedup_seconds)
        context.log.info(
            f"dedup ({strategy}{f', {existing:,} existing' if existing else ''}): "
            f"{result.new:,} new, {result.changed:,} changed, {result.restored:,} restored, "
            f"{result.unchanged:,} unchanged, {result.removed:,} removed"
        )
        return result


@op(description="Write the difference to the catalog in committed, idempotent batches.")
def bulk_load(
    context: OpExecutionContext,
    catalog: CatalogDatabase,
    removal_policy: RemovalPolicy,
    difference: Difference,
) -> LoadResult:
    engine = catalog.engine
    scan = difference.scan
    started = time.perf_counter()
    with _step(context, catalog, scan.connector) as owner:
        written: Counter[str] = Counter()
        if removal_policy.dry_run:
            context.log.info("dry run: nothing written")
        else:
            written = _apply(context, catalog, difference, owner)
            if sum(written.values()) >= ANALYZE_AFTER:
                staging.analyze(engine, "assets")  # the next dedup plans with real counts
        staging.drop_tables(engine, [scan.stage_table, scan.diff_table])
        load_seconds = round(time.perf_counter() - started, 3)
        total = scan.discover_seconds + difference.dedup_seconds + load_seconds
        per_10k = total / (scan.discovered / 10_000) if scan.discovered else 0.0
        result = LoadResult(
            connector=scan.connector, new=difference.new, changed=difference.changed,
            restored=difference.restored, unchanged=difference.unchanged,
            removed=difference.removed, rejected=scan.rejected, discovered=scan.discovered,
            written=sum(written.values()), complete=scan.complete,
            dry_run=removal_policy.dry_run, discover_seconds=scan.discover_seconds,
            dedup_seconds=difference.dedup_seconds, load_seconds=load_seconds,
            total_seconds=round(total, 3), seconds_per_10k=round(per_10k, 4),
            assets_per_second=round(scan.discovered / total) if total else 0.0,
            peak_rss_mb=peak_rss_mb(),
        )
        metadata = materialization_metadata(result, difference, catalog.slow_queries)
        update_run(
            engine, context.run_id, outcome="success", complete=scan.complete,
            discovered=result.discovered, rejected=result.rejected, new=result.new,
            changed=result.changed, restored=result.restored, unchanged=result.unchanged,
            removed=result.removed, discover_seconds=result.discover_seconds,
            dedup_seconds=result.dedup_seconds, load_seconds=load_seconds,
            seconds_per_10k=result.seconds_per_10k, peak_rss_mb=result.peak_rss_mb,
            details=metadata.json_details(),
        )
        leases.release(engine, scan.connector, owner)
        context.log_event(AssetMaterialization(
            asset_key=CATALOG_ASSET_KEY, partition=scan.connector,
            description=f"discovery of connector {scan.connector}", metadata=metadata.values,
        ))
        context.log.info(
            f"loaded {result.written:,} rows in {load_seconds:.2f} s; run total "
            f"{result.total_seconds:.2f} s, {result.seconds_per_10k:.3f} s per 10K assets, "
            f"peak RSS {result.peak_rss_mb:.0f} MB"
        )
        return result


def _apply(
    context: OpExecutionContext, catalog: CatalogDatabase, difference: Difference, owner: str
) -> Counter[str]:
    engine = catalog.engine
    scan = difference.scan
    diff = staging.diff_table(scan.diff_table)
    lo, hi = dedup_sql.seq_bounds(engine, diff)
    step = scan.batch_size
    now = datetime.now(timezone.utc)
    written: Counter[str] = Counter()
    next_log = 10_000
    renewed = time.monotonic()
    for start in range(lo, hi + 1, step):
        if time.monotonic() - renewed > LEASE_RENEW_SECONDS:
            _hold_lease(catalog, scan.connector, owner)
            renewed = time.monotonic()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Batches are idempotent: a crash loses at most the last few, which re-run.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            written.update(apply_batch(conn, diff, scan.connector, context.run_id, start,
                                       min(start + step - 1, hi), now))
        done = min(start + step, hi + 1) - lo
        if done >= next_log:
            context.log.info(f"bulk_load {scan.connector}: {done:,} of {hi - lo + 1:,} rows")
            next_log = (done // 10_000 + 1) * 10_000
    return written
