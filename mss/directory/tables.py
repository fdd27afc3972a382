"""Tables of the directory (docs/architecture.md §2): identities, mailbox ownership, org
memberships, credentials, trust list, operator configuration and the national directory copy.

Types are chosen to behave alike on SQLite and PostgreSQL; the name key of the
national directory uses the binary "C" collation on PostgreSQL so that prefix ranges
match the index exactly.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mss.store.db import Base, UtcDateTime
from mss.store.tables import Id

# Sort keys compared by prefix range: binary order on PostgreSQL, SQLite's is binary.
SortKey = String(300).with_variant(String(300, collation="C"), "postgresql")


class Professional(Base):
    """A health professional, identified by RPPS (11 digits) or ADELI (9 digits)."""

    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ident: Mapped[str] = mapped_column(String(11), unique=True)
    id_type: Mapped[str] = mapped_column(String(5))  # RPPS | ADELI
    civility: Mapped[str] = mapped_column(String(20), default="")
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    profession_code: Mapped[str] = mapped_column(String(10), default="")
    profession_label: Mapped[str] = mapped_column(String(200), default="")
    specialty_code: Mapped[str] = mapped_column(String(20), default="")
    specialty_label: Mapped[str] = mapped_column(String(200), default="")
    structure_id: Mapped[str] = mapped_column(String(40), default="")
    structure_name: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Patient(Base):
    """A patient of Mon espace santé, identified by INS; state per docs/architecture.md §9."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ins: Mapped[str] = mapped_column(String(15), unique=True)
    last_name: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    notice_email: Mapped[str] = mapped_column(String(320))  # personal address for notices
    state: Mapped[str] = mapped_column(String(10))  # PatientSpaceState
    state_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Application(Base):
    """Software of a legal person that sends through an APP mailbox."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_structure: Mapped[str] = mapped_column(String(300), default="")
    certificate_dn: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MailboxOwner(Base):
    """Who a mailbox belongs to: one professional (PER), one patient (PAT), one
    application (APP, with an optional responsible mailbox), nobody for ORG (members)."""

    __tablename__ = "mailbox_owners"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    professional_id: Mapped[int | None] = mapped_column(
        ForeignKey("professionals.id"), nullable=True, index=True
    )
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id"), nullable=True, unique=True
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id"), nullable=True, index=True
    )
    responsible_mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id"), nullable=True
    )
    structure_name: Mapped[str] = mapped_column(String(300), default="")  # ORG


class OrgMember(Base):
    """A professional's rights on an ORG mailbox (docs/architecture.md §3: read / send-as /
    manage)."""

    __tablename__ = "org_members"

    org_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    professional_id: Mapped[int] = mapped_column(
        ForeignKey("professionals.id"), primary_key=True, index=True
    )
    can_read: Mapped[bool] = mapped_column(Boolean, default=False)
    can_send_as: Mapped[bool] = mapped_column(Boolean, default=False)
    can_manage: Mapped[bool] = mapped_column(Boolean, default=False)


class PasswordCredential(Base):
    """An argon2id password hash per login identity (a mailbox address)."""

    __tablename__ = "password_credentials"

    login: Mapped[str] = mapped_column(String(320), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), unique=True
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CertificateBinding(Base):
    """A client certificate (subject DN or SHA-256 fingerprint) that acts as a mailbox's
    owner: applications and, later, professional cards."""

    __tablename__ = "certificate_bindings"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    subject_dn: Mapped[str | None] = mapped_column(String(1000), nullable=True, index=True)
    fingerprint_sha256: Mapped[str | None] = mapped_column(
        String(64), nullable=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuthFailure(Base):
    """One failed authentication, per (account, address) and per client address; kept in the
    database so that every node counts the same failures (rate limiting)."""

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(10))  # pair (account|address) | client
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Dispensation(Base):
    """A reimbursed dispensation by a pharmacy (ORG mailbox) to a patient: the exception
    of MSS policy P2 lets the patient write to that pharmacy for a year."""

    __tablename__ = "dispensations"
    __table_args__ = (UniqueConstraint("pharmacy_mailbox_id", "patient_ins", "dispensed_on"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    pharmacy_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE")
    )
    patient_ins: Mapped[str] = mapped_column(String(15), index=True)
    dispensed_on: Mapped[date] = mapped_column(Date)


class TrustListImport(Base):
    """Metadata of one imported trust list; the latest row describes the list in force."""

    __tablename__ = "trust_list_imports"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    generated_at: Mapped[str] = mapped_column(String(40), default="")  # as published
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    entry_count: Mapped[int] = mapped_column(Integer)
    domain_count: Mapped[int] = mapped_column(Integer)
    dn_count: Mapped[int] = mapped_column(Integer)


class TrustedOperator(Base):
    """One (domain, operator certificate DN) pair of the trust list in force."""

    __tablename__ = "trusted_operators"
    __table_args__ = (UniqueConstraint("domain", "subject_dn"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    subject_dn: Mapped[str] = mapped_column(String(1000))  # normalised
    description: Mapped[str] = mapped_column(Text, default="")
    updated: Mapped[str] = mapped_column(String(40), default="")  # DateMAJ as published


class OperatorEndpoint(Base):
    """Where to deliver mail for a trust-space domain (local configuration)."""

    __tablename__ = "operator_endpoints"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OperatorDkimKey(Base):
    """A DKIM public key of a peer operator, carried with the trust configuration rather
    than DNS (docs/architecture.md §9: MSS choice)."""

    __tablename__ = "operator_dkim_keys"
    __table_args__ = (UniqueConstraint("domain", "selector"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(String(255))
    selector: Mapped[str] = mapped_column(String(63))
    txt: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DirectoryImport(Base):
    """One run of the national directory import; its id stamps the rows it saw."""

    __tablename__ = "directory_imports"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class DirectoryEntryRow(Base):
    """One mailbox of the national directory extract (one row per address)."""

    __tablename__ = "directory_entries"
    __table_args__ = (
        Index("ix_directory_entries_name_key", "name_key"),
        Index("ix_directory_entries_ident", "ident"),
        Index("ix_directory_entries_profession_name", "profession_code", "name_key"),
        Index("ix_directory_entries_postcode", "postcode"),
        Index("ix_directory_entries_kind_name", "kind", "name_key"),
        Index("ix_directory_entries_generation", "generation"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    kind: Mapped[str] = mapped_column(String(3))
    id_type: Mapped[str] = mapped_column(String(5), default="")
    ident: Mapped[str] = mapped_column(String(20), default="")
    national_id: Mapped[str] = mapped_column(String(30), default="")
    structure_id_type: Mapped[str] = mapped_column(String(10), default="")
    structure_id: Mapped[str] = mapped_column(String(40), default="")
    service: Mapped[str] = mapped_column(String(300), default="")
    civility: Mapped[str] = mapped_column(String(20), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    profession_code: Mapped[str] = mapped_column(String(10), default="")
    profession_label: Mapped[str] = mapped_column(String(200), default="")
    specialty_code: Mapped[str] = mapped_column(String(20), default="")
    specialty_label: Mapped[str] = mapped_column(String(200), default="")
    structure_name: Mapped[str] = mapped_column(String(300), default="")
    trade_name: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    name_key: Mapped[str] = mapped_column(SortKey, default="")
    row_hash: Mapped[str] = mapped_column(String(32))
    generation: Mapped[int] = mapped_column(Integer)
