"""Tables of the document vault (docs/architecture.md §6): documents, deposits, hidings,
break-glass.

A document's content is a blob sealed with the key of the PATIENT's mailbox, like their
messages: the vault row keeps only the blob reference, metadata and provenance. Rows are
never rewritten except for the `deleted` mark of a patient's own upload.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id


class DepositRow(Base):
    """What became of one message for one patient: a status the patient and the sender's
    support can read (a failure inside deposit is a visible status)."""

    __tablename__ = "vault_deposits"
    __table_args__ = (Index("ix_vault_deposits_patient_id", "patient_ins", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    patient_ins: Mapped[str] = mapped_column(String(15))
    source_message_id: Mapped[str] = mapped_column(String(300), default="")
    sender_mailbox: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(12))  # DepositStatus
    documents: Mapped[int] = mapped_column(BigInteger, default=0)
    problems: Mapped[int] = mapped_column(BigInteger, default=0)
    error_code: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # MDN 90x
    reason: Mapped[str] = mapped_column(Text, default="")  # why it failed, no content
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class DepositProblemRow(Base):
    """One attachment of a deposit that was not filed, and why (ProblemKind)."""

    __tablename__ = "vault_deposit_problems"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    deposit_id: Mapped[int] = mapped_column(
        ForeignKey("vault_deposits.id", ondelete="CASCADE"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")


class DocumentRow(Base):
    """One document of a patient, in one of the nine spaces (docs/architecture.md §9)."""

    __tablename__ = "vault_documents"
    __table_args__ = (
        Index("ix_vault_documents_patient_space", "patient_ins", "deleted", "space"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    patient_ins: Mapped[str] = mapped_column(String(15))
    space: Mapped[str] = mapped_column(String(40))  # PatientSpace value
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))  # whose key seals it
    blob_key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    type_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    class_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    confidentiality_codes: Mapped[str] = mapped_column(String(400), default="")  # space-sep.
    hidden_from_professionals: Mapped[bool] = mapped_column(Boolean, default=False)  # MASQUE_PS
    classification_basis: Mapped[str] = mapped_column(String(40))
    classification_evidence: Mapped[str] = mapped_column(String(200), default="")
    origin: Mapped[str] = mapped_column(String(20))  # xdm | attachment | upload
    author: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deposit_id: Mapped[int | None] = mapped_column(
        ForeignKey("vault_deposits.id"), nullable=True, index=True
    )
    source_message_id: Mapped[str] = mapped_column(String(300), default="")
    sender_mailbox: Mapped[str] = mapped_column(String(320), default="")
    sender_principal: Mapped[str] = mapped_column(String(400), default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    copy_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("vault_documents.id"), nullable=True, index=True
    )
    uploaded_by_patient: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DocumentHidingRow(Base):
    """The patient hides one document from one professional (by RPPS/ADELI)."""

    __tablename__ = "vault_document_hidings"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("vault_documents.id", ondelete="CASCADE"), primary_key=True
    )
    professional: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class BreakGlassGrantRow(Base):
    """Emergency access ("bris de glace") of one professional to one patient, until
    `expires_at` (docs/architecture.md §9, access and traces)."""

    __tablename__ = "vault_break_glass_grants"
    __table_args__ = (
        Index("ix_vault_break_glass_lookup", "professional", "patient_ins", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    professional: Mapped[str] = mapped_column(String(20))
    patient_ins: Mapped[str] = mapped_column(String(15), index=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProfessionalBlockRow(Base):
    """The patient closes her whole record to one professional (RPPS/ADELI), break-glass
    included, until she opens it again (DMP: "bloquer un professionnel")."""

    __tablename__ = "vault_professional_blocks"

    patient_ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    professional: Mapped[str] = mapped_column(String(20), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AttendingPhysicianRow(Base):
    """The patient's médecin traitant: in care without a conversation, and told of each
    break-glass on her record (CSP R1111-48)."""

    __tablename__ = "vault_attending_physicians"

    patient_ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    professional: Mapped[str] = mapped_column(String(20), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
