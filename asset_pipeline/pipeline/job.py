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


def failure_reason(result) -> str:  # type: ignore[no-untyped-def]
    """The reason a discover_connector run failed, from its step failure events."""
    reasons = []
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            reasons.append(data.user_failure_data.description)
        elif data.error is not None:
            reasons.append(data.error.message.strip())
    return "; ".join(reasons) or "the run failed; see its log in the Dagster UI"
