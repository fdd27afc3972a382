"""the audit trail as one chain per writer (per node), joined by signed checkpoints

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:00:00

One head row locked by every writer of the cluster became a wait at four nodes
(docs/audit.md, Scale-out): each node's writer now chains its rows onto a head of its
own (`audit_heads`, one row per chain), and the signed checkpoints cover every head.
The rows written so far stay one chain, named "" (its MACs and `keyed_from` unchanged:
a migration has no master key, and re-keying rows is what an attacker would do); its
head is the old `audit_head` row. Nothing writes to that chain any more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_heads',
    sa.Column('chain', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('keyed_from', sa.BigInteger(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_heads'))
    )
    op.execute("INSERT INTO audit_heads (chain, seq, hash, keyed_from) "
               "SELECT '', seq, hash, keyed_from FROM audit_head WHERE id = 1")
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.drop_constraint('uq_audit_events_seq', type_='unique')
        batch_op.create_unique_constraint('uq_audit_events_chain_seq', ['chain', 'seq'])


def downgrade() -> None:
    """Back to one chain: refused once a node has written a chain of its own (its rows
    cannot join the old chain without the key)."""
    bind = op.get_bind()
    others = bind.execute(sa.text(
        "SELECT count(*) FROM audit_events WHERE chain <> ''")).scalar_one()
    if others:
        raise RuntimeError(f"{others} audit rows belong to per-node chains: "
                           "they cannot be merged into one chain without the audit key")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_events_chain_seq', type_='unique')
        batch_op.create_unique_constraint('uq_audit_events_seq', ['seq'])
        batch_op.drop_column('chain')
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('keyed_from', sa.BigInteger(), server_default='1', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.execute("INSERT INTO audit_head (id, seq, hash, keyed_from) "
               "SELECT 1, seq, hash, keyed_from FROM audit_heads WHERE chain = ''")
    op.drop_table('audit_heads')
