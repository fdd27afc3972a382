"""Tables of the medical profile: one row per item, with its author and provenance.

Like the agenda's summaries, items are metadata the patient's pages show; they are
erased with the profile (an opposed space at once, a closed one after the retention
period, docs/medical-profile.md §Retention).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id


class ProfileItemRow(Base):
    __tablename__ = "profile_items"
    __table_args__ = (Index("ix_profile_items_patient_section", "patient_ins", "section"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    patient_ins: Mapped[str] = mapped_column(String(15))
    section: Mapped[str] = mapped_column(String(30))  # mss.profile.sections.Section
    label: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # measures
    unit: Mapped[str] = mapped_column(String(20), default="")
    observed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    author_kind: Mapped[str] = mapped_column(String(12))  # patient | professional
    author_ident: Mapped[str] = mapped_column(String(40))
    author_name: Mapped[str] = mapped_column(String(300), default="")
    provenance: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
