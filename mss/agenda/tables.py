"""Tables of the health agenda: one row per appointment occurrence of a patient.

An appointment belongs to the patient and to the mailbox that organised it: only the
same organiser's later messages (higher or equal SEQUENCE, RFC 5546 §2.1.4) update or
cancel it, so nobody else can move or cancel a patient's appointment. Like the vault's
document titles, the summary and place are metadata in the clear; the message that
carried the invitation stays sealed in the patient's mailbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id


class AppointmentRow(Base):
    __tablename__ = "agenda_appointments"
    __table_args__ = (
        UniqueConstraint("patient_ins", "organizer", "uid", "recurrence_id",
                         name="uq_agenda_appointments_occurrence"),
        Index("ix_agenda_appointments_patient_start", "patient_ins", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    patient_ins: Mapped[str] = mapped_column(String(15))
    organizer: Mapped[str] = mapped_column(String(320))  # the sending mailbox's address
    organizer_name: Mapped[str] = mapped_column(String(300), default="")
    uid: Mapped[str] = mapped_column(String(300))
    recurrence_id: Mapped[str] = mapped_column(String(40), default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(String(300), default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(12))  # "message" or "api"
    message_ref: Mapped[str] = mapped_column(String(300), default="")  # Message-ID
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgendaSettingsRow(Base):
    """The patient's agenda choices; no row means the defaults (reminders on, one day
    before)."""

    __tablename__ = "agenda_settings"

    patient_ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    reminder_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReminderClaimRow(Base):
    """One reminder of one occurrence at one start time. The unique key is the claim that
    makes a reminder go exactly once across restarts and nodes: the row and its notice
    are inserted in one transaction, and a second node's insert fails on the key. A
    moved appointment (another start) is reminded again."""

    __tablename__ = "agenda_reminders"
    __table_args__ = (
        UniqueConstraint("appointment_id", "starts_at", name="uq_agenda_reminders_claim"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_appointments.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    notice_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FeedTokenRow(Base):
    """A private iCalendar feed of one patient: the token's SHA-256 only, revocable."""

    __tablename__ = "agenda_feed_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    patient_ins: Mapped[str] = mapped_column(String(15), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    show_details: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
