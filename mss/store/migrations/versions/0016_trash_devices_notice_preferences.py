"""the patient webmail: trash rows, devices of web sessions, notice preferences

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('trashed_messages',
    sa.Column('folder_id', ID, nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('origin', sa.String(length=500), nullable=False),
    sa.Column('trashed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['folders.id'],
                            name=op.f('fk_trashed_messages_folder_id_folders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('folder_id', 'uid', name=op.f('pk_trashed_messages'))
    )
    op.create_index('ix_trashed_messages_trashed_at', 'trashed_messages', ['trashed_at'],
                    unique=False)
    op.create_table('notice_preferences',
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('digest', sa.String(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patient_ins', name=op.f('pk_notice_preferences'))
    )
    with op.batch_alter_table('web_sessions') as batch_op:
        batch_op.add_column(sa.Column('user_agent', sa.String(length=300), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('client_address', sa.String(length=64),
                                      server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('web_sessions') as batch_op:
        batch_op.drop_column('client_address')
        batch_op.drop_column('user_agent')
    op.drop_table('notice_preferences')
    op.drop_index('ix_trashed_messages_trashed_at', table_name='trashed_messages')
    op.drop_table('trashed_messages')
