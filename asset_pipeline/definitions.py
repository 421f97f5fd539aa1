"""The one place that wires jobs, assets and resources together."""

from dagster import Definitions

from asset_pipeline.pipeline.job import discover_connector
from asset_pipeline.pipeline.partitions import catalog_assets
from asset_pipeline.resources import (
    BatchingResource,
    CatalogDatabase,
    PreloadResource,
    RemovalPolicy,
)


def resources() -> dict[str, object]:
    return {
        "catalog": CatalogDatabase(),
        "batching": BatchingResource(),
        "preload": PreloadResource(),
        "removal_policy": RemovalPolicy(),
    }


defs = Definitions(assets=[catalog_assets], jobs=[discover_connector], resources=resources())
