"""The discover_connector job: one run per connector partition."""

from dagster import in_process_executor, job

from asset_pipeline.pipeline.ops import bulk_load, dedup, discover
from asset_pipeline.pipeline.partitions import CONNECTORS_PARTITIONS


@job(
    partitions_def=CONNECTORS_PARTITIONS,
    # The steps run in sequence; the multiprocess executor would only add start-up time.
    executor_def=in_process_executor,
    description="Discover every asset of one connector, dedup against the catalog, bulk-load "
    "the difference.",
)
def discover_connector() -> None:
    bulk_load(dedup(discover()))
