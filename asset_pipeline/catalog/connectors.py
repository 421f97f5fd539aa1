"""Connector registrations in the catalog (the source of the Dagster partitions)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from asset_pipeline.catalog.schema import assets, connectors, data_discovery, discovery_runs


@dataclass(frozen=True)
class ConnectorRow:
    name: str
    kind: str
    config: dict[str, Any]
    enabled: bool
    refresh_interval_seconds: int
    created_at: datetime
    updated_at: datetime


#: A connector name is a Dagster partition key, a path segment of the API and a CLI argument.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


class ConnectorExists(ValueError):
    pass


class InvalidConnectorName(ValueError):
    pass


def check_name(name: str) -> str:
    """Return ``name`` if it can name a connector, else raise with the rule."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidConnectorName(
            f"invalid connector name {name[:80]!r}: use 1-200 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


class ConnectorNotFound(LookupError):
    pass


def _row(r: Any) -> ConnectorRow:
    return ConnectorRow(
        r.name, r.kind, json.loads(r.config), r.enabled, r.refresh_interval_seconds,
        r.created_at, r.updated_at,
    )


def add_connector(
    engine: Engine, name: str, kind: str, config: dict[str, Any], *, enabled: bool = True,
    refresh_interval_seconds: int = 86_400, replace: bool = False,
) -> ConnectorRow:
    """Store a validated connector. ``replace`` updates an existing one instead of refusing."""
    check_name(name)
    now = datetime.now(timezone.utc)
    values = {"kind": kind, "config": json.dumps(config, sort_keys=True), "enabled": enabled,
              "refresh_interval_seconds": refresh_interval_seconds, "updated_at": now}
    with engine.begin() as conn:
        exists = conn.scalar(select(func.count()).where(connectors.c.name == name))
        if exists and not replace:
            raise ConnectorExists(f"connector {name!r} already exists (use --replace to update it)")
        if exists:
            conn.execute(update(connectors).where(connectors.c.name == name).values(**values))
        else:
            conn.execute(insert(connectors).values(name=name, created_at=now, **values))
    return get_connector(engine, name)


def get_connector(engine: Engine, name: str) -> ConnectorRow:
    with engine.connect() as conn:
        r = conn.execute(select(connectors).where(connectors.c.name == name)).one_or_none()
    if r is None:
        known = ", ".join(list_connector_names(engine)) or "(none registered)"
        raise ConnectorNotFound(f"unknown connector {name!r}; known connectors: {known}")
    return _row(r)


def list_connectors(engine: Engine) -> list[ConnectorRow]:
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(select(connectors).order_by(connectors.c.name))]


def list_connector_names(engine: Engine, enabled_only: bool = False) -> list[str]:
    query = select(connectors.c.name).order_by(connectors.c.name)
    if enabled_only:
        query = query.where(connectors.c.enabled.is_(True))
    with engine.connect() as conn:
        return list(conn.scalars(query))


def asset_counts(engine: Engine, name: str) -> dict[str, int]:
    """Assets of a connector per status."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(assets.c.status, func.count()).where(assets.c.connector == name)
            .group_by(assets.c.status)
        )
        return {status: n for status, n in rows}


def remove_connector(engine: Engine, name: str, purge: bool = False) -> int:
    """Delete a connector. Its catalog assets block this unless ``purge`` deletes them too.

    Returns:
        the number of assets deleted.
    """
    get_connector(engine, name)
    with engine.begin() as conn:
        held = conn.scalar(select(func.count()).where(assets.c.connector == name)) or 0
        if held and not purge:
            raise ValueError(
                f"connector {name!r} still has {held} assets in the catalog; "
                "pass --purge to delete them with it"
            )
        ids = select(assets.c.id).where(assets.c.connector == name)
        conn.execute(delete(data_discovery).where(data_discovery.c.asset_id.in_(ids)))
        conn.execute(delete(assets).where(assets.c.connector == name))
        conn.execute(delete(discovery_runs).where(discovery_runs.c.connector == name))
        conn.execute(delete(connectors).where(connectors.c.name == name))
    return held
