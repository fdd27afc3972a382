"""Facts for the policy, read from the directory and the conversations (docs/architecture.md §1).

One place turns addresses and principals into the plain values `mss.policy` decides on,
so that SMTP, IMAP, the webmail and the API all ask the same questions the same way.

Each fact is read by a plan (`mss.store.thread_reads`: prebuilt statements, no await),
`*_in(reads, ...)`, so that the pipeline gathers all the facts of an SMTP command in one
hop to the database (docs/design-notes.md, Performance); the `async` methods run one
plan for callers holding a session.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mss.config import Settings
from mss.directory.conversation_tables import ConversationRow
from mss.directory.pharmacies import is_pharmacy_in, recent_dispensations_in
from mss.directory.tables import (
    Application,
    MailboxOwner,
    OrgMember,
    Patient,
    Professional,
    TrustedOperator,
    TrustListImport,
)
from mss.distinguished_names import dn_lookup_key
from mss.identity import MailboxKind, OrgRight, PatientSpaceState, Principal, PrincipalKind
from mss.policy import (
    ActingRights,
    Conversation,
    ConversationStatus,
    Correspondent,
    DirectoryEntry,
    Dispensation,
    OperatorFacts,
    PatientRelations,
    SizeLimits,
    TrustList,
)
from mss.policy.addresses import canonical_address
from mss.store.events import TRUST_LIST_CHANGED, ChangeEvent
from mss.store.tables import Mailbox
from mss.store.thread_reads import PreparedRead, Reads, run_read

RECHECK_SECONDS = 1.0  # the policy applies the exact year


_RESPONSIBLE = aliased(Mailbox)
# Built once: statement construction costs more than the query on the hot path.
_CORRESPONDENT = PreparedRead(
    select(
        Mailbox.id, Mailbox.kind, Mailbox.disabled, Patient.state,
        _RESPONSIBLE.address.label("responsible"),
        _RESPONSIBLE.disabled.label("responsible_disabled"),
    )
    .outerjoin(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
    .outerjoin(Patient, Patient.id == MailboxOwner.patient_id)
    .outerjoin(_RESPONSIBLE, _RESPONSIBLE.id == MailboxOwner.responsible_mailbox_id)
    .where(Mailbox.address == bindparam("b_address"))
)


# A professional's own PER mailboxes and the ORG mailboxes they are a member of, with
# their rights there, in one statement (asked for each submission, MSS policy T2).
_PROFESSIONAL_MAILBOXES = PreparedRead(union_all(
    select(Mailbox.address, literal(True).label("owner"), literal(False).label("can_read"),
           literal(False).label("can_send_as"), literal(False).label("can_manage"))
    .join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
    .join(Professional, Professional.id == MailboxOwner.professional_id)
    .where(Professional.ident == bindparam("b_ident"), Mailbox.disabled.is_(False),
           Mailbox.kind == MailboxKind.PER.value),
    select(Mailbox.address, literal(False), OrgMember.can_read, OrgMember.can_send_as,
           OrgMember.can_manage)
    .join(OrgMember, OrgMember.org_mailbox_id == Mailbox.id)
    .join(Professional, Professional.id == OrgMember.professional_id)
    .where(Professional.ident == bindparam("b_ident"), Mailbox.disabled.is_(False)),
))
_APPLICATION_MAILBOXES = PreparedRead(
    select(Mailbox.address)
    .join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
    .join(Application, Application.id == MailboxOwner.application_id)
    .where(Mailbox.disabled.is_(False),
           or_(Application.certificate_dn == bindparam("b_dn"),
               Application.name == bindparam("b_name")))
)
_PATIENT_MAILBOXES = PreparedRead(
    select(Mailbox.address)
    .join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
    .join(Patient, Patient.id == MailboxOwner.patient_id)
    .where(Patient.ins == bindparam("b_ins"), Mailbox.disabled.is_(False),
           Patient.state == PatientSpaceState.ACTIVE.value)
)
_LATEST_TRUST_IMPORT = PreparedRead(
    select(TrustListImport.id).order_by(TrustListImport.id.desc()).limit(1))
_TRUSTED_OPERATORS = PreparedRead(select(TrustedOperator.domain, TrustedOperator.subject_dn))
_CONVERSATION_COLUMNS = (ConversationRow.professional, ConversationRow.patient,
                         ConversationRow.status, ConversationRow.contact)
_CONVERSATION = PreparedRead(
    select(*_CONVERSATION_COLUMNS)
    .where(ConversationRow.professional == bindparam("b_professional"),
           ConversationRow.patient == bindparam("b_patient")))
_PATIENT_CONVERSATIONS = PreparedRead(
    select(*_CONVERSATION_COLUMNS).where(ConversationRow.patient == bindparam("b_patient")))


def conversation_of(row: ConversationRow) -> Conversation:
    return _conversation((row.professional, row.patient, row.status, row.contact))


def _conversation(columns: Sequence[Any]) -> Conversation:
    """From `_CONVERSATION_COLUMNS`' values: professional, patient, status, contact."""
    professional, patient, status, contact = columns
    return Conversation(professional, patient, ConversationStatus(status), contact)


