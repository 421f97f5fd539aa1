"""The HTTP API through Starlette's TestClient: pages, detail, connectors, runs, errors, the
OpenAPI document and the response cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from starlette.routing import Route
from starlette.testclient import TestClient

from asset_pipeline.api.app import ENDPOINTS, create_app
from asset_pipeline.api.cache import ResponseCache, resolve_ttl
from asset_pipeline.api.openapi import openapi_path
from asset_pipeline.catalog.schema import assets
from asset_pipeline_tests.conftest import Pipeline
from asset_pipeline_tests.read_catalog import Filled, filled_catalog


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           pg_server: str) -> Iterator[Filled]:
    with filled_catalog(request.param, tmp_path_factory.mktemp("api"), count=1_500) as catalog:
        yield catalog


@pytest.fixture
def client(filled: Filled) -> TestClient:
    return TestClient(create_app(filled.engine, cache_ttl=0))


def test_pages_over_http_cover_the_catalog_once(client: TestClient, filled: Filled) -> None:
    ids: list[int] = []
    url = "/assets?limit=400&fields=full&total=exact"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [i["id"] for i in page["items"]]
        assert page["total"] == len(filled.rows()) and page["total_kind"] == "exact"
        assert all("latest_change" in i and i["discovered_at"].endswith("Z")
                   for i in page["items"])
        url = page["next_cursor"] and f"/assets?limit=400&fields=full&total=exact&cursor=" \
                                      f"{page['next_cursor']}"
    assert ids == [r["id"] for r in filled.rows()]


def test_filters_travel_through_the_query_string(client: TestClient, filled: Filled) -> None:
    after = filled.files_loaded_at.isoformat()
    page = client.get("/assets", params={"connector": "files", "name_prefix": "a_",
                                         "discovered_after": after}).json()
    assert sorted(i["name"] for i in page["items"]) == ["a_b.csv", "a_c.jsonl"]
    removed = client.get("/assets", params={"status": "removed", "type": "column",
                                            "catalog": "db_0_0000", "schema": "schema_000",
                                            "limit": 1000}).json()["items"]
    assert removed and {(i["status"], i["type"]) for i in removed} == {("removed", "column")}
    before = client.get("/assets", params={"discovered_before": after, "limit": 1000}).json()
    assert {i["connector"] for i in before["items"]} == {"syn"}


def test_asset_detail_by_id_and_by_name(client: TestClient, filled: Filled) -> None:
    row = next(r for r in filled.rows() if r["connector"] == "files" and r["name"] == "a%b.csv")
    detail = client.get(f"/assets/{row['id']}").json()
    assert detail["qualified_name"] == "a%b.csv" and detail["connector_info"]["kind"] == "filesystem"
    assert [h["status"] for h in detail["history"]] == ["new"]
    nested = next(r for r in filled.rows() if r["qualified_name"] == "sub/deeper/z.csv")
    by_name = client.get("/connectors/files/assets/sub/deeper/z.csv?history=0").json()
    assert by_name["id"] == nested["id"] and by_name["history"] == []
    assert by_name["history_truncated"] is True


def test_connectors_and_their_runs(client: TestClient, filled: Filled) -> None:
    items = client.get("/connectors").json()["items"]
    assert [c["name"] for c in items] == ["files", "syn"]
    syn = items[1]
    assert syn["kind"] == "synthetic" and syn["last_run"]["outcome"] == "success"
    first = client.get("/connectors/syn/runs?limit=1").json()
    assert first["items"][0]["run_id"] == syn["last_run"]["run_id"]
    second = client.get(f"/connectors/syn/runs?limit=1&cursor={first['next_cursor']}").json()
    assert second["items"][0]["new"] == 1_500 and second["next_cursor"] is None
    health = client.get("/health")
    assert health.json() == {"status": "ok", "database": filled.engine.dialect.name}


@pytest.mark.parametrize("path,status,message", [
    ("/assets?limit=0", 400, "limit must be from 1 to 1000"),
    ("/assets?limit=ten", 400, "limit must be an integer"),
    ("/assets?status=gone", 400, "status must be one of active, removed"),
    ("/assets?type=tabel", 400, "type must be one of"),
    ("/assets?fields=all", 400, "fields must be one of minimal, full"),
    ("/assets?total=some", 400, "total must be one of none, estimate, exact"),
    ("/assets?discovered_after=yesterday", 400, "discovered_after must be an ISO 8601"),
    ("/assets?connector=", 400, "connector must be 1 to 2000 characters"),
    ("/assets?colour=red", 400, "unknown parameter 'colour'"),
    ("/assets?type=table&type=column", 400, "given more than once"),
    ("/assets?cursor=garbage", 400, "cursor is"),
    ("/assets/abc", 400, "asset id must be a positive integer"),
    ("/assets/99999999999999999999", 400, "asset id must be a positive integer"),
    ("/assets/999999999", 404, "no asset with id 999999999"),
    ("/connectors/syn/assets/no/such/thing", 404, "no asset with 'no/such/thing'"),
    ("/connectors/nobody/runs", 404, "unknown connector 'nobody'"),
    ("/nowhere", 404, "Not Found"),
])
def test_bad_requests_get_a_status_and_a_message(
    client: TestClient, path: str, status: int, message: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_a_tampered_cursor_or_one_from_other_filters_is_a_400(client: TestClient) -> None:
    cursor = client.get("/assets?connector=syn&limit=5").json()["next_cursor"]
    body, sig = cursor.split(".")
    tampered = body[:5] + ("x" if body[5] != "x" else "y") + body[6:] + "." + sig
    response = client.get(f"/assets?connector=syn&limit=5&cursor={tampered}")
    assert response.status_code == 400 and "cursor is invalid" in response.json()["error"]
    response = client.get(f"/assets?connector=files&limit=5&cursor={cursor}")
    assert response.status_code == 400 and "another query" in response.json()["error"]
    assert client.get(f"/assets?connector=syn&limit=9&cursor={cursor}").status_code == 200


def test_openapi_document_matches_the_routes_and_parameters(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    routes = {openapi_path(r.path) for r in client.app.routes if isinstance(r, Route)}
    assert set(doc["paths"]) == routes
    assert {"/assets", "/assets/{asset_id}", "/connectors", "/connectors/{name}/runs",
            "/health"} <= routes
    for endpoint in ENDPOINTS:
        op = doc["paths"][openapi_path(endpoint.path)]["get"]
        assert [p["name"] for p in op["parameters"] if p["in"] == "query"] == [
            p.name for p in endpoint.params]
        for ref in _refs(op["responses"]):
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    params = {p["name"]: p for p in doc["paths"]["/assets"]["get"]["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer", "default": 50, "minimum": 1,
                                         "maximum": 1000}
    assert params["total"]["schema"]["enum"] == ["none", "estimate", "exact"]


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "$ref"] + [
            r for v in value.values() for r in _refs(v)]
    return [r for v in value for r in _refs(v)] if isinstance(value, list) else []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_cache_serves_until_a_run_finishes_or_the_ttl_passes(pipeline: Pipeline) -> None:
    pipeline.add("syn", "synthetic", {"count": 200})
    pipeline.run("syn")
    clock = FakeClock()
    client = TestClient(create_app(pipeline.engine, cache=ResponseCache(60, clock=clock)))

    first = client.get("/assets?limit=5")
    assert first.headers["x-cache"] == "miss"
    again = client.get("/assets?limit=5")
    assert again.headers["x-cache"] == "hit" and again.content == first.content
    # A row written outside any run is not seen while the cached page is fresh ...
    now = datetime.now(UTC)
    with pipeline.engine.begin() as conn:
        conn.execute(insert(assets).values(
            connector="syn", qualified_name="direct", name="direct", type="table",
            fingerprint="f", status="active", last_run_id="r", discovered_at=now, updated_at=now))
    assert client.get("/assets?limit=5").content == first.content
    assert client.get("/assets?limit=5").headers["x-cache"] == "hit"
    # ... and is once the cache expires.
    clock.now += 61
    expired = client.get("/assets?limit=5")
    assert expired.headers["x-cache"] == "miss" and "direct" in expired.text

    # A run that finishes loading invalidates at once, long before the TTL.
    pipeline.add("late", "synthetic", {"count": 10, "seed": 3})
    pipeline.run("late")
    fresh = client.get("/assets?limit=5")
    assert fresh.headers["x-cache"] == "miss"
    assert {i["connector"] for i in fresh.json()["items"]} == {"late"}
    assert client.get("/connectors").headers["x-cache"] == "miss"
    assert "x-cache" not in client.get("/health").headers  # never cached
    assert client.get("/assets?limit=0").status_code == 400  # errors are not cached
    assert client.get("/assets?limit=0").headers.get("x-cache") is None


def test_cache_ttl_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_ttl(None) == 60 and resolve_ttl(300) == 300 and resolve_ttl(0) == 0
    monkeypatch.setenv("ASSET_PIPELINE_API_CACHE_TTL", "120")
    assert resolve_ttl(None) == 120
    for bad in (30, 301, -1):
        with pytest.raises(ValueError, match="60 to 300 seconds"):
            resolve_ttl(bad)
