"""a version number on each sealed node file

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 14:00:00

Node files now travel between running nodes both ways (mss.store.node_files, `sync`):
each change of a row bumps `version`, so a node sees at a glance which rows changed
since its last pass and a republish is made only over the version it read (two nodes
republishing at once: one wins, the other compares again at its next pass). Rows
written so far are version 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sealed_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.BigInteger(), server_default='1',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sealed_files', schema=None) as batch_op:
        batch_op.drop_column('version')
