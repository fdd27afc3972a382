"""blobs in the database, and the node files every node needs

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 21:15:00

`blob_chunks`: the optional database blob backend (issue 24 §3, several nodes share
nothing but the database); `sealed_files`: the PKI and DKIM files sealed under the
master key, which `mss node join` brings to a new node.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'blob_chunks',
        sa.Column('mailbox_id', sa.BigInteger(), nullable=False),
        sa.Column('blob_key', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('mailbox_id', 'blob_key', 'seq', name=op.f('pk_blob_chunks')),
    )
    op.create_table(
        'sealed_files',
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_sealed_files')),
    )


def downgrade() -> None:
    op.drop_table('sealed_files')
    op.drop_table('blob_chunks')
