"""Sensors that keep every connector partition present and fresh.

- ``connector_registry_sensor``: partitions equal the enabled connectors; a first run for each
  connector that never ran successfully.
- ``connector_change_sensor``: asks each connector for a cheap change token and runs the ones
  whose token moved since the last tick.
- ``connector_freshness_sensor``: runs a connector whose last success is older than its refresh
  interval.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from asset_pipeline.catalog.connectors import ConnectorRow, list_connectors
from asset_pipeline.catalog.runs import last_success_by_connector
from asset_pipeline.connectors.registry import ConnectorConfigError, build_connector
from asset_pipeline.pipeline.job import discover_connector
from asset_pipeline.pipeline.partitions import CONNECTORS_PARTITIONS
from asset_pipeline.resources import CatalogDatabase

#: Seconds one change-sensor tick may spend on tokens; the rest wait for the next tick.
TOKEN_BUDGET_SECONDS = 30.0


def _enabled(catalog: CatalogDatabase) -> dict[str, ConnectorRow]:
    return {row.name: row for row in list_connectors(catalog.engine) if row.enabled}


@sensor(
    job=discover_connector,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Keeps the connectors partitions equal to the enabled connectors and runs each "
    "new connector once.",
)
def connector_registry_sensor(
    context: SensorEvaluationContext, catalog: CatalogDatabase
) -> SensorResult:
    enabled = _enabled(catalog)
    existing = set(context.instance.get_dynamic_partitions(CONNECTORS_PARTITIONS.name))
    added, dropped = sorted(set(enabled) - existing), sorted(existing - set(enabled))
    succeeded = last_success_by_connector(catalog.engine)
    requests = [
        RunRequest(partition_key=name, run_key=f"first:{name}:{row.created_at.isoformat()}",
                   tags={"asset_pipeline/trigger": "new connector"})
        for name, row in sorted(enabled.items())
        if name not in succeeded
    ]
    if added or dropped:
        context.log.info(f"partitions: adding {added}, removing {dropped}")
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            CONNECTORS_PARTITIONS.build_add_request(added),
            CONNECTORS_PARTITIONS.build_delete_request(dropped),
        ],
    )


@sensor(
    job=discover_connector,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs the connectors whose cheap change token moved since the last tick.",
)
def connector_change_sensor(
    context: SensorEvaluationContext, catalog: CatalogDatabase
) -> SensorResult | SkipReason:
    state = json.loads(context.cursor) if context.cursor else {"tokens": {}, "next": None}
    tokens: dict[str, str] = state["tokens"]
    enabled = _enabled(catalog)
    names = sorted(enabled)
    if state["next"] in names:  # resume where the last tick's budget ran out
        at = names.index(state["next"])
        names = names[at:] + names[:at]
    started, requests, next_name = time.monotonic(), [], None
    for name in names:
        if time.monotonic() - started > TOKEN_BUDGET_SECONDS:
            next_name = name
            break
        row = enabled[name]
        try:
            token = build_connector(row.name, row.kind, row.config).change_token()
        except (ConnectorConfigError, OSError) as exc:
            context.log.warning(f"no change token for {name}: {exc}")
            continue
        if token is None:
            continue
        if name in tokens and tokens[name] != token:
            requests.append(RunRequest(partition_key=name, run_key=f"change:{name}:{token}",
                                       tags={"asset_pipeline/trigger": "source changed"}))
        tokens[name] = token
    for gone in set(tokens) - set(enabled):
        del tokens[gone]
    cursor = json.dumps({"tokens": tokens, "next": next_name}, sort_keys=True)
    if not requests:
        context.update_cursor(cursor)
        return SkipReason(f"no change among {len(tokens)} connectors with a change token")
    return SensorResult(run_requests=requests, cursor=cursor)


@sensor(
    job=discover_connector,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs a connector again when its last successful run is older than its "
    "refresh interval.",
)
def connector_freshness_sensor(
    context: SensorEvaluationContext, catalog: CatalogDatabase
) -> SensorResult | SkipReason:
    now = datetime.now(timezone.utc)
    succeeded = last_success_by_connector(catalog.engine)
    requests = []
    for name, row in sorted(_enabled(catalog).items()):
        last = succeeded.get(name)
        if last is None:
            continue  # never succeeded: the registry sensor's first run, or the schedule
        age = (now - last).total_seconds()
        if age > row.refresh_interval_seconds:
            # One request per elapsed interval: a failed refresh is asked for again later.
            periods = int(age // row.refresh_interval_seconds)
            requests.append(RunRequest(
                partition_key=name, run_key=f"fresh:{name}:{last.isoformat()}:{periods}",
                tags={"asset_pipeline/trigger": "stale"},
            ))
    if not requests:
        return SkipReason("every connector is within its refresh interval")
    return SensorResult(run_requests=requests)
