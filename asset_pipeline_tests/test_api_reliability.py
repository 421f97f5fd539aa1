"""Hostile parameters and secrets through the HTTP API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from asset_pipeline.api.app import create_app
from asset_pipeline.catalog.schema import assets

from .conftest import Pipeline
from .test_sql_connector import PgSource, pg_source  # noqa: F401  (fixture)

HOSTILE = "x' OR '1'='1'; DROP TABLE assets; --"


def _count(pipeline: Pipeline) -> int:
    with pipeline.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(assets)) or 0


@pytest.mark.parametrize("path", [
    f"/assets?connector={HOSTILE}", f"/assets?catalog={HOSTILE}", f"/assets?schema={HOSTILE}",
    f"/assets?name_prefix={HOSTILE}", "/assets?name_prefix=%25", "/assets?name_prefix=_",
    f"/connectors/{HOSTILE}/runs", f"/connectors/syn/assets/{HOSTILE}",
])
def test_injection_text_is_only_ever_a_value(pipeline: Pipeline, path: str) -> None:
    pipeline.add("syn", "synthetic", {"count": 300})
    pipeline.run("syn")
    client = TestClient(create_app(pipeline.engine, cache_ttl=0))
    response = client.get(path)
    assert response.status_code in (200, 404), response.text
    if response.status_code == 200:
        assert response.json()["items"] == []  # matched literally: nothing has such a value
    assert _count(pipeline) == 300


def test_planted_source_password_is_in_no_api_response(
    pipeline: Pipeline, pg_source: PgSource, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    secret = "Planted-Api-S3cret-4417"
    role = "ap_api_reader"
    pg_source.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{secret}'; CREATE SCHEMA app; "
                  f"CREATE TABLE app.t (id int); GRANT USAGE ON SCHEMA app TO {role};")
    try:
        monkeypatch.setenv("AP_API_TEST_PASSWORD", secret)
        pipeline.add("db", "sql", pg_source.config(user=role, password_env="AP_API_TEST_PASSWORD"))
        pipeline.run("db")
        client = TestClient(create_app(pipeline.engine, cache_ttl=0))
        listing = client.get("/assets?connector=db&fields=full")
        bodies = [listing.text, client.get("/connectors").text,
                  client.get("/connectors/db/runs").text]
        bodies += [client.get(f"/assets/{item['id']}").text for item in listing.json()["items"]]
        assert len(bodies) > 3 and "AP_API_TEST_PASSWORD" in bodies[1]  # the name, not the value
        assert not [b for b in bodies if secret in b]
    finally:
        pg_source.sql(f"DROP OWNED BY {role}; DROP ROLE {role};")
