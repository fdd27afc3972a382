"""small blobs kept in the database

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:40:00

`inline_blobs` starts empty: every message written before this revision keeps its blob
file, and readers look for an inline blob first, then for the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inline_blobs',
    sa.Column('mailbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('blob_key', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'], name=op.f('fk_inline_blobs_mailbox_id_mailboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mailbox_id', 'blob_key', name=op.f('pk_inline_blobs'))
    )


def downgrade() -> None:
    op.drop_table('inline_blobs')
