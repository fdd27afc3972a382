"""the audit chain keyed from here on

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 20:50:00

Rows written from this revision on carry an HMAC-SHA256 under a key derived from the
master key (mss/store/audit.py); the rows already written keep their plain SHA-256
hash, which a migration cannot re-key (it has no master key, and re-keying is what an
attacker would do). `audit_head.keyed_from` says where the keyed chain starts: the row
after the current head (1 on an empty chain). The first keyed row's MAC covers the last
plain row's hash, so the plain part cannot be rewritten either without breaking it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyed_from', sa.BigInteger(), nullable=False,
                                      server_default='1'))
    op.execute("UPDATE audit_head SET keyed_from = seq + 1")


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('keyed_from')
