"""Alembic environment: always run with a connection handed in by `mss.store.schema`."""

from __future__ import annotations

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from mss.schema_tables import all_metadata  # every part's tables (autogenerate)
from mss.store.db import UtcDateTime

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through mss.store.schema
    raise RuntimeError("run migrations through `mss db upgrade`")



def render_item(kind: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations stay free of MSS imports: UTC columns are plain timezone datetimes."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    render_item=render_item,
    connection=connection,
    target_metadata=all_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
