"""Validate a connector's record and turn it into a staged row with a stable fingerprint.

The fingerprint is a hash of the normalized description: properties serialized with sorted keys,
no volatile fields. Same source, same fingerprint, every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from hashlib import sha1
from typing import Any

from asset_pipeline.connectors.base import ASSET_TYPES, AssetRecord

MAX_NAME_LENGTH = 2000

#: Column order of a staged row (see catalog.staging).
STAGED_COLUMNS = (
    "qualified_name", "type", "name", "catalog", "schema", "parent",
    "size_bytes", "row_count", "properties", "fingerprint",
)
StagedRow = tuple[str, str, str, str | None, str | None, str | None, int | None, int | None,
                  str | None, str]

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False).encode


class RejectedRecord(ValueError):
    """A record that cannot enter the catalog; the message is the reason."""


def _text(value: Any, field: str, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise RejectedRecord(f"{field} is empty")
        return None
    if type(value) is not str:
        raise RejectedRecord(f"{field} must be text, got {type(value).__name__}")
    if len(value) > MAX_NAME_LENGTH:
        raise RejectedRecord(f"{field} is longer than {MAX_NAME_LENGTH} characters")
    if "\x00" in value:
        raise RejectedRecord(f"{field} contains a NUL character")
    return value


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise RejectedRecord(f"{field} must be a non-negative integer, got {value!r}")
    return value


def normalize(record: Any) -> StagedRow:
    """Validate ``record`` and return its staged row.

    Raises:
        RejectedRecord: with the reason the record cannot be loaded.
    """
    if not isinstance(record, AssetRecord):
        raise RejectedRecord(f"not an AssetRecord: {type(record).__name__}")
    qualified_name, kind, name, catalog, schema, parent, size, rows, props = record
    qualified_name = _text(qualified_name, "qualified_name", True)
    if kind not in ASSET_TYPES:
        raise RejectedRecord(f"unknown asset type {kind!r}")
    name = _text(name, "name", True)
    catalog = _text(catalog, "catalog", False)
    schema = _text(schema, "schema", False)
    parent = _text(parent, "parent", False)
    size = _count(size, "size_bytes")
    rows = _count(rows, "row_count")
    if props:
        if not isinstance(props, Mapping):
            raise RejectedRecord(f"properties must be a mapping, got {type(props).__name__}")
        try:
            props_json: str | None = _dumps(props)
        except (TypeError, ValueError) as exc:
            raise RejectedRecord(f"properties are not JSON: {exc}") from None
        if "\\u0000" in props_json:  # type: ignore[operator]
            raise RejectedRecord("properties contain a NUL character")
    else:
        props_json = None
    digest = sha1(
        f"{kind}\x1f{name}\x1f{catalog}\x1f{schema}\x1f{parent}\x1f{size}\x1f{rows}\x1f{props_json}"
        .encode()
    ).hexdigest()
    return (qualified_name, kind, name, catalog, schema, parent, size, rows, props_json, digest)  # type: ignore[return-value]
