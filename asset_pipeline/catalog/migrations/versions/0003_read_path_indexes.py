"""read path indexes: every listing filter leads an index ending in (discovered_at, id)

Replaces the single-column discovered_at, catalog and type indexes by composites that also
serve the newest-first page order (a composite serves every lookup the single column did, so
the load maintains no more indexes than before for these), and adds a partial index for removed
assets, a byte-order (name, connector) index for name prefixes, and discovery_runs.finished_at
for the API's cache key. The general (discovered_at, id) index is partial on "id > 0", true for
every row, so that only queries stating it (those with no filter of their own index) use it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_REPLACED = (  # (old index, old columns, new index, new columns)
    ("ix_assets_catalog", ["catalog"],
     "ix_assets_catalog_discovered_at_id", ["catalog", "discovered_at", "id"]),
    ("ix_assets_type", ["type"],
     "ix_assets_type_discovered_at_id", ["type", "discovered_at", "id"]),
)
_REMOVED_ONLY = "status = 'removed'"
#: Every row; only queries that state it may use the index (see catalog.schema.ALL_ROWS).
_ALL_ROWS = "id > 0"


def upgrade() -> None:
    op.create_index(
        "ix_assets_discovered_at_id", "assets", ["discovered_at", "id"],
        postgresql_where=sa.text(_ALL_ROWS), sqlite_where=sa.text(_ALL_ROWS),
    )
    op.drop_index("ix_assets_discovered_at", table_name="assets")
    for old, _, new, columns in _REPLACED:
        op.create_index(new, "assets", columns)
        op.drop_index(old, table_name="assets")
    op.create_index(
        "ix_assets_removed_discovered", "assets", ["discovered_at", "id"],
        postgresql_where=sa.text(_REMOVED_ONLY), sqlite_where=sa.text(_REMOVED_ONLY),
    )
    op.create_index(
        "ix_assets_name_connector", "assets", ["name", "connector"],
        postgresql_ops={"name": "text_pattern_ops"},
    )
    op.create_index("ix_discovery_runs_finished_at", "discovery_runs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_discovery_runs_finished_at", table_name="discovery_runs")
    op.drop_index("ix_assets_name_connector", table_name="assets")
    op.drop_index("ix_assets_removed_discovered", table_name="assets")
    for old, old_columns, new, _ in reversed(_REPLACED):
        op.create_index(old, "assets", old_columns)
        op.drop_index(new, table_name="assets")
    op.create_index("ix_assets_discovered_at", "assets", ["discovered_at"])
    op.drop_index("ix_assets_discovered_at_id", table_name="assets")