class DirectoryFacts:
    """Builds policy facts; caches the operator facts until the trust list changes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local_domains = frozenset(
            {settings.server.domain.lower(), settings.server.patient_domain.lower()}
        )
        self.limits = SizeLimits(
            message_bytes=settings.limits.max_message_bytes,
            patient_message_bytes=settings.limits.max_patient_message_bytes,
        )
        self._operator: OperatorFacts | None = None
        self._trust_import_id: int | None = -1
        self._checked_at = 0.0

    def forget_trust_list(self, event: ChangeEvent | None = None) -> None:
        """Drop the cached trust list (on a trust-list change event from any node)."""
        if event is None or event.kind == TRUST_LIST_CHANGED.kind:
            self._operator = None

    def is_local(self, address: str) -> bool:
        return canonical_address(address).rpartition("@")[2] in self.local_domains

    def operator_in(self, reads: Reads) -> OperatorFacts:
        """Operator facts, cached: dropped on a trust-list event, and the latest import
        checked at most once a second for imports made by another process on SQLite."""
        if self._operator is not None and time.monotonic() - self._checked_at < RECHECK_SECONDS:
            return self._operator
        latest = reads.scalar(_LATEST_TRUST_IMPORT)
        self._checked_at = time.monotonic()
        if self._operator is None or latest != self._trust_import_id:
            domains: dict[str, set[str]] = {}
            for domain, dn in reads.rows(_TRUSTED_OPERATORS):
                domains.setdefault(domain, set()).add(dn)
            self._operator = OperatorFacts(
                local_domains=self.local_domains,
                trust_list=TrustList({d: frozenset(v) for d, v in domains.items()}),
                limits=self.limits,
            )
            self._trust_import_id = latest
        return self._operator

    def correspondent_in(self, reads: Reads, address: str) -> Correspondent:
        """The address with its directory entry when the mailbox is local and enabled.

        One statement (asked for every sender, recipient and Reply-To of every message).
        """
        canonical = canonical_address(address)
        if not self.is_local(canonical):
            return Correspondent(canonical)
        row = reads.first(_CORRESPONDENT, b_address=canonical)
        if row is None:
            return Correspondent(canonical)
        mailbox_id, kind_value, disabled, state_value, responsible_address, responsible_off = row
        if disabled:
            return Correspondent(canonical)
        kind = MailboxKind(kind_value)
        state = None
        responsible = None
        if kind is MailboxKind.PAT:
            state = PatientSpaceState(state_value) if state_value else PatientSpaceState.CLOSED
        if kind is MailboxKind.APP and responsible_address and not responsible_off:
            responsible = responsible_address
        is_pharmacy = kind is MailboxKind.ORG and is_pharmacy_in(reads, mailbox_id)
        return Correspondent(canonical, DirectoryEntry(kind, state, responsible, is_pharmacy))

    async def correspondent(self, session: AsyncSession, address: str) -> Correspondent:
        return await run_read(session, lambda reads: self.correspondent_in(reads, address))

    def acting_rights_in(self, reads: Reads, principal: Principal) -> ActingRights:
        """What the principal may send as (MSS policy T2)."""
        own: set[str] = set()
        orgs: dict[str, frozenset[OrgRight]] = {}
        if principal.kind is PrincipalKind.PROFESSIONAL:
            rows = reads.rows(_PROFESSIONAL_MAILBOXES, b_ident=principal.ident)
            for address, owner, can_read, can_send_as, can_manage in rows:
                if owner:
                    own.add(address)
                    continue
                orgs[address] = frozenset(r for r, held in ((OrgRight.READ, can_read),
                                                            (OrgRight.SEND_AS, can_send_as),
                                                            (OrgRight.MANAGE, can_manage))
                                          if held)
        elif principal.kind is PrincipalKind.APPLICATION:
            rows = reads.rows(_APPLICATION_MAILBOXES, b_dn=dn_lookup_key(principal.ident),
                              b_name=principal.ident)
            own.update(row[0] for row in rows)
        elif principal.kind is PrincipalKind.PATIENT:
            own.update(row[0] for row in reads.rows(_PATIENT_MAILBOXES, b_ins=principal.ident))
        return ActingRights(principal, frozenset(own), orgs)

    async def acting_rights(self, session: AsyncSession, principal: Principal) -> ActingRights:
        return await run_read(session, lambda reads: self.acting_rights_in(reads, principal))

    def conversation_in(self, reads: Reads, professional: str,
                        patient: str) -> Conversation | None:
        row = reads.first(_CONVERSATION, b_professional=canonical_address(professional),
                          b_patient=canonical_address(patient))
        return _conversation(row) if row is not None else None

    async def conversation(
        self, session: AsyncSession, professional: str, patient: str
    ) -> Conversation | None:
        return await run_read(
            session, lambda reads: self.conversation_in(reads, professional, patient))

    def patient_relations_in(self, reads: Reads, patient_address: str,
                             at: datetime) -> PatientRelations:
        patient = canonical_address(patient_address)
        rows = reads.rows(_PATIENT_CONVERSATIONS, b_patient=patient)
        ins = patient.partition("@")[0].upper()
        dispensations = recent_dispensations_in(reads, ins, today=at.date())
        return PatientRelations(
            patient,
            tuple(_conversation(r) for r in rows),
            tuple(
                Dispensation(address, datetime(d.year, d.month, d.day, tzinfo=at.tzinfo))
                for address, d in dispensations
            ),
        )

    async def patient_relations(
        self, session: AsyncSession, patient_address: str, at: datetime
    ) -> PatientRelations:
        return await run_read(
            session, lambda reads: self.patient_relations_in(reads, patient_address, at))
