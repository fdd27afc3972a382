"""the medical profile: one row per item, with author and provenance

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('profile_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('section', sa.String(length=30), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('author_kind', sa.String(length=12), nullable=False),
    sa.Column('author_ident', sa.String(length=40), nullable=False),
    sa.Column('author_name', sa.String(length=300), nullable=False),
    sa.Column('provenance', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_items'))
    )
    op.create_index('ix_profile_items_patient_section', 'profile_items',
                    ['patient_ins', 'section'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_profile_items_patient_section', table_name='profile_items')
    op.drop_table('profile_items')
