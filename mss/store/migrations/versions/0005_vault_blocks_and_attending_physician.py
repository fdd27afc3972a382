"""vault: blocked professionals and the médecin traitant

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:30:00

Both tables start empty: until a patient blocks someone or names her médecin traitant,
access follows the conversations and the access matrix alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vault_professional_blocks',
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('professional', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patient_ins', 'professional',
                            name=op.f('pk_vault_professional_blocks'))
    )
    op.create_table('vault_attending_physicians',
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('professional', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patient_ins', name=op.f('pk_vault_attending_physicians'))
    )
    with op.batch_alter_table('vault_attending_physicians', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vault_attending_physicians_professional'),
                              ['professional'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vault_attending_physicians', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vault_attending_physicians_professional'))
    op.drop_table('vault_attending_physicians')
    op.drop_table('vault_professional_blocks')
