"""sort keys in byte order on PostgreSQL (collation "C")

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 14:25:00

RFC 5256 §2.1 orders SORT keys with i;ascii-casemap: octets of keys already upper-cased
(mss.store.sort_keys). PostgreSQL compared the text sort keys (and built their indexes)
in the database's collation, so on a database created in, say, en_US.UTF-8 "A-B", "A B"
and "AB" sorted by linguistic rules instead. The columns now use collation "C" (their
indexes are rebuilt by the same statement). SQLite's BINARY default already is that
order: nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

COLUMNS = {"messages": ("sort_subject", "sort_from", "sort_to", "sort_cc"),
           "folder_entries": ("sort_from", "sort_to", "sort_cc", "sort_subject")}


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN {c} TYPE text COLLATE "{collation}"'
                            for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
