"""A schedule that re-runs every enabled connector partition.

Dagster's ``build_schedule_from_partitioned_job`` does not take dynamic partitions, so the
schedule asks for one run per connector, with a run key per tick and connector.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from asset_pipeline.catalog.connectors import list_connector_names
from asset_pipeline.pipeline.job import discover_connector
from asset_pipeline.resources import CatalogDatabase

DEFAULT_CRON = "0 2 * * *"


def refresh_schedule(cron: str = DEFAULT_CRON, timezone: str = "UTC") -> ScheduleDefinition:
    """The nightly (by default) refresh of every enabled connector."""

    @schedule(
        name="refresh_all_connectors",
        cron_schedule=cron,
        execution_timezone=timezone,
        job=discover_connector,
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Runs every enabled connector ({cron} {timezone}).",
    )
    def refresh_all_connectors(
        context: ScheduleEvaluationContext, catalog: CatalogDatabase
    ) -> Iterator[RunRequest]:
        tick = context.scheduled_execution_time.isoformat()
        for name in list_connector_names(catalog.engine, enabled_only=True):
            yield RunRequest(partition_key=name, run_key=f"{tick}:{name}",
                             tags={"asset_pipeline/trigger": "schedule"})

    return refresh_all_connectors
