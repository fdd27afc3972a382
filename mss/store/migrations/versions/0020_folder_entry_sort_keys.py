"""sort keys beside each folder entry, with (folder_id, key, uid) indexes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 08:40:00

SORT of a folder of 100,000 messages (RFC 5256 §3) joined `folder_entries` to
`messages` and sorted 100,000 rows on every command. The keys now sit on the entry
itself (copied from its message: DATE is the sent date or, without one, the internal
date, RFC 5256 §2.2; ARRIVAL the internal date; SIZE; FROM, TO, CC and SUBJECT as
mss.store.sort_keys computed them), and the keys clients sort by have an index of
(folder_id, key, uid), so the database reads a folder in order instead of sorting it.
Existing entries take the keys of their message here.

Only columns are added (no table rebuild): the counter triggers of 0013 stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

INDEXED = ("sort_date", "sort_arrival", "sort_from", "sort_subject", "sort_size")
COLUMNS = ("sort_date", "sort_arrival", "sort_size", "sort_from", "sort_to", "sort_cc",
           "sort_subject")


def upgrade() -> None:
    op.add_column('folder_entries', sa.Column('sort_date', sa.DateTime(timezone=True),
                                              nullable=True))
    op.add_column('folder_entries', sa.Column('sort_arrival', sa.DateTime(timezone=True),
                                              nullable=True))
    op.add_column('folder_entries', sa.Column('sort_size', sa.BigInteger(), nullable=False,
                                              server_default='0'))
    for name in ("sort_from", "sort_to", "sort_cc", "sort_subject"):
        op.add_column('folder_entries', sa.Column(name, sa.Text(), nullable=False,
                                                  server_default=''))
    # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33
    op.execute(
        "UPDATE folder_entries SET sort_date = COALESCE(m.sent_date, m.internal_date),"
        " sort_arrival = m.internal_date, sort_size = m.size, sort_from = m.sort_from,"
        " sort_to = m.sort_to, sort_cc = m.sort_cc, sort_subject = m.sort_subject"
        " FROM messages AS m WHERE m.id = folder_entries.message_id")
    for key in INDEXED:
        op.create_index(f'ix_folder_entries_{key}', 'folder_entries',
                        ['folder_id', key, 'uid'], unique=False)


def downgrade() -> None:
    for key in INDEXED:
        op.drop_index(f'ix_folder_entries_{key}', table_name='folder_entries')
    for name in reversed(COLUMNS):  # ALTER TABLE DROP COLUMN: no rebuild, triggers kept
        op.execute(f"ALTER TABLE folder_entries DROP COLUMN {name}")
