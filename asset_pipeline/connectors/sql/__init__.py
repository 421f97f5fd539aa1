"""The ``sql`` connector kind: what lives in a PostgreSQL, SQLite or MySQL / MariaDB database."""

from asset_pipeline.connectors.sql.config import SqlConfig
from asset_pipeline.connectors.sql.connector import SqlConnector

__all__ = ["SqlConfig", "SqlConnector"]
