"""the author the pipeline accepted, stored with each delivered message

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:10:00

`author` is the mailbox the message was accepted from (its MAIL FROM, checked by the
policy: T2 and T4 on submission, T1 and T4 on the MX) and `author_principal` the
authenticated principal; the webmail, the API and the conversations attribute a message
to them, never to a header (docs/sender-truth.md). Rows written before this revision,
and messages put in a folder by IMAP APPEND, have none (NULL): the From field then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('author_principal', sa.String(length=400),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('author_principal')
        batch_op.drop_column('author')
