"""Tables the pipeline owns: the outbound queue and refused sends (the conversations are
in mss.directory.conversation_tables, read by the vault too)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id


class OutboundMessage(Base):
    """A message waiting to be relayed to other operators; its content is a blob."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))  # whose key seals it
    blob_key: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mail_from: Mapped[str] = mapped_column(String(320))
    envid: Mapped[str | None] = mapped_column(String(100), nullable=True)
    ret: Mapped[str | None] = mapped_column(String(4), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    queue_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class OutboundRecipient(Base):
    """One recipient of an outbound message: its own state, attempts and lease."""

    __tablename__ = "outbound_recipients"
    __table_args__ = (Index("ix_outbound_recipients_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    domain: Mapped[str] = mapped_column(String(255))
    notify: Mapped[str | None] = mapped_column(String(40), nullable=True)  # RFC 3461
    orcpt: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # queued | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delay_warned: Mapped[bool] = mapped_column(Boolean, default=False)  # "delayed" DSN sent
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RefusedSendRow(Base):
    """A message the pipeline refused: kept (its text in the Drafts folder, the reason
    here) so that the sender sees it as not sent (docs/architecture.md §4: never dropped
    silently)."""

    __tablename__ = "refused_sends"
    __table_args__ = (Index("ix_refused_sends_mailbox_id", "mailbox", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    drafts_uid: Mapped[int | None] = mapped_column(nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeliveryKey(Base):
    """A message already accepted, by who sent it, its envelope sender, Message-ID and
    content: a client retrying after a lost `250` gets `250` again, and nothing is
    delivered twice (issue 17 §7, mss/pipeline/delivery_keys.py)."""

    __tablename__ = "delivery_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue_id: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[str] = mapped_column(Text)  # the accepted ones, one per line
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class TrashedEntry(Base):
    """A message the webmail put in the Trash folder: where it came from and when, so it
    can be restored there for RESTORE_DAYS and is purged after (mss.pipeline.trash)."""

    __tablename__ = "trashed_messages"
    __table_args__ = (Index("ix_trashed_messages_trashed_at", "trashed_at"),)

    folder_id: Mapped[int] = mapped_column(
        ForeignKey("folders.id", ondelete="CASCADE"), primary_key=True)  # the Trash folder
    uid: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # its UID there
    origin: Mapped[str] = mapped_column(String(500))  # INBOX or Sent
    trashed_at: Mapped[datetime] = mapped_column(UtcDateTime)


TermVector = TSVECTOR().with_variant(Text(), "sqlite")
"""PostgreSQL full-text terms (tsvector, GIN-indexed); unused on SQLite, where the
terms are in the FTS5 tables the migration creates (mss.pipeline.message_search)."""


class MessageSearchRow(Base):
    """A message the search index holds (its rowid in the FTS5 table is the message id);
    the text itself is never stored, only its terms."""

    __tablename__ = "message_search_rows"
    __table_args__ = (
        Index("ix_message_search_rows_mailbox_at", "mailbox_id", "at"),
        Index("ix_message_search_rows_terms", "terms", postgresql_using="gin"),
        Index("ix_message_search_rows_sender_terms", "sender_terms", postgresql_using="gin"),
    )

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    terms: Mapped[str | None] = mapped_column(TermVector, nullable=True)
    sender_terms: Mapped[str | None] = mapped_column(TermVector, nullable=True)


class DocumentSearchRow(Base):
    """A vault document the search index holds (title, file name, author, sender)."""

    __tablename__ = "document_search_rows"
    __table_args__ = (
        Index("ix_document_search_rows_patient_at", "patient_ins", "at"),
        Index("ix_document_search_rows_terms", "terms", postgresql_using="gin"),
        Index("ix_document_search_rows_sender_terms", "sender_terms", postgresql_using="gin"),
    )

    document_id: Mapped[int] = mapped_column(
        ForeignKey("vault_documents.id", ondelete="CASCADE"), primary_key=True)
    patient_ins: Mapped[str] = mapped_column(String(15))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    terms: Mapped[str | None] = mapped_column(TermVector, nullable=True)
    sender_terms: Mapped[str | None] = mapped_column(TermVector, nullable=True)
