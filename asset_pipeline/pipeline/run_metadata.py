"""The materialization metadata of a run: numbers as numbers, so the UI plots them across runs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from asset_pipeline.pipeline.handoff import Difference, LoadResult

PER_10K_SCHEMA = TableSchema(columns=[
    TableColumn("assets", "int", description="Assets discovered so far"),
    TableColumn("elapsed_s", "float", description="Seconds since discover started"),
    TableColumn("seconds_for_10k", "float", description="Seconds for these 10,000 assets"),
    TableColumn("assets_per_s", "int", description="Rate over these 10,000 assets"),
])


@dataclass(frozen=True)
class RunMetadata:
    values: dict[str, Any]
    details: dict[str, Any]

    def json_details(self) -> str:
        return json.dumps(self.details, sort_keys=True)


def materialization_metadata(
    result: LoadResult, difference: Difference, slow_queries: list[str]
) -> RunMetadata:
    scan = difference.scan
    values: dict[str, Any] = {
        "connector": scan.connector,
        "kind": scan.kind,
        "dedup_strategy": difference.strategy,
        "batch_size": scan.batch_size,
        "scan_complete": result.complete,
        "dry_run": result.dry_run,
        **{key: getattr(result, key) for key in (
            "discovered", "new", "changed", "restored", "unchanged", "removed", "rejected",
            "written", "discover_seconds", "dedup_seconds", "load_seconds", "total_seconds",
            "seconds_per_10k", "assets_per_second", "peak_rss_mb",
        )},
        "unreadable_entries": scan.failures,
        "slow_queries": len(slow_queries),
        "skipped_entries": scan.skipped,
        "per_10k_timing": MetadataValue.table(
            records=[TableRecord(row) for row in scan.per_10k], schema=PER_10K_SCHEMA
        ),
    }
    problems = [f"rejected: {s}" for s in scan.rejected_samples]
    problems += [f"unreadable: {s}" for s in scan.failure_samples]
    problems += [f"slow query: {q}" for q in slow_queries[:10]]
    if problems:
        values["problems_sample"] = MetadataValue.md("\n".join(f"- `{p}`" for p in problems))
    details = {"result": asdict(result), "strategy": difference.strategy,
               "batch_size": scan.batch_size, "per_10k": scan.per_10k,
               "rejected_samples": scan.rejected_samples, "failure_samples": scan.failure_samples,
               "slow_queries": slow_queries[:10]}
    return RunMetadata(values, details)
