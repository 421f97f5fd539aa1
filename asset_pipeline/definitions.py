"""The one place that wires jobs, assets, sensors, schedules and resources together."""

import os

from dagster import Definitions

from asset_pipeline.automation.schedules import DEFAULT_CRON, refresh_schedule
from asset_pipeline.automation.sensors import (
    connector_change_sensor,
    connector_freshness_sensor,
    connector_registry_sensor,
)
from asset_pipeline.pipeline.job import discover_connector
from asset_pipeline.pipeline.partitions import catalog_assets
from asset_pipeline.resources import (
    BatchingResource,
    CatalogDatabase,
    PreloadResource,
    RemovalPolicy,
)

#: Cron and time zone of the refresh schedule; read when the code location loads.
SCHEDULE_CRON_ENV = "ASSET_PIPELINE_SCHEDULE_CRON"
SCHEDULE_TIMEZONE_ENV = "ASSET_PIPELINE_SCHEDULE_TIMEZONE"


def resources() -> dict[str, object]:
    return {
        "catalog": CatalogDatabase(),
        "batching": BatchingResource(),
        "preload": PreloadResource(),
        "removal_policy": RemovalPolicy(),
    }


def build_definitions() -> Definitions:
    schedule = refresh_schedule(
        os.environ.get(SCHEDULE_CRON_ENV) or DEFAULT_CRON,
        os.environ.get(SCHEDULE_TIMEZONE_ENV) or "UTC",
    )
    return Definitions(
        assets=[catalog_assets],
        jobs=[discover_connector],
        sensors=[connector_registry_sensor, connector_change_sensor, connector_freshness_sensor],
        schedules=[schedule],
        resources=resources(),
    )


defs = build_definitions()
