"""The command line as a user runs it: registration, runs, the demo, and Dagster's own CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from asset_pipeline.catalog.connectors import list_connector_names
from asset_pipeline.catalog.db import make_engine, resolve_url
from asset_pipeline.cli import main

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder to run commands in, with its own Dagster home and catalog."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("ASSET_PIPELINE_DATABASE_URL", catalog_url)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return tmp_path


def partitions() -> list[str]:
    with DagsterInstance.get() as instance:
        return list(instance.get_dynamic_partitions("connectors"))


def test_connector_lifecycle(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connector", "add", "syn", "--kind", "synthetic",
                 "--config", '{"count": 2000}']) == 0
    assert main(["connector", "add", "files", "--kind", "filesystem",
                 "--config", json.dumps({"root": str(workdir)})]) == 0
    assert partitions() == ["syn", "files"]
    assert main(["connector", "add", "syn", "--kind", "synthetic", "--config", "{}"]) == 2
    assert "count: Field required" in capsys.readouterr().err

    assert main(["run", "syn"]) == 0
    assert "syn: 2,000 discovered, 2,000 new" in capsys.readouterr().out
    assert main(["connector", "list"]) == 0
    assert "syn\tsynthetic\tenabled\t2,000 active assets" in capsys.readouterr().out
    assert main(["connector", "show", "syn"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"] == {"count": 2000} and shown["assets"] == {"active": 2000}

    assert main(["connector", "remove", "syn"]) == 2
    assert "--purge" in capsys.readouterr().err
    assert main(["connector", "remove", "syn", "--purge"]) == 0
    assert "and its 2,000 assets" in capsys.readouterr().out
    assert partitions() == ["files"]
    assert list_connector_names(make_engine(resolve_url())) == ["files"]


@pytest.mark.parametrize("kind,config,expected", [
    ("synthetic", '{"count": "many"}', "count: Input should be a valid integer"),
    ("filesystem", '{"root": "/no/such/folder"}', "/no/such/folder"),
    ("warehouse", "{}", "unknown connector kind 'warehouse'; known kinds: filesystem, s3, sql, synthetic"),
    ("sql", '{"url": "postgresql://u:pw@db/x"}', "url must not contain a password"),
    ("synthetic", "{not json", "--config is not valid JSON"),
])
def test_invalid_registration_says_what_is_wrong_and_writes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str], kind: str, config: str, expected: str
) -> None:
    assert main(["connector", "add", "bad", "--kind", kind, "--config", config]) == 2
    assert expected in capsys.readouterr().err
    assert main(["connector", "list"]) == 0
    assert "no connectors" in capsys.readouterr().out
    assert partitions() == []


def test_run_of_unknown_connector_names_the_known_ones(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["connector", "add", "syn", "--kind", "synthetic", "--config", '{"count": 10}'])
    assert main(["run", "other"]) == 2
    assert "unknown connector 'other'; known connectors: syn" in capsys.readouterr().err


def _dagster(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), *args], capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )


def test_dagster_job_execute_runs_a_partition_and_refuses_an_unknown_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["connector", "add", "syn", "--kind", "synthetic", "--config", '{"count": 1500}'])
    ok = _dagster("job", "execute", "-m", "asset_pipeline.definitions", "-j",
                  "discover_connector", "--tags", '{"dagster/partition": "syn"}')
    assert ok.returncode == 0, ok.stderr[-2000:]
    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey("catalog_assets"))
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.metadata["new"].value == 1500

    bad = _dagster("job", "execute", "-m", "asset_pipeline.definitions", "-j",
                   "discover_connector", "--tags", '{"dagster/partition": "nope"}')
    assert bad.returncode != 0
    assert "unknown connector 'nope'; known connectors: syn" in bad.stdout + bad.stderr


def test_demo_from_a_fresh_folder_then_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("ASSET_PIPELINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ASSET_PIPELINE_HOME", raising=False)
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "demo_synthetic: 100,000 discovered, 100,000 new" in first
    assert "demo_files: 12 discovered, 12 new" in first
    assert "demo_sql: 15 discovered, 15 new" in first
    assert (tmp_path / ".env").read_text() == f"DAGSTER_HOME={tmp_path}\n"
    assert (tmp_path / ".asset_pipeline" / "catalog.db").exists()

    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "demo_synthetic: 100,000 discovered, 0 new, 0 changed, 0 restored, 100,000 unchanged" in second
    assert "demo_files: 12 discovered, 0 new" in second
    assert "demo_sql: 15 discovered, 0 new" in second
    assert (tmp_path / ".asset_pipeline" / "demo_source.db").exists()
    with DagsterInstance.get() as instance:
        assert len(instance.get_runs()) == 6
        assert sorted(instance.get_dynamic_partitions("connectors")) == [
            "demo_files", "demo_sql", "demo_synthetic"
        ]


@pytest.mark.parametrize("name", ["x'; DROP TABLE assets; --", "a b", "", "_lead", "é", "a" * 201])
def test_connector_names_that_cannot_be_partition_keys_are_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["connector", "add", name, "--kind", "synthetic", "--config", '{"count": 1}']) == 2
    assert "invalid connector name" in capsys.readouterr().err
    assert main(["connector", "list"]) == 0
    assert "no connectors" in capsys.readouterr().out
