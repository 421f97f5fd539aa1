"""The one Definitions object loads, and each instance config we ship works."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from dagster import AssetKey, DagsterInstance
from dagster._core.test_utils import environ

from asset_pipeline.definitions import defs
from asset_pipeline.pipeline.partitions import CONNECTORS_PARTITIONS

PROJECT = Path(__file__).resolve().parents[1]


def test_definitions_resolve_every_job_and_the_catalog_asset() -> None:
    job = defs.resolve_job_def("discover_connector")
    assert [node.name for node in job.nodes_in_topological_order] == [
        "discover", "dedup", "bulk_load"
    ]
    assert job.partitions_def == CONNECTORS_PARTITIONS
    assert job.executor_def.name == "in_process"
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey("catalog_assets")).partitions_def == CONNECTORS_PARTITIONS
    assert set(defs.resources) == {"catalog", "batching", "preload", "removal_policy"}


@pytest.mark.parametrize("config", ["dagster.yaml", "deploy/postgres/dagster.yaml"])
def test_shipped_instance_configs_store_partitions(
    config: str, tmp_path: Path, pg_url: str
) -> None:
    shutil.copy(PROJECT / config, tmp_path / "dagster.yaml")
    url = make_url(pg_url)
    env = {"DAGSTER_HOME": str(tmp_path), "DAGSTER_PG_USERNAME": url.username or "",
           "DAGSTER_PG_PASSWORD": url.password or "", "DAGSTER_PG_HOST": url.host or "",
           "DAGSTER_PG_DB": url.database or ""}
    with environ(env):
        with DagsterInstance.get() as instance:
            instance.add_dynamic_partitions(CONNECTORS_PARTITIONS.name, ["one", "two"])
            assert list(instance.get_dynamic_partitions(CONNECTORS_PARTITIONS.name)) == [
                "one", "two"
            ]
            storage = type(instance.run_storage).__name__
    assert storage == ("PostgresRunStorage" if "postgres" in config else "SqliteRunStorage")
