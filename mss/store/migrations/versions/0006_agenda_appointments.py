"""the patient's health agenda: appointment occurrences

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agenda_appointments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('organizer', sa.String(length=320), nullable=False),
    sa.Column('organizer_name', sa.String(length=300), nullable=False),
    sa.Column('uid', sa.String(length=300), nullable=False),
    sa.Column('recurrence_id', sa.String(length=40), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('all_day', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('message_ref', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_appointments')),
    sa.UniqueConstraint('patient_ins', 'organizer', 'uid', 'recurrence_id', name='uq_agenda_appointments_occurrence')
    )
    op.create_index('ix_agenda_appointments_patient_start', 'agenda_appointments', ['patient_ins', 'starts_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_agenda_appointments_patient_start', table_name='agenda_appointments')
    op.drop_table('agenda_appointments')
