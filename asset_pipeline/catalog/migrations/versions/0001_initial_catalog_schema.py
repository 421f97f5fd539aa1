"""initial catalog schema: connectors, assets, data_discovery, discovery_runs

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)
Name = sa.String(length=2000)


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("refresh_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_connectors")),
    )
    op.create_table(
        "assets",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=200), nullable=False),
        sa.Column("qualified_name", Name, nullable=False),
        sa.Column("catalog", Name, nullable=True),
        sa.Column("schema", Name, nullable=True),
        sa.Column("name", Name, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("parent", Name, nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("properties", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("discovered_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("last_run_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
    )
    op.create_index(
        op.f("ix_assets_connector_qualified_name"),
        "assets",
        ["connector", "qualified_name"],
        unique=True,
    )
    op.create_index(
        "ix_assets_connector_discovered",
        "assets",
        ["connector", sa.literal_column("discovered_at DESC"), sa.literal_column("id DESC")],
    )
    op.create_index(op.f("ix_assets_discovered_at"), "assets", ["discovered_at"])
    op.create_index(op.f("ix_assets_catalog"), "assets", ["catalog"])
    op.create_index(op.f("ix_assets_type"), "assets", ["type"])

    op.create_table(
        "discovery_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("connector", sa.String(length=200), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in (
                "discovered", "new", "changed", "restored", "unchanged", "removed", "rejected"
            )
        ),
        *(
            sa.Column(name, sa.Float(), nullable=True)
            for name in (
                "discover_seconds", "dedup_seconds", "load_seconds", "seconds_per_10k",
                "peak_rss_mb",
            )
        ),
        sa.Column("details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connector"], ["connectors.name"], name=op.f("fk_discovery_runs_connector_connectors")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_discovery_runs")),
    )
    op.create_index(
        op.f("ix_discovery_runs_connector_started_at"), "discovery_runs", ["connector", "started_at"]
    )

    op.create_table(
        "data_discovery",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("asset_id", Id, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_discovery")),
    )
    op.create_index(
        op.f("ix_data_discovery_asset_id_status"), "data_discovery", ["asset_id", "status"]
    )


def downgrade() -> None:
    op.drop_table("data_discovery")
    op.drop_table("discovery_runs")
    op.drop_table("assets")
    op.drop_table("connectors")
