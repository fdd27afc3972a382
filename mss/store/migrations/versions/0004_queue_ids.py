"""queue id stored with each message and each outbound message

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:10:00

The id the accepting session gave the client (`250 2.0.0 Ok: queued as …`) is kept on
the delivered rows and the queued message, so `mss trace` finds a message from a log
line. Rows written before this revision have none (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('messages', 'outbound_messages'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('queue_id', sa.String(length=32), nullable=True))
            batch_op.create_index(f'ix_{table}_queue_id', ['queue_id'], unique=False)


def downgrade() -> None:
    for table in ('messages', 'outbound_messages'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_queue_id')
            batch_op.drop_column('queue_id')
