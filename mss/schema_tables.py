"""Every table of MSS in one metadata: what Alembic compares migrations against, and
the schema test checks (docs/architecture.md §5).

Each part declares its tables on `mss.store.db.Base` from below; this module, above
them all, imports each table module so that the metadata is complete. The store itself
never imports a part above it.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from mss.agenda import tables as agenda_tables
from mss.directory import account_tables, conversation_tables
from mss.directory import tables as directory_tables
from mss.notify import tables as notify_tables
from mss.oidc import tables as oidc_tables
from mss.pipeline import tables as pipeline_tables
from mss.profile import tables as profile_tables
from mss.store import tables as store_tables
from mss.store.db import Base
from mss.vault import tables as vault_tables

TABLE_MODULES = (store_tables, directory_tables, account_tables, conversation_tables,
                 pipeline_tables, vault_tables, oidc_tables, notify_tables, agenda_tables,
                 profile_tables)


def all_metadata() -> MetaData:
    """The metadata of every table (each module above has registered its own)."""
    return Base.metadata
