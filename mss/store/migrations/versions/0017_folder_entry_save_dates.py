"""save date of a folder entry (RFC 8514)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 21:30:00

`folder_entries.saved_at` holds when a message was put in its folder when that is not
its internal date (COPY, MOVE, APPEND with a date); NULL, as for every existing row,
means it was saved when it arrived, so the internal date is its save date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('folder_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saved_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('folder_entries', schema=None) as batch_op:
        batch_op.drop_column('saved_at')
