"""delivery keys: a retried message is not delivered twice

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 21:20:00

One row per accepted message that carries its sender's Message-ID
(mss/pipeline/delivery_keys.py). Messages accepted before this revision have none: a
retry of one of them is delivered again, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_keys',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('queue_id', sa.String(length=32), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_delivery_keys'))
    )
    with op.batch_alter_table('delivery_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_keys_accepted_at'), ['accepted_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_keys_accepted_at'))
    op.drop_table('delivery_keys')
