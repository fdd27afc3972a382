"""first recent UID and keywords per folder; sort keys per message

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:30:00

`folders.recent_uid` starts at `uidnext` for existing folders: nothing delivered before
this revision is \\Recent (RFC 3501 §2.3.2 lets a server start that way). `keywords`
starts empty and fills as keywords are stored. The sort keys of existing messages are
computed from the subject and address columns already kept; Cc was not kept before,
so those rows sort as if they had none (RFC 5256 §3: an empty key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mss.store.sort_keys import ascii_upper, base_subject

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _mailbox_part(addresses: str) -> str:
    first = addresses.split(",")[0].strip()
    return ascii_upper(first.rpartition("@")[0] or first)


def upgrade() -> None:
    with op.batch_alter_table('folders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recent_uid', sa.BigInteger(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('recent_claimed', sa.BigInteger(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('keywords', sa.Text(), nullable=False, server_default=''))
    op.execute("UPDATE folders SET recent_uid = uidnext, recent_claimed = uidnext")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sort_subject', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sort_from', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sort_to', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sort_cc', sa.Text(), nullable=False, server_default=''))
    connection = op.get_bind()
    messages = sa.table('messages', sa.column('id'), sa.column('subject'),
                        sa.column('from_addr'), sa.column('to_addrs'),
                        sa.column('sort_subject'), sa.column('sort_from'), sa.column('sort_to'))
    rows = connection.execute(sa.select(messages.c.id, messages.c.subject, messages.c.from_addr,
                                        messages.c.to_addrs)).all()
    update = (messages.update().where(messages.c.id == sa.bindparam('b_id'))
              .values(sort_subject=sa.bindparam('b_subject'), sort_from=sa.bindparam('b_from'),
                      sort_to=sa.bindparam('b_to')))
    for start in range(0, len(rows), 1000):
        batch = [{"b_id": row[0], "b_subject": ascii_upper(base_subject(row[1] or ""))[:500],
                  "b_from": _mailbox_part(row[2] or "")[:500],
                  "b_to": _mailbox_part(row[3] or "")[:500]}
                 for row in rows[start : start + 1000]]
        connection.execute(update, batch)


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('sort_cc')
        batch_op.drop_column('sort_to')
        batch_op.drop_column('sort_from')
        batch_op.drop_column('sort_subject')
    with op.batch_alter_table('folders', schema=None) as batch_op:
        batch_op.drop_column('keywords')
        batch_op.drop_column('recent_claimed')
        batch_op.drop_column('recent_uid')
