"""The OpenAPI 3.1 document of the read API, built from the same declarations that parse
requests (``api.params``) and route them (``api.app.ENDPOINTS``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from asset_pipeline.api.params import Param

if TYPE_CHECKING:
    from asset_pipeline.api.app import Endpoint

_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_TIME = {"type": "string", "format": "date-time"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], optional: Sequence[str] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": [k for k in properties if k not in optional]}


_MINIMAL = {"id": _INT, "connector": _STR, "qualified_name": _STR, "name": _STR, "type": _STR,
            "status": {"type": "string", "enum": ["active", "removed"]}, "discovered_at": _TIME}
_FULL = {**_MINIMAL, "catalog": _nullable(_STR), "schema": _nullable(_STR),
         "parent": _nullable(_STR), "size_bytes": _nullable(_INT), "row_count": _nullable(_INT),
         "properties": _nullable({"type": "object"}), "fingerprint": _STR, "updated_at": _TIME,
         "last_run_id": _STR}
_CHANGE = _object({"status": {"type": "string", "enum": ["new", "changed", "removed", "restored"]},
                   "at": _TIME, "run_id": _STR})
_RUN = _object({"run_id": _STR, "connector": _STR, "started_at": _TIME,
                "finished_at": _nullable(_TIME),
                "outcome": {"type": "string", "enum": ["running", "success", "failed"]},
                **{k: _INT for k in ("discovered", "new", "changed", "restored", "unchanged",
                                     "removed", "rejected")},
                "details": _nullable({"type": "object"})}, optional=("details",))

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": _STR}),
    "Asset": {**_object({**_FULL, "latest_change": _nullable(_ref("Change"))},
                        optional=[*(k for k in _FULL if k not in _MINIMAL), "latest_change"]),
              "description": "Key fields always; the others and latest_change with fields=full."},
    "Change": _CHANGE,
    "AssetPage": _object({
        "items": {"type": "array", "items": _ref("Asset")},
        "next_cursor": {**_nullable(_STR), "description": "null on the last page"},
        "limit": _INT, "total": _nullable(_INT),
        "total_kind": {"type": "string", "enum": ["none", "estimate", "exact"]},
    }),
    "AssetDetail": {"allOf": [_ref("Asset"), _object({
        "connector_info": _nullable(_object({"name": _STR, "kind": _STR, "enabled": _BOOL,
                                             "refresh_interval_seconds": _INT})),
        "history": {"type": "array", "items": _object({
            "status": _STR, "at": _TIME, "run_id": _STR, "fingerprint": _STR})},
        "history_truncated": _BOOL,
    })]},
    "Run": _RUN,
    "RunPage": _object({"items": {"type": "array", "items": _ref("Run")},
                        "next_cursor": _nullable(_STR), "limit": _INT}),
    "ConnectorList": _object({"items": {"type": "array", "items": _object({
        "name": _STR, "kind": _STR, "enabled": _BOOL, "refresh_interval_seconds": _INT,
        "config": {"type": "object"}, "created_at": _TIME, "updated_at": _TIME,
        "last_run": _nullable({"type": "object"})})}}),
    "Health": _object({"status": _STR, "database": _STR}),
}


def _parameter(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = (
        {"type": "string", "format": "date-time"} if p.kind == "date-time" else {"type": p.kind})
    for key in ("enum", "default", "minimum", "maximum"):
        value = getattr(p, key)
        if value is not None:
            schema[key] = list(value) if key == "enum" else value
    return {"name": p.name, "in": "query", "required": False, "description": p.description,
            "schema": schema}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


def openapi_path(path: str) -> str:
    """A Starlette route path as OpenAPI writes it (``{x:path}`` -> ``{x}``)."""
    return path.replace(":path}", "}")


def openapi_document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``endpoints``."""
    paths: dict[str, Any] = {}
    for e in endpoints:
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": kind}}
                      for name, kind in e.path_params]
        responses: dict[str, Any] = {
            "200": {"description": "OK",
                    "content": {"application/json": {"schema": _ref(e.response)}}},
        }
        if e.params or e.path_params:
            responses["400"] = _error("A bad parameter; the message says which and why.")
        if e.path_params:
            responses["404"] = _error("No such asset or connector.")
        if not e.cached:
            responses["503"] = _error("The catalog database does not answer.")
        paths[openapi_path(e.path)] = {"get": {
            "summary": e.summary, "operationId": e.handler.__name__.lstrip("_"),
            "parameters": parameters + [_parameter(p) for p in e.params],
            "responses": responses,
        }}
    paths["/openapi.json"] = {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": {"description": "OK"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "asset_pipeline catalog", "version": "1",
                 "description": "Read API over the asset catalog. Pages are newest first by "
                                "discovered_at then id; follow next_cursor until it is null. "
                                "Responses may be cached up to the server's TTL (60-300 s) and "
                                "are refreshed as soon as a discovery run finishes."},
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }
