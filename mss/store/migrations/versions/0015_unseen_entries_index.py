"""an index of the entries without \\Seen

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 21:20:00

SELECT answers ``OK [UNSEEN n]`` with the first message without `\\Seen` (RFC 3501
§7.1); in a folder of 100,000 messages read but the last few, finding it scanned every
entry. A partial index of (folder_id, uid) over the unread entries alone finds it at
once and stays small (mss.store.unseen_index).
"""

from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    find = 'instr' if op.get_bind().dialect.name == 'sqlite' else 'strpos'
    op.execute("CREATE INDEX ix_folder_entries_unseen ON folder_entries (folder_id, uid) "
               f"WHERE {find}(flags, '\\Seen') = 0")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_folder_entries_unseen")
