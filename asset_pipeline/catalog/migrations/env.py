"""Alembic environment: runs on the connection handed over by catalog.db.migrate()."""

from alembic import context

from asset_pipeline.catalog.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through asset_pipeline.catalog.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
