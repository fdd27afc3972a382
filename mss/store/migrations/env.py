"""Alembic environment: always run with a connection handed in by `mss.store.schema`."""

from __future__ import annotations

from alembic import context

from mss.store.schema import all_metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through mss.store.schema
    raise RuntimeError("run migrations through `mss db upgrade`")

context.configure(
    connection=connection,
    target_metadata=all_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
