"""the health agenda: the patient's settings, reminder claims, private feed tokens

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('agenda_settings',
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('reminders_enabled', sa.Boolean(), nullable=False),
    sa.Column('reminder_minutes', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patient_ins', name=op.f('pk_agenda_settings'))
    )
    op.create_table('agenda_reminders',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('appointment_id', ID, nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notice_id', sa.BigInteger(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['agenda_appointments.id'],
                            name=op.f('fk_agenda_reminders_appointment_id_agenda_appointments'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_reminders')),
    sa.UniqueConstraint('appointment_id', 'starts_at', name='uq_agenda_reminders_claim')
    )
    op.create_table('agenda_feed_tokens',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('show_details', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_feed_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_agenda_feed_tokens_token_hash'))
    )
    op.create_index(op.f('ix_agenda_feed_tokens_patient_ins'), 'agenda_feed_tokens',
                    ['patient_ins'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_agenda_feed_tokens_patient_ins'), table_name='agenda_feed_tokens')
    op.drop_table('agenda_feed_tokens')
    op.drop_table('agenda_reminders')
    op.drop_table('agenda_settings')
