"""sealed header beside each message; expunged UIDs for QRESYNC

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 16:45:00

`messages.sealed_header` is NULL on rows written before this revision: readers fall
back to the blob for those. `expunged_entries` starts empty: a client that knew
messages expunged before this revision gets them in VANISHED (EARLIER) from the range
it names (RFC 7162 §3.2.5.2 lets a server send UIDs it has no record of).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('expunged_entries',
    sa.Column('folder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('modseq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['folders.id'], name=op.f('fk_expunged_entries_folder_id_folders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('folder_id', 'uid', name=op.f('pk_expunged_entries'))
    )
    with op.batch_alter_table('expunged_entries', schema=None) as batch_op:
        batch_op.create_index('ix_expunged_entries_folder_modseq', ['folder_id', 'modseq'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_header', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('sealed_header')

    with op.batch_alter_table('expunged_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_expunged_entries_folder_modseq')

    op.drop_table('expunged_entries')
