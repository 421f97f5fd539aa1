"""How long one tick of each sensor takes over many connectors.

    .venv/bin/python -m benchmarks.sensor_tick [--connectors 1000] [--pg-url URL]

Registers N synthetic connectors in a fresh PostgreSQL catalog (dropped afterwards), then times
one evaluation of each sensor and of the schedule against a real (temporary) Dagster instance.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

from dagster import DagsterInstance, SensorResult, build_schedule_context, build_sensor_context

from asset_pipeline.automation.sensors import (
    connector_change_sensor,
    connector_freshness_sensor,
    connector_registry_sensor,
)
from asset_pipeline.catalog.connectors import add_connector
from asset_pipeline.catalog.db import make_engine, migrate, resolve_url
from asset_pipeline.definitions import defs
from asset_pipeline.resources import CatalogDatabase
from benchmarks.common import fresh_pg_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--pg-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    url, drop = fresh_pg_database(args.pg_url, "bench_sensor")
    try:
        engine = make_engine(resolve_url(url))
        migrate(engine)
        for i in range(args.connectors):
            add_connector(engine, f"c{i:05d}", "synthetic", {"count": 1000, "seed": i})
        resources = {"catalog": CatalogDatabase(url=url)}
        with DagsterInstance.ephemeral() as instance:
            cursor = None
            for label, sensor in (("registry", connector_registry_sensor),
                                  ("change (first tick)", connector_change_sensor),
                                  ("change (second tick)", connector_change_sensor),
                                  ("freshness", connector_freshness_sensor)):
                with build_sensor_context(instance=instance, resources=resources,
                                          cursor=cursor if "change" in label else None) as ctx:
                    started = time.perf_counter()
                    result = sensor(ctx)
                    elapsed = time.perf_counter() - started
                    if "change" in label:
                        cursor = (result.cursor if isinstance(result, SensorResult)
                                  else ctx.cursor)
                requests = len(result.run_requests) if isinstance(result, SensorResult) else 0
                print(f"{label:22} {elapsed * 1000:8.1f} ms  {requests:5} run requests")
            schedule = defs.get_schedule_def("refresh_all_connectors")
            with build_schedule_context(instance=instance, resources=resources,
                                        scheduled_execution_time=datetime.now(timezone.utc)) as ctx:
                started = time.perf_counter()
                requests = len(list(schedule(ctx)))
                print(f"{'schedule':22} {(time.perf_counter() - started) * 1000:8.1f} ms  "
                      f"{requests:5} run requests")
        engine.dispose()
    finally:
        drop()
    print(f"connectors: {args.connectors}; reproduce: .venv/bin/python -m benchmarks.sensor_tick "
          f"--connectors {args.connectors}")


if __name__ == "__main__":
    main()
