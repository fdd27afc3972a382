"""The vault as the webmail and the API use it: list, read, download, upload, hide,
delete, break-glass (docs/architecture.md §6, docs/architecture.md §9 "access and traces").

Invariants:
- every call names a Principal; who may see what is decided by mss.vault.access_rules
  on facts read here, never by the caller;
- every list, read, download, upload, hide, delete and break-glass, allowed or refused,
  is an audit row whose subject is the patient's INS (the patient reads them as their
  traces), and which never holds document content or names;
- a document id the principal may not see is answered exactly like an id that does not
  exist (`not_found`): changing an id reveals nothing about another patient;
- break-glass notices (`on_break_glass`) are called after the commit of the grant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.clock import Clock
from mss.directory.tables import MailboxOwner, Patient, Professional
from mss.identity import MailboxKind, Principal, PrincipalKind
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import AuditEvent, Folder, FolderEntry, Mailbox, StoredMessage
from mss.store.unit_of_work import UnitOfWork
from mss.vault.access_matrix import AccessMatrix, DocumentFacts, load_access_matrix
from mss.vault.access_rules import Refusal, Standing, break_glass_refusal, clean_reason, may_see
from mss.vault.care import (
    PatientRecord,
    ProfessionalProfile,
    active_grant,
    attending_physician,
    blocked_professionals,
    is_blocked,
    patient_record,
    professional_exists,
    professional_profile,
    professionals_in_care,
    standing,
)
from mss.vault.spaces import PatientSpace
from mss.vault.tables import (
    AttendingPhysicianRow,
    BreakGlassGrantRow,
    DepositProblemRow,
    DepositRow,
    DocumentHidingRow,
    ProfessionalBlockRow,
)
from mss.vault.tables import DocumentRow as D
from mss.vault.uploads import MAX_UPLOAD_BYTES, UploadRefused, check_upload

log = logging.getLogger(__name__)
AnySelect = Select[*tuple[Any, ...]]
BREAK_GLASS_DURATION = timedelta(hours=24)
PHYSICIAN = "10"
"""Profession code of médecin in the RPPS directory: only one can be médecin traitant."""
PATIENT_UPLOAD_BASIS = "patient upload"


class VaultAccessError(Exception):
    """A refusal of the vault; `code` is a Refusal, `reason` a sentence for the user."""

    def __init__(self, code: Refusal, reason: str) -> None:
        super().__init__(f"{code.value}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    id: int
    patient_ins: str
    space: PatientSpace
    title: str
    file_name: str
    content_type: str
    size: int
    created_at: datetime | None
    received_at: datetime
    author: str | None
    sender_mailbox: str
    classification_basis: str
    classification_evidence: str
    uploaded_by_patient: bool
    hidden_from_professionals: bool
    copy_of_id: int | None
    type_code: str | None = None
    class_code: str | None = None
    source_message_id: str = ""
    """Message-ID of the message the document was filed from ('' for uploads)."""
    pdf_copy_id: int | None = None
    """The PDF rendition travelling with this document, when there is one."""

    @property
    def facts(self) -> DocumentFacts:
        return DocumentFacts(self.space, self.type_code, self.class_code)


@dataclass(frozen=True, slots=True)
class SpaceListing:
    patient_ins: str
    counts: dict[PatientSpace, int]
    documents: list[DocumentSummary]
    standing: Standing
    withheld: int = 0
    """Documents the matrix keeps from this professional (the patient's list: 0)."""
    break_glass_reason: str | None = None
    """The reason stated for the break-glass this listing is shown under."""


@dataclass(frozen=True, slots=True)
class DocumentFile:
    summary: DocumentSummary
    content: bytes


@dataclass(frozen=True, slots=True)
class BreakGlassGrant:
    id: int
    professional: str
    patient_ins: str
    at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BreakGlassNotice:
    """Who is told of a break-glass: the patient on her personal address (only that
    someone opened her record: the notifier uses `notice_email` alone) and her médecin
    traitant in the trust space, who reads the reason too (mss.vault.break_glass_notice)."""

    patient_ins: str
    patient_address: str
    notice_email: str
    professional: str
    professional_name: str
    at: datetime
    expires_at: datetime
    patient_name: str = ""
    physician_address: str | None = None
    """The PER mailbox of the patient's médecin traitant, told too (CSP R1111-48)."""
    profession_label: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DepositView:
    id: int
    status: str
    sender_mailbox: str
    at: datetime
    documents: int
    problems: tuple[tuple[str, str], ...]  # (file name, kind)
    error_code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ProfessionalAccess:
    """One professional who can see (or could, unblocked) the patient's documents, as
    she reads it: name, profession, why, and which spaces the matrix opens to them."""

    ident: str
    name: str
    profession: str
    profession_code: str
    specialty: str
    why: tuple[str, ...]  # "in care", "médecin traitant", "break-glass"
    blocked: bool
    spaces: dict[PatientSpace, int]
    """Documents of each space they can see today (0 when blocked)."""


_COLUMNS = (D.id, D.patient_ins, D.space, D.title, D.file_name, D.content_type, D.size,
            D.created_at, D.received_at, D.author, D.sender_mailbox, D.classification_basis,
            D.classification_evidence, D.uploaded_by_patient, D.hidden_from_professionals,
            D.copy_of_id, D.type_code, D.class_code, D.source_message_id)
_N = len(_COLUMNS)


def _summary(row: Sequence[Any], pdf_copy_id: int | None = None) -> DocumentSummary:
    """A summary from a row of `_COLUMNS`, in that order."""
    return DocumentSummary(
        id=row[0], patient_ins=row[1], space=PatientSpace(row[2]), title=row[3],
        file_name=row[4], content_type=row[5], size=row[6], created_at=row[7],
        received_at=row[8], author=row[9], sender_mailbox=row[10],
        classification_basis=row[11], classification_evidence=row[12],
        uploaded_by_patient=bool(row[13]), hidden_from_professionals=bool(row[14]),
        copy_of_id=row[15], type_code=row[16], class_code=row[17],
        source_message_id=row[18] or "", pdf_copy_id=pdf_copy_id,
    )


def _profession(profile: ProfessionalProfile | None) -> str:
    """` profession=60` for an audit detail (the matrix row that decided)."""
    if profile is None:
        return ""
    specialty = f":{profile.specialty_code}" if profile.specialty_code else ""
    return f" profession={profile.profession_code or '-'}{specialty}"


async def _per_address(session: AsyncSession, ident: str) -> str | None:
    found = await session.execute(
        select(Mailbox.address).join(MailboxOwner, MailboxOwner.mailbox_id == Mailbox.id)
        .join(Professional, Professional.id == MailboxOwner.professional_id)
        .where(Professional.ident == ident, Mailbox.kind == MailboxKind.PER.value,
               Mailbox.disabled.is_(False)).order_by(Mailbox.id).limit(1))
    return found.scalar_one_or_none()


async def _patient_name(session: AsyncSession, ins: str) -> str:
    found = (await session.execute(select(Patient.first_name, Patient.last_name)
                                   .where(Patient.ins == ins))).first()
    return f"{found[0]} {found[1]}" if found is not None else ""


async def _keep_row(session: AsyncSession, wanted: bool, current: object | None,
                    make: Callable[[], object]) -> None:
    """Add the row `make` gives when `wanted` and absent; delete `current` when not wanted."""
    if wanted and current is None:
        session.add(make())
    elif not wanted and current is not None:
        await session.delete(current)


def _visible(query: AnySelect, viewer: Principal, standing_: Standing) -> AnySelect:
    """The SQL form of access_rules.may_see for a list."""
    query = query.where(D.deleted.is_(False))
    if standing_.is_professional:
        hidden = exists().where(DocumentHidingRow.document_id == D.id,
                                DocumentHidingRow.professional == viewer.ident)
        query = query.where(D.hidden_from_professionals.is_(False), ~hidden)
    return query


class VaultService:
    def __init__(self, store: Store, *, clock: Clock | None = None,
                 break_glass_duration: timedelta = BREAK_GLASS_DURATION,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 matrix: AccessMatrix | None = None) -> None:
        self.store = store
        self.matrix = matrix or load_access_matrix(store.settings.vault.access_matrix)
        self.clock = clock or store.clock
        self.break_glass_duration = break_glass_duration
        self.max_upload_bytes = max_upload_bytes
        # called after commit with each break-glass notice: patient e-mail notice plugs in
        self.on_break_glass: list[Callable[[BreakGlassNotice], None]] = []

    # -- audit --------------------------------------------------------------------------

    async def _audit(self, action: AuditAction, principal: Principal, ins: str, *,
                     target: str = "", outcome: AuditOutcome = AuditOutcome.OK,
                     detail: str = "") -> None:
        async def job(uow: UnitOfWork) -> None:
            uow.audit(action, principal, target=target, outcome=outcome, subject=ins,
                      detail=detail)

        await self.store.write(job)

    async def _refuse(self, action: AuditAction, principal: Principal, ins: str,
                      code: Refusal, reason: str, target: str = "",
                      detail: str = "") -> VaultAccessError:
        if ins:
            await self._audit(action, principal, ins, target=target,
                              outcome=AuditOutcome.REFUSED,
                              detail=f"refused={code.value} {detail}".strip())
        return VaultAccessError(code, reason)

    async def _record_for(self, session: AsyncSession, principal: Principal,
                          ins: str | None) -> PatientRecord | None:
        wanted = ins if ins is not None else (
            principal.ident if principal.kind is PrincipalKind.PATIENT else "")
        return await patient_record(session, wanted) if wanted else None

    # -- listing --------------------------------------------------------------------------

    def matrix_allows(self, profile: ProfessionalProfile | None, standing_: Standing,
                      facts: DocumentFacts) -> bool:
        """The matrix's word for a professional viewer (the owner needs none)."""
        if standing_ is Standing.OWNER:
            return True
        if profile is None or not standing_.is_professional:
            return False
        return self.matrix.allows(profile.profession_code, profile.specialty_code, facts,
                                  emergency=standing_ is Standing.BREAK_GLASS)

    async def _viewer(self, session: AsyncSession, principal: Principal, record: PatientRecord,
                      now: datetime) -> tuple[Standing, ProfessionalProfile | None]:
        standing_ = await standing(session, principal, record, now)
        profile = (await professional_profile(session, principal.ident)
                   if standing_.is_professional else None)
        return standing_, profile

    async def list_documents(self, principal: Principal, patient_ins: str | None = None,
                             *, space: PatientSpace | None = None) -> SpaceListing:
        """Counts in the nine spaces and the documents (of `space`, or all) the principal
        may see (the access matrix decides for professionals); PDF copies are folded into
        their original (`pdf_copy_id`)."""
        now = self.clock.now()
        reason = None
        async with self.store.reading() as session:
            record = await self._record_for(session, principal, patient_ins)
            if record is None:
                raise VaultAccessError(Refusal.NOT_FOUND, "patient inconnu / unknown patient")
            standing_, profile = await self._viewer(session, principal, record, now)
            rows: list[Sequence[Any]] = []
            if standing_ is Standing.OWNER or standing_.is_professional:
                everything = select(*_COLUMNS).where(D.patient_ins == record.ins)
                query = _visible(everything, principal, standing_)
                query = query.order_by(D.received_at.desc(), D.id.desc())
                rows = [tuple(r) for r in (await session.execute(query)).all()]
            if standing_ is Standing.BREAK_GLASS:
                grant = await active_grant(session, principal.ident, record.ins, now)
                reason = grant.reason if grant is not None else None
        if standing_ is not Standing.OWNER and not standing_.is_professional:
            raise await self._refuse(
                AuditAction.DOCUMENT_LISTED, principal, record.ins, Refusal.NOT_IN_CARE,
                "ce patient n'est pas suivi par vous / this patient is not in your care",
                detail=f"as={standing_.value}")
        copies = {r[15]: r[0] for r in rows if r[15] is not None}
        counts = dict.fromkeys(PatientSpace, 0)
        documents: list[DocumentSummary] = []
        withheld = 0
        for row in rows:
            if row[15] is not None:
                continue
            summary = _summary(row, copies.get(row[0]))
            if not self.matrix_allows(profile, standing_, summary.facts):
                withheld += 1
                continue
            counts[summary.space] += 1
            if space is None or row[2] == space.value:
                documents.append(summary)
        await self._audit(AuditAction.DOCUMENT_LISTED, principal, record.ins,
                          detail=f"space={space.value if space else 'all'} "
                                 f"as={standing_.value}{_profession(profile)} "
                                 f"count={len(documents)} withheld={withheld}")
        return SpaceListing(record.ins, counts, documents, standing_, withheld, reason)

    # -- one document ---------------------------------------------------------------------

    async def read_document(self, principal: Principal, document_id: int) -> DocumentFile:
        """The document's content for display (audited DOCUMENT_READ)."""
        return await self._open(principal, document_id, AuditAction.DOCUMENT_READ)

    async def download_document(self, principal: Principal, document_id: int) -> DocumentFile:
        """The document's content as a file (audited DOCUMENT_DOWNLOADED)."""
        return await self._open(principal, document_id, AuditAction.DOCUMENT_DOWNLOADED)

    async def _open(self, principal: Principal, document_id: int,
                    action: AuditAction) -> DocumentFile:
        now = self.clock.now()
        standing_, profile, why = Standing.NONE, None, "unknown"
        async with self.store.reading() as session:
            row = (await session.execute(select(*_COLUMNS, D.mailbox_id, D.blob_key, D.deleted)
                                         .where(D.id == document_id))).first()
            record = await patient_record(session, str(row[1])) if row is not None else None
            visible = False
            if row is not None and record is not None:
                standing_, profile = await self._viewer(session, principal, record, now)
                hidden = (await session.execute(
                    select(DocumentHidingRow.document_id).where(
                        DocumentHidingRow.document_id == document_id,
                        DocumentHidingRow.professional == principal.ident))).first()
                allowed = self.matrix_allows(profile, standing_, _summary(row[:_N]).facts)
                visible = may_see(standing_, masque_ps=bool(row[14]),
                                  hidden_from_viewer=hidden is not None and
                                  standing_.is_professional,
                                  deleted=bool(row[_N + 2]), matrix_allows=allowed)
                why = ("deleted" if row[_N + 2] else "masque_ps" if row[14] and
                       standing_.is_professional else "hidden" if hidden is not None and
                       standing_.is_professional else "matrix" if not allowed else
                       standing_.value)
            copy_id = None
            if visible and row is not None:
                copy_id = (await session.execute(
                    select(D.id).where(D.copy_of_id == document_id, D.deleted.is_(False))
                    .limit(1))).scalar_one_or_none()
        if row is None or record is None or not visible:
            raise await self._refuse(
                action, principal, record.ins if record is not None else "",
                Refusal.NOT_FOUND, "document introuvable / no such document",
                target=f"document:{document_id}",
                detail=f"as={standing_.value}{_profession(profile)} why={why}")
        content = await self.store.mail.contents.read_raw(int(str(row[_N])), str(row[_N + 1]))
        await self._audit(action, principal, record.ins, target=f"document:{document_id}",
                          detail=f"as={standing_.value}{_profession(profile)}")
        return DocumentFile(_summary(tuple(row[:_N]), copy_id), content)

    # -- break-glass ----------------------------------------------------------------------

    async def break_glass(self, principal: Principal, patient_ins: str,
                          reason: str) -> BreakGlassGrant:
        """Emergency access with a stated reason, for `break_glass_duration`; refused when
        the patient objected; audited (reason in the detail) and the patient told."""
        async with self.store.reading() as session:
            record = await patient_record(session, patient_ins)
            known = (principal.kind is PrincipalKind.PROFESSIONAL
                     and await professional_exists(session, principal.ident))
            blocked = record is not None and await is_blocked(session, record.ins,
                                                              principal.ident)
            physician_address, profile = None, None
            if record is not None and known:
                profile = await professional_profile(session, principal.ident)
                physician = await attending_physician(session, record.ins)
                if physician is not None and physician != principal.ident:
                    physician_address = await _per_address(session, physician)
                patient_name = await _patient_name(session, record.ins)
        if record is None:
            raise VaultAccessError(Refusal.NOT_FOUND, "patient inconnu / unknown patient")
        if not known:
            raise await self._refuse(
                AuditAction.BREAK_GLASS, principal, record.ins, Refusal.NOT_IN_CARE,
                "réservé aux professionnels de santé / for health professionals only")
        refusal = break_glass_refusal(reason, record.state, blocked)
        if refusal is Refusal.REASON_REQUIRED:
            raise await self._refuse(
                AuditAction.BREAK_GLASS, principal, record.ins, refusal,
                "indiquez le motif de l'accès en urgence / state the reason for the "
                "emergency access")
        if refusal is not None:
            raise await self._refuse(
                AuditAction.BREAK_GLASS, principal, record.ins, refusal,
                "le patient s'est opposé à l'accès à son dossier / the patient objected "
                "to access to their record")
        stated = clean_reason(reason)

        async def job(uow: UnitOfWork) -> BreakGlassGrant:
            now = uow.now()
            row = BreakGlassGrantRow(professional=principal.ident, patient_ins=record.ins,
                                     reason=stated, at=now,
                                     expires_at=now + self.break_glass_duration)
            uow.session.add(row)
            await uow.session.flush()
            uow.audit(AuditAction.BREAK_GLASS, principal, target=f"grant:{row.id}",
                      subject=record.ins,
                      detail=f"reason={stated} until={row.expires_at.isoformat()}"
                             f"{_profession(profile)} physician_told="
                             f"{'yes' if physician_address else 'no'}")
            notice = BreakGlassNotice(
                record.ins, record.address, record.notice_email, principal.label(),
                principal.display_name or (profile.name if profile else ""), now,
                row.expires_at, patient_name, physician_address,
                profile.profession_label if profile else "", stated)
            uow.after_commit.append(lambda: self._notify(notice))
            return BreakGlassGrant(row.id, principal.ident, record.ins, now, row.expires_at)

        return await self.store.write(job)

    def _notify(self, notice: BreakGlassNotice) -> None:
        for callback in self.on_break_glass:
            try:
                callback(notice)
            except Exception:
                log.exception("break-glass notice callback failed")

    # -- the patient's own actions --------------------------------------------------------

    async def upload(self, principal: Principal, file_name: str,
                     content: bytes, *, title: str = "") -> DocumentSummary:
        """A patient's document into Espace personnel (PDF, JPEG, PNG; bounded size);
        `title` names it (the file name by default)."""
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
        try:
            checked = check_upload(file_name, content, self.max_upload_bytes)
        except UploadRefused as exc:
            raise await self._refuse(AuditAction.DOCUMENT_UPLOADED, principal, record.ins,
                                     Refusal.INVALID_UPLOAD, exc.reason) from None
        blob = await self.store.mail.contents.prepare_blob(record.mailbox_id, content)

        async def job(uow: UnitOfWork) -> DocumentSummary:
            now = uow.now()
            row = D(patient_ins=record.ins, space=PatientSpace.ESPACE_PERSONNEL.value,
                    file_name=checked.file_name, content_type=checked.content_type,
                    size=blob.size, sha256=blob.sha256, mailbox_id=record.mailbox_id,
                    blob_key=blob.blob_key, title=title[:300] or checked.file_name,
                    class_code="90",
                    confidentiality_codes="", hidden_from_professionals=False,
                    classification_basis=PATIENT_UPLOAD_BASIS, classification_evidence="",
                    origin="upload", author=principal.display_name or None,
                    received_at=now, sender_mailbox=record.address,
                    sender_principal=principal.label(), uploaded_by_patient=True,
                    deleted=False)
            uow.session.add(row)
            await uow.session.flush()
            uow.audit(AuditAction.DOCUMENT_UPLOADED, principal, target=f"document:{row.id}",
                      subject=record.ins,
                      detail=f"space={PatientSpace.ESPACE_PERSONNEL.value} size={blob.size}")
            values = tuple(getattr(row, c.key) for c in _COLUMNS)
            return _summary(values)

        return await self.store.write(job)

    async def hide_from(self, principal: Principal, document_id: int,
                        professional: str) -> None:
        """The patient hides one of their documents from one professional (RPPS/ADELI)."""
        await self._set_hidden(principal, document_id, professional, hidden=True)

    async def show_to(self, principal: Principal, document_id: int,
                      professional: str) -> None:
        """Undo `hide_from`."""
        await self._set_hidden(principal, document_id, professional, hidden=False)

    async def _set_hidden(self, principal: Principal, document_id: int, professional: str,
                          *, hidden: bool) -> None:
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            owned = await self._owned(session, record, document_id)
            known = professional.strip() in await self._candidates(session, record)
        if not owned:
            raise await self._refuse(AuditAction.DOCUMENT_HIDDEN, principal, record.ins,
                                     Refusal.NOT_FOUND, "document introuvable / no such document",
                                     target=f"document:{document_id}")
        if not known:
            raise await self._refuse(
                AuditAction.DOCUMENT_HIDDEN, principal, record.ins, Refusal.NOT_FOUND,
                "choisissez un professionnel qui peut voir vos documents / choose a "
                "professional who can see your documents", target=f"document:{document_id}")
        ident = professional.strip()

        async def job(uow: UnitOfWork) -> None:
            copies = (await uow.session.execute(
                select(D.id).where(D.copy_of_id == document_id))).scalars().all()
            for each in (document_id, *copies):  # the PDF copy follows its original
                await _keep_row(uow.session, hidden,
                                await uow.session.get(DocumentHidingRow, (each, ident)),
                                lambda each=each: DocumentHidingRow(  # type: ignore[misc]
                                    document_id=each, professional=ident, at=uow.now()))
            await uow.session.flush()
            uow.audit(AuditAction.DOCUMENT_HIDDEN, principal, target=f"document:{document_id}",
                      subject=record.ins,
                      detail=f"{'hidden from' if hidden else 'shown again to'} "
                             f"professional:{ident}")

        await self.store.write(job)

    async def _candidates(self, session: AsyncSession, record: PatientRecord) -> set[str]:
        """Professionals the patient may choose among: in care, her médecin traitant,
        those holding a break-glass grant, and those she blocked (to unblock them)."""
        now = self.clock.now()
        grants = await session.execute(
            select(BreakGlassGrantRow.professional).where(
                BreakGlassGrantRow.patient_ins == record.ins,
                BreakGlassGrantRow.expires_at > now))
        return (await professionals_in_care(session, record) | set(grants.scalars().all())
                | await blocked_professionals(session, record.ins))

    async def professionals(self, principal: Principal) -> list[ProfessionalAccess]:
        """Who can see what of the patient's documents, by name and profession (audited)."""
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            in_care = await professionals_in_care(session, record)
            candidates = await self._candidates(session, record)
            blocked = await blocked_professionals(session, record.ins)
            physician = await attending_physician(session, record.ins)
            rows = [tuple(r) for r in (await session.execute(
                select(*_COLUMNS).where(D.patient_ins == record.ins, D.deleted.is_(False),
                                        D.copy_of_id.is_(None)))).all()]
            hidings: dict[str, set[int]] = {}
            for document_id, ident in (await session.execute(
                    select(DocumentHidingRow.document_id, DocumentHidingRow.professional)
                    .join(D, D.id == DocumentHidingRow.document_id)
                    .where(D.patient_ins == record.ins))).all():
                hidings.setdefault(ident, set()).add(document_id)
            found: list[ProfessionalAccess] = []
            for ident in sorted(candidates):
                profile = await professional_profile(session, ident)
                if profile is None:
                    continue
                why = tuple(w for w, holds in (
                    ("médecin traitant", ident == physician),
                    ("in care", ident in in_care and ident != physician),
                    ("break-glass", ident not in in_care),
                ) if holds)
                standing_ = (Standing.BLOCKED if ident in blocked else Standing.IN_CARE
                             if ident in in_care else Standing.BREAK_GLASS)
                counts = dict.fromkeys(PatientSpace, 0)
                for row in rows:
                    summary = _summary(row)
                    if may_see(standing_, masque_ps=summary.hidden_from_professionals,
                               hidden_from_viewer=summary.id in hidings.get(ident, set()),
                               deleted=False,
                               matrix_allows=self.matrix_allows(profile, standing_,
                                                                summary.facts)):
                        counts[summary.space] += 1
                found.append(ProfessionalAccess(
                    ident, profile.name, profile.profession_label or profile.profession_code,
                    profile.profession_code, profile.specialty_label, why, ident in blocked,
                    counts))
        await self._audit(AuditAction.DOCUMENT_LISTED, principal, record.ins,
                          detail=f"who can see count={len(found)}")
        return found

    async def block(self, principal: Principal, professional: str) -> None:
        """The patient closes her record to one of the professionals who can see it."""
        await self._set_blocked(principal, professional, blocked=True)

    async def unblock(self, principal: Principal, professional: str) -> None:
        await self._set_blocked(principal, professional, blocked=False)

    async def _set_blocked(self, principal: Principal, professional: str, *,
                           blocked: bool) -> None:
        ident = professional.strip()
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            allowed = ident in await self._candidates(session, record)
        if not allowed:
            raise await self._refuse(
                AuditAction.DOCUMENT_HIDDEN, principal, record.ins, Refusal.NOT_FOUND,
                "choisissez un professionnel qui peut voir vos documents / choose a "
                "professional who can see your documents")

        async def job(uow: UnitOfWork) -> None:
            await _keep_row(uow.session, blocked,
                            await uow.session.get(ProfessionalBlockRow, (record.ins, ident)),
                            lambda: ProfessionalBlockRow(patient_ins=record.ins,
                                                         professional=ident, at=uow.now()))
            await uow.session.flush()
            uow.audit(AuditAction.DOCUMENT_HIDDEN, principal, target=f"professional:{ident}",
                      subject=record.ins,
                      detail=f"record {'blocked for' if blocked else 'opened again to'} "
                             f"professional:{ident}")

        await self.store.write(job)

    async def set_attending_physician(self, principal: Principal,
                                      professional: str | None) -> None:
        """The patient names her médecin traitant among the physicians (profession 10)
        who can see her documents, or names none."""
        ident = professional.strip() if professional else None
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            profile = await professional_profile(session, ident) if ident else None
            allowed = ident is None or (
                ident in await professionals_in_care(session, record)
                and profile is not None and profile.profession_code == PHYSICIAN)
        if not allowed:
            raise await self._refuse(
                AuditAction.DOCUMENT_HIDDEN, principal, record.ins, Refusal.NOT_FOUND,
                "choisissez un médecin qui vous suit / choose a physician in your care")

        async def job(uow: UnitOfWork) -> None:
            current = await uow.session.get(AttendingPhysicianRow, record.ins)
            if current is not None:
                await uow.session.delete(current)
                await uow.session.flush()
            if ident is not None:
                uow.session.add(AttendingPhysicianRow(patient_ins=record.ins,
                                                      professional=ident, at=uow.now()))
            await uow.session.flush()
            change = f"set to professional:{ident}" if ident else "removed"
            uow.audit(AuditAction.DOCUMENT_HIDDEN, principal,
                      target=f"professional:{ident}" if ident else "", subject=record.ins,
                      detail=f"attending physician {change}")

        await self.store.write(job)

    async def documents_of_message(self, principal: Principal,
                                   message_id: str) -> list[DocumentSummary]:
        """The patient's documents filed from the message `message_id` (its Message-ID),
        for the links a message shows; not audited apart: the message read is."""
        if not message_id:
            return []
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            rows = (await session.execute(
                select(*_COLUMNS).where(D.patient_ins == record.ins, D.deleted.is_(False),
                                        D.copy_of_id.is_(None),
                                        D.source_message_id == " ".join(message_id.split())[:300])
                .order_by(D.id))).all()
        return [_summary(tuple(r)) for r in rows]

    async def message_uid(self, principal: Principal, document_id: int) -> int | None:
        """The UID, in the patient's INBOX, of the message her document was filed from."""
        if principal.kind is not PrincipalKind.PATIENT:
            return None
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            source = (await session.execute(
                select(D.source_message_id).where(D.id == document_id,
                                                  D.patient_ins == record.ins,
                                                  D.deleted.is_(False)))).scalar_one_or_none()
            if not source:
                return None
            found = await session.execute(
                select(FolderEntry.uid).join(StoredMessage,
                                             StoredMessage.id == FolderEntry.message_id)
                .join(Folder, Folder.id == FolderEntry.folder_id)
                .where(Folder.mailbox_id == record.mailbox_id, Folder.name == INBOX,
                       StoredMessage.message_id == source)
                .order_by(FolderEntry.uid).limit(1))
            return found.scalar_one_or_none()

    async def delete_upload(self, principal: Principal, document_id: int) -> None:
        """The patient deletes a document they uploaded; documents from professionals are
        kept (their record), only uploads can go. The blob goes once nothing names it."""
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            row = await session.get(D, document_id)
            mine = row is not None and row.patient_ins == record.ins and not row.deleted
            upload = mine and row is not None and row.uploaded_by_patient
        if not mine:
            raise await self._refuse(AuditAction.DOCUMENT_DELETED, principal, record.ins,
                                     Refusal.NOT_FOUND, "document introuvable / no such document",
                                     target=f"document:{document_id}")
        if not upload:
            raise await self._refuse(
                AuditAction.DOCUMENT_DELETED, principal, record.ins, Refusal.NOT_AN_UPLOAD,
                "seuls vos propres dépôts peuvent être supprimés / only documents you "
                "uploaded can be deleted", target=f"document:{document_id}")

        async def job(uow: UnitOfWork) -> None:
            target = await uow.session.get(D, document_id)
            assert target is not None
            target.deleted, target.deleted_at = True, uow.now()
            await uow.session.flush()
            others = (await uow.session.execute(
                select(func.count()).select_from(D).where(
                    D.mailbox_id == target.mailbox_id, D.blob_key == target.blob_key,
                    D.deleted.is_(False))
            )).scalar_one()
            uow.audit(AuditAction.DOCUMENT_DELETED, principal, target=f"document:{document_id}",
                      subject=record.ins)
            if others == 0:
                mailbox_id, blob_key = target.mailbox_id, target.blob_key
                uow.after_commit.append(lambda: self.store.blobs.delete(mailbox_id, blob_key))

        await self.store.write(job)

    async def deposits(self, principal: Principal, *, limit: int = 50) -> list[DepositView]:
        """The status of the latest deposits into the patient's record (failures too)."""
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            rows = (await session.execute(
                select(DepositRow).where(DepositRow.patient_ins == record.ins)
                .order_by(DepositRow.id.desc()).limit(limit))).scalars().all()
            problems: dict[int, list[tuple[str, str]]] = {}
            if rows:
                found = await session.execute(
                    select(DepositProblemRow.deposit_id, DepositProblemRow.file_name,
                           DepositProblemRow.kind)
                    .where(DepositProblemRow.deposit_id.in_([r.id for r in rows])))
                for deposit_id, name, kind in found.all():
                    problems.setdefault(deposit_id, []).append((name, kind))
        await self._audit(AuditAction.DOCUMENT_LISTED, principal, record.ins,
                          detail=f"deposits count={len(rows)}")
        return [DepositView(r.id, r.status, r.sender_mailbox, r.at, r.documents,
                            tuple(problems.get(r.id, [])), r.error_code, r.reason) for r in rows]

    async def traces(self, principal: Principal, *, before_id: int | None = None,
                     limit: int = 50, actor: str | None = None,
                     document_id: int | None = None) -> list[AuditEvent]:
        """The patient's own traces: every access and action on their record, newest
        first; optionally only those of one actor (a principal label) or one document."""
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            if actor is None and document_id is None:
                return await events_for_subject(session, record.ins, before_id=before_id,
                                                limit=limit)
            query = select(AuditEvent).where(AuditEvent.subject == record.ins)
            if actor is not None:
                query = query.where(AuditEvent.principal == actor)
            if document_id is not None:
                query = query.where(AuditEvent.target == f"document:{document_id}")
            if before_id is not None:
                query = query.where(AuditEvent.id < before_id)
            query = query.order_by(AuditEvent.id.desc()).limit(limit)
            return list((await session.execute(query)).scalars().all())

    async def trace_context(self, principal: Principal, events: Sequence[AuditEvent]
                            ) -> tuple[dict[int, str], dict[int, list[tuple[str, str]]],
                                       list[str], list[tuple[int, str]]]:
        """What the trace page names: titles of the documents the events target, refused
        files of their deposits, and the choices of its filters (actors, documents)."""
        document_ids = {int(e.target[9:]) for e in events
                        if e.target.startswith("document:") and e.target[9:].isdigit()}
        deposit_ids = {int(e.target[8:]) for e in events
                       if e.target.startswith("deposit:") and e.target[8:].isdigit()}
        async with self.store.reading() as session:
            record = await self._own_record(session, principal)
            titles = {i: t or f for i, t, f in (await session.execute(
                select(D.id, D.title, D.file_name).where(
                    D.patient_ins == record.ins, D.id.in_(document_ids)))).all()
            } if document_ids else {}
            refusals: dict[int, list[tuple[str, str]]] = {}
            if deposit_ids:
                found = await session.execute(
                    select(DepositProblemRow.deposit_id, DepositProblemRow.file_name,
                           DepositProblemRow.kind)
                    .join(DepositRow, DepositRow.id == DepositProblemRow.deposit_id)
                    .where(DepositRow.patient_ins == record.ins,
                           DepositProblemRow.deposit_id.in_(deposit_ids))
                    .order_by(DepositProblemRow.id))
                for deposit_id, name, kind in found.all():
                    refusals.setdefault(deposit_id, []).append((name, kind))
            actors = sorted((await session.execute(
                select(AuditEvent.principal).where(AuditEvent.subject == record.ins)
                .distinct())).scalars().all())
            documents = [(i, t or f) for i, t, f in (await session.execute(
                select(D.id, D.title, D.file_name).where(
                    D.patient_ins == record.ins, D.copy_of_id.is_(None))
                .order_by(D.id.desc()))).all()]
        return titles, refusals, actors, documents

    async def _own_record(self, session: AsyncSession, principal: Principal) -> PatientRecord:
        record = (await patient_record(session, principal.ident)
                  if principal.kind is PrincipalKind.PATIENT else None)
        if record is None:
            raise VaultAccessError(Refusal.NOT_THE_PATIENT,
                                   "réservé au patient / for the patient only")
        return record

    async def _owned(self, session: AsyncSession, record: PatientRecord,
                     document_id: int) -> bool:
        found = await session.execute(
            select(D.id).where(D.id == document_id, D.patient_ins == record.ins,
                               D.deleted.is_(False)))
        return found.first() is not None
