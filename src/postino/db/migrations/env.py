"""Alembic environment: runs on the connection Postino hands it."""

from alembic import context

from postino.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through postino.db.migrate
    raise RuntimeError("run migrations with `postino migrate`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
