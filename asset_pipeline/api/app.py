"""The read API: a Starlette app over the catalog's read path.

    GET /assets                                  list, filtered, keyset-paginated
    GET /assets/{id}                             one asset, its connector and history
    GET /connectors/{name}/assets/{qualified_name}  the same, by identity
    GET /connectors                              connectors with their latest run
    GET /connectors/{name}/runs                  a connector's runs, newest first
    GET /health                                  the catalog database answers
    GET /openapi.json                            this API described

Handlers are plain functions: Starlette runs them in its thread pool, so a slow query never
blocks the event loop. Bad parameters answer 400, unknown ids and names 404, both as
``{"error": message}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from asset_pipeline.api.cache import ResponseCache, resolve_ttl
from asset_pipeline.api.openapi import openapi_document
from asset_pipeline.api.params import (
    ASSET_DETAIL,
    ASSET_LIST,
    FILTERS,
    RUN_LIST,
    Param,
    parse_query,
)
from asset_pipeline.catalog.connectors import ConnectorNotFound
from asset_pipeline.catalog.filters import AssetFilters
from asset_pipeline.catalog.queries import get_asset, jsonable, list_assets
from asset_pipeline.catalog.read_errors import AssetNotFound, InvalidQuery
from asset_pipeline.catalog.run_history import catalog_version, connectors_overview, list_runs

MAX_ID = 2**63 - 1


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Endpoint:
    """A GET route: its handler, its query parameters and how the OpenAPI document names it."""

    path: str
    handler: Callable[[Engine, Request, dict[str, Any]], Any]
    summary: str
    params: Sequence[Param] = ()
    path_params: Sequence[tuple[str, str]] = ()
    response: str = "object"
    cached: bool = True


def _assets(engine: Engine, _request: Request, q: dict[str, Any]) -> Any:
    filters = AssetFilters(**{p.name: q[p.name] for p in FILTERS})
    return list_assets(engine, filters, limit=q["limit"], cursor=q["cursor"], fields=q["fields"],
                       total=q["total"]).as_json()


def _asset(engine: Engine, request: Request, q: dict[str, Any]) -> Any:
    raw = request.path_params["asset_id"]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise InvalidQuery(f"asset id must be a positive integer, got {raw!r}")
    return jsonable(get_asset(engine, int(raw), history=q["history"]))


def _asset_by_name(engine: Engine, request: Request, q: dict[str, Any]) -> Any:
    return jsonable(get_asset(engine, connector=request.path_params["name"],
                              qualified_name=request.path_params["qualified_name"],
                              history=q["history"]))


def _connectors(engine: Engine, _request: Request, _q: dict[str, Any]) -> Any:
    return {"items": jsonable(connectors_overview(engine))}


def _runs(engine: Engine, request: Request, q: dict[str, Any]) -> Any:
    runs, next_cursor = list_runs(engine, request.path_params["name"], limit=q["limit"],
                                  cursor=q["cursor"])
    return {"items": jsonable(runs), "next_cursor": next_cursor, "limit": q["limit"]}


def _health(engine: Engine, _request: Request, _q: dict[str, Any]) -> Any:
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer: unhealthy, not a 500
        raise ApiError(503, f"catalog database unreachable: {type(exc).__name__}") from None
    return {"status": "ok", "database": engine.dialect.name}


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/assets", _assets, "List assets, newest first, one page at a time", ASSET_LIST,
             response="AssetPage"),
    Endpoint("/assets/{asset_id}", _asset, "One asset with its connector and latest changes",
             ASSET_DETAIL, (("asset_id", "integer"),), response="AssetDetail"),
    Endpoint("/connectors", _connectors, "Registered connectors with their latest run",
             response="ConnectorList"),
    Endpoint("/connectors/{name}/assets/{qualified_name:path}", _asset_by_name,
             "One asset by connector and qualified name", ASSET_DETAIL,
             (("name", "string"), ("qualified_name", "string")), response="AssetDetail"),
    Endpoint("/connectors/{name}/runs", _runs, "A connector's discovery runs, newest first",
             RUN_LIST, (("name", "string"),), response="RunPage"),
    Endpoint("/health", _health, "The API and its catalog database answer", response="Health",
             cached=False),
)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _error(status: int, message: str) -> Response:
    return Response(_json({"error": message}), status, media_type="application/json")


def _route(engine: Engine, endpoint: Endpoint, cache: ResponseCache | None) -> Route:
    def handle(request: Request) -> Response:
        key = (request.url.path, tuple(sorted(request.query_params.multi_items())))
        version = None
        if cache is not None and endpoint.cached:
            version = catalog_version(engine)  # before computing: see api.cache
            body = cache.get(key, version)
            if body is not None:
                return Response(body, media_type="application/json", headers={"X-Cache": "hit"})
        try:
            query = parse_query(request.query_params, endpoint.params)
            body = _json(endpoint.handler(engine, request, query))
        except InvalidQuery as exc:  # includes InvalidCursor
            return _error(400, str(exc))
        except (AssetNotFound, ConnectorNotFound) as exc:
            return _error(404, str(exc.args[0]))
        except ApiError as exc:
            return _error(exc.status, exc.message)
        headers = {}
        if version is not None:
            cache.put(key, version, body)  # type: ignore[union-attr]
            headers["X-Cache"] = "miss"
        return Response(body, media_type="application/json", headers=headers)

    return Route(endpoint.path, handle, methods=["GET"], name=endpoint.handler.__name__.lstrip("_"))


def create_app(engine: Engine, cache_ttl: int | None = None,
               cache: ResponseCache | None = None) -> Starlette:
    """The API over ``engine``'s catalog.

    Args:
        cache_ttl: seconds a response may be reused (60-300, 0 for no cache; default
            ``$ASSET_PIPELINE_API_CACHE_TTL`` or 60). Ignored when ``cache`` is given.
        cache: a cache to use (tests pass one with a fake clock).
    """
    if cache is None:
        ttl = resolve_ttl(cache_ttl)
        cache = ResponseCache(ttl) if ttl else None
    document = _json(openapi_document(ENDPOINTS))
    routes = [_route(engine, e, cache) for e in ENDPOINTS]
    routes.append(Route("/openapi.json", lambda _r: Response(document,
                                                              media_type="application/json")))

    async def not_found(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return _error(status, exc.detail if isinstance(exc, HTTPException) else "internal error")

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.cache = cache
    return app

