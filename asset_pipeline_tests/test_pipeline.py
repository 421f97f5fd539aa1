"""The discover -> dedup -> bulk_load job, end to end against SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from dagster import AssetKey
from sqlalchemy import func, select

from asset_pipeline.catalog.runs import get_run
from asset_pipeline.catalog.schema import assets, data_discovery
from asset_pipeline.catalog.staging import PREFIX
from sqlalchemy import inspect

from .conftest import Pipeline, failure_message

SMALL = {"count": 3_000, "tables_per_schema": 20}


def load(result):  # type: ignore[no-untyped-def]
    return result.output_for_node("bulk_load")


def test_first_run_loads_everything_and_rerun_is_a_no_op(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", SMALL)
    first = load(pipeline.run("syn"))
    assert (first.discovered, first.new, first.written) == (3_000, 3_000, 3_000)
    rows = pipeline.catalog("syn")
    assert len(rows) == 3_000 and {r[-1] for r in rows} == {"active"}

    second = load(pipeline.run("syn"))
    assert (second.new, second.changed, second.removed, second.unchanged) == (0, 0, 0, 3_000)
    assert second.written == 0
    assert pipeline.catalog("syn") == rows
    assert len(pipeline.history("syn")) == 3_000  # only the "new" rows: no "seen again"


def test_change_removal_and_restore_are_recorded(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", SMALL)
    pipeline.run("syn")
    before = {r[0]: r for r in pipeline.catalog("syn")}

    pipeline.add("syn", "synthetic", {**SMALL, "change_share": 0.02, "drop_share": 0.01, "round": 2})
    changed = load(pipeline.run("syn"))
    assert changed.changed > 0 and changed.removed > 0
    assert changed.unchanged == 3_000 - changed.changed - changed.removed
    after = {r[0]: r for r in pipeline.catalog("syn")}
    removed = {qn for qn, r in after.items() if r[-1] == "removed"}
    modified = {qn for qn, r in after.items() if r[-1] == "active" and r != before[qn]}
    assert len(removed) == changed.removed and len(modified) == changed.changed
    history = pipeline.history("syn")
    assert sum(1 for _, s in history if s == "removed") == changed.removed
    assert {qn for qn, s in history if s == "changed"} == modified

    pipeline.add("syn", "synthetic", SMALL)  # the dropped assets come back, the changes revert
    back = load(pipeline.run("syn"))
    assert back.restored == len(removed)
    assert back.changed == len(modified)
    assert {qn for qn, s in pipeline.history("syn") if s == "restored"} == removed
    assert pipeline.catalog("syn") == list(before.values())


def test_failed_scan_writes_and_removes_nothing(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", SMALL)
    pipeline.run("syn")
    rows = pipeline.catalog("syn")

    pipeline.add("syn", "synthetic", {**SMALL, "fail_after": 1_000, "change_share": 0.5})
    result = pipeline.run("syn", expect_success=False)
    message = failure_message(result)
    assert "failed after 1,000 assets: SyntheticError: synthetic scan stopped" in message
    assert "Nothing was written" in message
    assert pipeline.catalog("syn") == rows
    run = get_run(pipeline.engine, result.run_id)
    assert run is not None and run["outcome"] == "failed" and "failed after" in run["message"]
    assert not [t for t in inspect(pipeline.engine).get_table_names() if t.startswith(PREFIX)]


def test_removal_guard_refuses_mass_removal_until_allowed(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", SMALL)
    pipeline.run("syn")
    rows = pipeline.catalog("syn")

    pipeline.add("syn", "synthetic", {**SMALL, "drop_share": 0.3, "round": 2})
    refused = pipeline.run("syn", expect_success=False)
    assert "refusing to mark" in failure_message(refused)
    assert "allow_mass_removal" in failure_message(refused)
    assert pipeline.catalog("syn") == rows

    allowed = load(pipeline.run("syn", removal_policy={"allow_mass_removal": True}))
    assert allowed.removed > 600
    with pipeline.engine.connect() as conn:
        removed = conn.scalar(select(func.count()).where(assets.c.status == "removed"))
    assert removed == allowed.removed


def test_bad_records_are_rejected_counted_and_the_run_goes_on(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {**SMALL, "invalid_every": 100})
    result = pipeline.run("syn")
    out = load(result)
    assert out.rejected == 30 and out.new == 2_970 and out.discovered == 3_000
    run = get_run(pipeline.engine, result.run_id)
    assert run is not None and run["rejected"] == 30
    samples = json.loads(run["details"])["rejected_samples"]
    assert samples and "qualified_name is empty" in samples[0]


@pytest.mark.parametrize(
    "resources",
    [
        {"batching": {"batch_size": 7}, "preload": {"preload_limit": 0}},
        {"batching": {"batch_size": 250}, "preload": {"preload_limit": 1_000_000}},
        {"batching": {"batch_size": 5_000}, "preload": {"preload_limit": 1_000_000}},
    ],
    ids=["batch7-join", "batch250-preload", "batch5000-preload"],
)
def test_batch_size_and_dedup_strategy_do_not_change_the_catalog(
    pipeline: Pipeline, resources: dict[str, dict[str, int]]
) -> None:
    rounds = [SMALL, {**SMALL, "change_share": 0.05, "drop_share": 0.02, "round": 2}, SMALL]
    for name, settings in (("reference", {}), ("variant", resources)):
        for config in rounds:
            pipeline.add(name, "synthetic", config)
            pipeline.run(name, **settings)
    assert pipeline.catalog("variant") == pipeline.catalog("reference")
    assert pipeline.history("variant") == pipeline.history("reference")


def test_unknown_partition_key_fails_naming_the_known_connectors(pipeline: Pipeline) -> None:
    pipeline.add("alpha", "synthetic", SMALL)
    pipeline.add("beta", "synthetic", SMALL)
    result = pipeline.run("nope", expect_success=False, tags={"dagster/partition": "nope"})
    message = failure_message(result)
    assert "unknown connector 'nope'" in message and "alpha, beta" in message


def test_stored_config_that_no_longer_validates_fails_the_run(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 0})  # bypasses validation, as an old row might
    message = failure_message(pipeline.run("syn", expect_success=False))
    assert "invalid config for connector 'syn'" in message and "count" in message


def test_materialization_carries_counts_and_per_10k_timing(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 25_000})
    result = pipeline.run("syn")
    event = pipeline.instance.get_latest_materialization_event(AssetKey("catalog_assets"))
    assert event is not None and event.run_id == result.run_id
    materialization = event.asset_materialization
    assert materialization is not None and materialization.partition == "syn"
    meta = materialization.metadata
    assert meta["new"].value == 25_000 and meta["discovered"].value == 25_000
    assert meta["discover_seconds"].value > 0 and meta["peak_rss_mb"].value > 0
    rows = meta["per_10k_timing"].value.records
    assert [r.data["assets"] for r in rows] == [10_000, 20_000]
    assert all(r.data["seconds_for_10k"] > 0 for r in rows)
    run = get_run(pipeline.engine, result.run_id)
    assert run is not None and run["outcome"] == "success" and run["new"] == 25_000
    assert json.loads(run["details"])["per_10k"][1]["assets"] == 20_000


def test_dry_run_reports_without_writing(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", SMALL)
    out = load(pipeline.run("syn", removal_policy={"dry_run": True}))
    assert out.new == 3_000 and out.written == 0 and out.dry_run
    assert pipeline.catalog("syn") == []


def test_duplicate_names_in_one_scan_keep_the_first_and_count_the_rest(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asset_pipeline.connectors import synthetic

    original = synthetic.SyntheticConnector.discover

    def twice(self, report):  # type: ignore[no-untyped-def]
        for record in original(self, report):
            yield record
            if record.type == "schema":
                yield record._replace(properties={"copy": True})

    monkeypatch.setattr(synthetic.SyntheticConnector, "discover", twice)
    pipeline.add("syn", "synthetic", SMALL)
    out = load(pipeline.run("syn"))
    schemas = sum(1 for r in pipeline.catalog("syn") if r[4] == "schema")
    assert out.rejected == schemas and out.new == 3_000
    assert all(r[8] is None or "copy" not in r[8] for r in pipeline.catalog("syn"))


def test_history_only_grows_with_change(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", SMALL)
    for _ in range(3):
        pipeline.run("syn")
    with pipeline.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(data_discovery)) == 3_000


def test_incomplete_filesystem_scan_loads_what_it_saw_and_removes_nothing(
    pipeline: Pipeline, tmp_path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    import os

    from asset_pipeline.connectors import filesystem

    root = tmp_path / "share"
    for rel in ("a/one.csv", "a/two.csv", "b/three.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    pipeline.add("fs", "filesystem", {"root": str(root)})
    assert load(pipeline.run("fs")).new == 5

    (root / "b" / "four.parquet").write_text("x")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.path.basename(path) == "a":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(filesystem.os, "scandir", scandir)
    out = load(pipeline.run("fs"))
    assert not out.complete and out.new == 1 and out.removed == 0
    statuses = {r[0]: r[-1] for r in pipeline.catalog("fs")}
    assert statuses == {"a": "active", "a/one.csv": "active", "a/two.csv": "active",
                        "b": "active", "b/three.json": "active", "b/four.parquet": "active"}
    event = pipeline.instance.get_latest_materialization_event(AssetKey("catalog_assets"))
    assert event is not None and event.asset_materialization is not None
    meta = event.asset_materialization.metadata
    assert meta["scan_complete"].value is False and meta["unreadable_entries"].value == 1


def test_staging_tables_skip_the_wal_on_postgresql(pg_url: str) -> None:
    from sqlalchemy import text

    from asset_pipeline.catalog import staging
    from asset_pipeline.catalog.db import make_engine, resolve_url

    engine = make_engine(resolve_url(pg_url))
    staging.create_stage(engine, "ap_run_t_stage")
    staging.create_diff(engine, "ap_run_t_diff")
    with engine.connect() as conn:
        kinds = dict(conn.execute(text(
            "SELECT relname, relpersistence FROM pg_class WHERE relname LIKE 'ap_run_t_%'"
            " AND relkind = 'r'")).all())
    assert kinds == {"ap_run_t_stage": "u", "ap_run_t_diff": "u"}
    engine.dispose()
