"""The connectors partitions and the catalog asset that every run reports to."""

from dagster import AssetKey, AssetSpec, DynamicPartitionsDefinition

#: One partition per registered connector; the registry keeps it in sync with the catalog.
CONNECTORS_PARTITIONS = DynamicPartitionsDefinition(name="connectors")

CATALOG_ASSET_KEY = AssetKey("catalog_assets")

catalog_assets = AssetSpec(
    CATALOG_ASSET_KEY,
    partitions_def=CONNECTORS_PARTITIONS,
    description=(
        "The data catalog's assets, one partition per connector. Each discovery run records a "
        "materialization with its counts, step durations and time per 10,000 assets."
    ),
    group_name="catalog",
)
