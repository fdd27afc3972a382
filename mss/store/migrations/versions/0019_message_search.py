"""search over a patient's messages and documents: index rows (tsvector + GIN on
PostgreSQL), contentless FTS5 tables on SQLite

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TERMS = postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite')


def upgrade() -> None:
    op.create_table('message_search_rows',
    sa.Column('message_id', ID, nullable=False),
    sa.Column('mailbox_id', ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('terms', TERMS, nullable=True),
    sa.Column('sender_terms', TERMS, nullable=True),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailboxes.id'],
                            name=op.f('fk_message_search_rows_mailbox_id_mailboxes'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                            name=op.f('fk_message_search_rows_message_id_messages'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_message_search_rows'))
    )
    op.create_index('ix_message_search_rows_mailbox_at', 'message_search_rows',
                    ['mailbox_id', 'at'], unique=False)
    op.create_table('document_search_rows',
    sa.Column('document_id', ID, nullable=False),
    sa.Column('patient_ins', sa.String(length=15), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('terms', TERMS, nullable=True),
    sa.Column('sender_terms', TERMS, nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['vault_documents.id'],
                            name=op.f('fk_document_search_rows_document_id_vault_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_search_rows'))
    )
    op.create_index('ix_document_search_rows_patient_at', 'document_search_rows',
                    ['patient_ins', 'at'], unique=False)
    for table in ('message_search_rows', 'document_search_rows'):
        for column in ('terms', 'sender_terms'):
            op.create_index(f'ix_{table}_{column}', table, [column], unique=False,
                            postgresql_using='gin')
    if op.get_bind().dialect.name == 'sqlite':
        for fts in ('message_search', 'document_search'):
            op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(sender, subject, body, "
                       f"content='', tokenize='unicode61 remove_diacritics 2')")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS document_search")
        op.execute("DROP TABLE IF EXISTS message_search")
    for table in ('message_search_rows', 'document_search_rows'):
        for column in ('terms', 'sender_terms'):
            op.drop_index(f'ix_{table}_{column}', table_name=table)
    op.drop_index('ix_document_search_rows_patient_at', table_name='document_search_rows')
    op.drop_table('document_search_rows')
    op.drop_index('ix_message_search_rows_mailbox_at', table_name='message_search_rows')
    op.drop_table('message_search_rows')
