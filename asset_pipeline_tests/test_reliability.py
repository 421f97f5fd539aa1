"""Bad input and vanishing sources: a clear error or a counted rejection, nothing lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import AssetKey
from sqlalchemy.exc import OperationalError

from asset_pipeline.catalog.db import make_engine, migrate, resolve_url
from asset_pipeline.connectors import filesystem
from asset_pipeline.connectors.base import AssetRecord

from .conftest import Pipeline, failure_message


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)


def _vanish_during_scan(monkeypatch: pytest.MonkeyPatch, after: str, victim: Path) -> None:
    """Delete ``victim`` right after the scan yields ``after``."""
    original = filesystem.FilesystemConnector.discover

    def discover(self, report):  # type: ignore[no-untyped-def]
        for record in original(self, report):
            yield record
            if record.qualified_name == after:
                shutil.rmtree(victim) if victim.is_dir() else victim.unlink()

    monkeypatch.setattr(filesystem.FilesystemConnector, "discover", discover)


def test_directory_removed_mid_scan_marks_nothing_removed(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "share"
    _tree(root, ["a/1.csv", "b/2.csv", "b/3.csv", "c/4.csv"])
    pipeline.add("fs", "filesystem", {"root": str(root)})
    pipeline.run("fs")

    _vanish_during_scan(monkeypatch, after="a/1.csv", victim=root / "b")
    out = pipeline.run("fs").output_for_node("bulk_load")
    assert not out.complete and out.removed == 0
    assert {r[-1] for r in pipeline.catalog("fs")} == {"active"}
    assert len(pipeline.catalog("fs")) == 7  # a, a/1, b, b/2, b/3, c, c/4: all kept


def test_root_removed_before_the_scan_fails_with_the_reason(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    root = tmp_path / "share"
    _tree(root, ["a/1.csv"])
    pipeline.add("fs", "filesystem", {"root": str(root)})
    pipeline.run("fs")
    shutil.rmtree(root)
    message = failure_message(pipeline.run("fs", expect_success=False))
    assert "root" in message and "does not exist" in message
    assert {r[-1] for r in pipeline.catalog("fs")} == {"active"}


def test_file_deleted_during_the_scan_is_counted_not_fatal(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "share"
    _tree(root, ["a/1.csv", "a/2.csv", "a/3.csv"])
    pipeline.add("fs", "filesystem", {"root": str(root)})
    _vanish_during_scan(monkeypatch, after="a", victim=root / "a" / "2.csv")
    out = pipeline.run("fs").output_for_node("bulk_load")
    names = [r[0] for r in pipeline.catalog("fs")]
    assert "a/1.csv" in names and "a/3.csv" in names
    # Deleted between listing and stat: either never listed, or listed and reported unreadable.
    assert "a/2.csv" not in names
    assert out.removed == 0


@pytest.mark.parametrize("name", ["line\nbreak.csv", "tab\there.csv", "esc\x1b[31m.csv",
                                  'quote"comma,.csv', "back\\slash.csv", "ünïcødé ✓.csv"])
def test_awkward_but_legal_names_round_trip_exactly(pipeline: Pipeline, name: str) -> None:
    pipeline.add("syn", "synthetic", {"count": 1})
    from asset_pipeline.connectors import synthetic

    def one(self, report):  # type: ignore[no-untyped-def]
        yield AssetRecord(name, "file", name, properties={"note": name})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synthetic.SyntheticConnector, "discover", one)
        pipeline.run("syn")
        assert pipeline.run("syn").output_for_node("bulk_load").unchanged == 1
    rows = pipeline.catalog("syn")
    assert [r[0] for r in rows] == [name]
    assert json.loads(rows[0][8]) == {"note": name}


def test_ten_kilobyte_name_and_nul_byte_are_rejected_with_reasons(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 1})
    from asset_pipeline.connectors import synthetic

    def bad(self, report):  # type: ignore[no-untyped-def]
        yield AssetRecord("x" * 10_240, "table", "x")
        yield AssetRecord("nul\x00name", "table", "nul")
        yield AssetRecord("fine", "table", "fine")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synthetic.SyntheticConnector, "discover", bad)
        result = pipeline.run("syn")
    out = result.output_for_node("bulk_load")
    assert (out.rejected, out.new) == (2, 1)
    event = pipeline.instance.get_latest_materialization_event(AssetKey("catalog_assets"))
    assert event is not None and event.asset_materialization is not None
    meta = event.asset_materialization.metadata
    sample = meta["problems_sample"].value
    assert "longer than 2000 characters" in sample and "NUL character" in sample


def test_wrong_catalog_password_fails_clearly_without_the_password(pg_server: str) -> None:
    url = pg_server.replace("postgres@", "nobody:Planted-S3cret@")
    engine = make_engine(resolve_url(url))
    with pytest.raises(OperationalError) as caught:
        migrate(engine)
    assert "Planted-S3cret" not in str(caught.value)
    assert "nobody" in str(caught.value)


def test_catalog_password_never_reaches_logs_run_config_metadata_or_catalog(
    pg_url: str, instance, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    secret = "Planted-S3cret-9931"
    url = pg_url.replace("postgres@", f"postgres:{secret}@")  # trust auth: accepted, unused
    monkeypatch.setenv("ASSET_PIPELINE_DATABASE_URL", url)
    engine = make_engine(resolve_url(url))
    migrate(engine)
    from asset_pipeline.catalog.connectors import add_connector
    from asset_pipeline.definitions import defs

    add_connector(engine, "syn", "synthetic", {"count": 500})
    add_connector(engine, "broken", "synthetic", {"count": 500, "fail_after": 10})
    instance.add_dynamic_partitions("connectors", ["syn", "broken"])
    job = defs.resolve_job_def("discover_connector")
    runs = [job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
            for key in ("syn", "broken")]
    assert [r.success for r in runs] == [True, False]

    seen: list[str] = []
    for result in runs:
        run = instance.get_run_by_id(result.run_id)
        seen.append(json.dumps(run.run_config, default=str))  # type: ignore[union-attr]
        for entry in instance.all_logs(result.run_id):
            seen.append(entry.user_message or "")
            seen.append(str(entry.dagster_event.event_specific_data) if entry.dagster_event else "")
    event = instance.get_latest_materialization_event(AssetKey("catalog_assets"))
    seen.append(str(event.asset_materialization.metadata))  # type: ignore[union-attr]
    with engine.connect() as conn:
        for table in ("connectors", "assets", "data_discovery", "discovery_runs"):
            seen.extend(str(row) for row in conn.exec_driver_sql(f"SELECT * FROM {table}"))
    blob = "\n".join(seen)
    assert "catalog database: postgresql+psycopg2://postgres:***@" in blob  # it was logged...
    assert secret not in blob  # ...without the password
    engine.dispose()
