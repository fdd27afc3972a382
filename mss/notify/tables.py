"""The durable queue of patient e-mail notices (docs/architecture.md §9: the patient is told of each
new message on their personal address; the notice carries no health content).

A row holds only the kind of notice and the personal address: nothing about the message,
its sender or a document, so the queue itself holds no health data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id


class NoticeRow(Base):
    """One notice to send through the outside relay, retried with backoff."""

    __tablename__ = "patient_notices"
    __table_args__ = (Index("ix_patient_notices_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # NoticeKind
    recipient: Mapped[str] = mapped_column(String(320))  # the patient's personal address
    status: Mapped[str] = mapped_column(String(10))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class NoticePreferenceRow(Base):
    """A patient's choice of notices: on or off, each message or one a day (digest).
    No row: a notice for each new message (docs/architecture.md §9)."""

    __tablename__ = "notice_preferences"

    patient_ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[str] = mapped_column(String(10), default="each")  # each | daily
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
