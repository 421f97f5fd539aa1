"""Maps connector kind names to classes; validates configs into connectors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from asset_pipeline.connectors.base import Connector
from asset_pipeline.connectors.filesystem import FilesystemConnector
from asset_pipeline.connectors.s3 import S3Connector
from asset_pipeline.connectors.sql import SqlConnector
from asset_pipeline.connectors.synthetic import SyntheticConnector

CONNECTOR_KINDS: dict[str, type[Connector[Any]]] = {
    cls.kind: cls for cls in (SyntheticConnector, FilesystemConnector, SqlConnector, S3Connector)
}


class ConnectorConfigError(ValueError):
    """A connector's kind or config is invalid. The message names what is wrong."""


def connector_class(kind: str) -> type[Connector[Any]]:
    """The class for ``kind``; an unknown kind raises, listing the known ones."""
    try:
        return CONNECTOR_KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTOR_KINDS))
        raise ConnectorConfigError(f"unknown connector kind {kind!r}; known kinds: {known}") from None


def build_connector(name: str, kind: str, config: dict[str, Any]) -> Connector[Any]:
    """Validate ``config`` for ``kind`` and return the connector.

    Raises:
        ConnectorConfigError: unknown kind, or one line per invalid field.
    """
    cls = connector_class(kind)
    try:
        parsed = cls.config_model.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(config)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConnectorConfigError(
            f"invalid config for connector {name!r} (kind {kind}): {problems}"
        ) from None
    return cls(name, parsed)


def config_fields(kind: str) -> dict[str, str]:
    """Field name -> description for ``kind``'s config, for help texts and docs."""
    model = connector_class(kind).config_model
    return {name: f.description or "" for name, f in model.model_fields.items()}
