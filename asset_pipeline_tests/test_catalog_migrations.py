"""Alembic owns the schema: a fresh database upgrades to head and matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from asset_pipeline.catalog.db import downgrade, make_engine, migrate, resolve_url
from asset_pipeline.catalog.schema import Base

EXPECTED_INDEXES = {
    "ix_assets_connector_qualified_name", "ix_assets_connector_discovered",
    "ix_assets_discovered_at_id", "ix_assets_catalog_discovered_at_id",
    "ix_assets_type_discovered_at_id", "ix_assets_removed_discovered", "ix_assets_name_connector",
}


def test_upgrade_from_empty_matches_the_models_and_downgrades(catalog_url: str) -> None:
    engine = make_engine(resolve_url(catalog_url))
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    names = {ix["name"] for ix in inspect(engine).get_indexes("assets")}
    assert EXPECTED_INDEXES <= names
    assert {ix["name"] for ix in inspect(engine).get_indexes("data_discovery")} == {
        "ix_data_discovery_asset_id_status"
    }

    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert {"connectors", "assets", "data_discovery", "discovery_runs"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_plain_postgresql_url_uses_psycopg2() -> None:
    assert resolve_url("postgresql://u@h/db").drivername == "postgresql+psycopg2"
    assert resolve_url("postgres://u@h/db").drivername == "postgresql+psycopg2"
    assert resolve_url("sqlite:////tmp/x.db").drivername == "sqlite"
