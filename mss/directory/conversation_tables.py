"""Conversations between a professional-side mailbox and a patient, with their history.

A relation between mailboxes, like ORG memberships and dispensations: kept in the
directory so that the pipeline (which writes it in the delivering transaction,
mss.pipeline.conversations) and the vault (which reads it for the care relation,
mss.vault.care) both import it from below (docs/architecture.md §2, §4).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id


class ConversationRow(Base):
    """Professional-side mailbox × patient (docs/architecture.md §4); addresses canonical."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("professional", "patient"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    professional: Mapped[str] = mapped_column(String(320))
    patient: Mapped[str] = mapped_column(String(320), index=True)
    status: Mapped[str] = mapped_column(String(10))  # ConversationStatus
    contact: Mapped[str | None] = mapped_column(String(320), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(400), nullable=True)


class ConversationEventRow(Base):
    """The history of a conversation: every transition, who caused it and how."""

    __tablename__ = "conversation_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # TransitionKind
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(400))
    via: Mapped[str] = mapped_column(String(40))  # message | webmail | api
    contact: Mapped[str | None] = mapped_column(String(320), nullable=True)
