"""Creating mailboxes with their owners, by kind (docs/architecture.md §3, docs/architecture.md §9:
Mailboxes).

- PER: owned by one professional (RPPS or ADELI);
- ORG: no owner, members with rights (see org_members);
- APP: owned by an application of a legal person, optional responsible mailbox that
  receives what is written to the APP mailbox;
- PAT: `<INS>@<patient domain>`, refused when the INS key is wrong.
Address and kind never change after creation: no function here updates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.certificate_bindings import add_binding
from mss.directory.errors import DirectoryError, MailboxKindRule, UnknownMailbox
from mss.directory.identifiers import (
    check_address,
    check_ins,
    check_professional_id,
    patient_address,
    professional_id_type,
)
from mss.directory.mailbox_lookup import mailbox_of_kind
from mss.directory.org_members import OrgMemberInfo, org_members
from mss.directory.principals import (
    application_ident,
    professional_by_ident,
    professional_name,
)
from mss.directory.sources import ReadSource, reading_session
from mss.directory.tables import (
    Application,
    CertificateBinding,
    MailboxOwner,
    Patient,
    Professional,
)
from mss.distinguished_names import dn_lookup_key
from mss.identity import SYSTEM, MailboxKind, PatientSpaceState, Principal
from mss.store.audit_actions import AuditAction
from mss.store.mailboxes import MailboxExists, create_mailbox, find_mailbox
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ProfessionalIdentity:
    """What the national directory says of a professional."""

    ident: str  # RPPS (11 digits, Luhn) or ADELI (9 digits)
    last_name: str
    first_name: str = ""
    civility: str = ""
    profession_code: str = ""
    profession_label: str = ""
    specialty_code: str = ""
    specialty_label: str = ""
    structure_id: str = ""
    structure_name: str = ""
    postcode: str = ""


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    address: str
    kind: MailboxKind
    display_name: str
    disabled: bool
    liste_rouge: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MailboxDetails:
    info: MailboxInfo
    owner: str  # "professional 10000000009 (Jean Dupont)", "patient ...", "" for ORG
    members: tuple[OrgMemberInfo, ...] = ()
    responsible: str | None = None  # APP: mailbox that receives for it
    patient_state: PatientSpaceState | None = None
    certificates: tuple[str, ...] = ()  # bound client certificates ("dn=...", "sha256=...")


def mailbox_info(mailbox: Mailbox) -> MailboxInfo:
    return MailboxInfo(
        mailbox.address, MailboxKind(mailbox.kind), mailbox.display_name, mailbox.disabled,
        mailbox.liste_rouge, mailbox.created_at,
    )


async def _new_mailbox(
    uow: UnitOfWork, store: Store, *, address: str, kind: MailboxKind, display_name: str,
    liste_rouge: bool, principal: Principal,
) -> Mailbox:
    try:
        return await create_mailbox(
            uow, store.keyring, address=address, kind=kind, display_name=display_name,
            liste_rouge=liste_rouge, principal=principal,
        )
    except MailboxExists:
        raise DirectoryError(
            f"mailbox {address} already exists (address and kind never change)"
        ) from None


async def ensure_professional(
    session: AsyncSession, identity: ProfessionalIdentity, now: datetime
) -> Professional:
    """The professional with this RPPS/ADELI, created from `identity` when unknown."""
    ident = check_professional_id(identity.ident)
    existing = await professional_by_ident(session, ident)
    if existing is not None:
        return existing
    pro = Professional(
        ident=ident, id_type=professional_id_type(ident), civility=identity.civility,
        last_name=identity.last_name, first_name=identity.first_name,
        profession_code=identity.profession_code, profession_label=identity.profession_label,
        specialty_code=identity.specialty_code, specialty_label=identity.specialty_label,
        structure_id=identity.structure_id, structure_name=identity.structure_name,
        postcode=identity.postcode, created_at=now,
    )
    session.add(pro)
    await session.flush()
    return pro


async def create_per_mailbox(
    store: Store, *, address: str, professional: ProfessionalIdentity,
    display_name: str = "", liste_rouge: bool = False, principal: Principal = SYSTEM,
) -> MailboxInfo:
    """A nominative mailbox owned by one professional (created when unknown)."""
    address = check_address(address)

    async def job(uow: UnitOfWork) -> MailboxInfo:
        pro = await ensure_professional(uow.session, professional, uow.now())
        mailbox = await _new_mailbox(
            uow, store, address=address, kind=MailboxKind.PER,
            display_name=display_name or professional_name(pro), liste_rouge=liste_rouge,
            principal=principal,
        )
        uow.session.add(MailboxOwner(mailbox_id=mailbox.id, professional_id=pro.id))
        await uow.session.flush()
        return mailbox_info(mailbox)

    return await store.write(job)


async def create_org_mailbox(
    store: Store, *, address: str, display_name: str, structure_name: str = "",
    liste_rouge: bool = False, principal: Principal = SYSTEM,
) -> MailboxInfo:
    """An organisational mailbox; members are added with `set_org_member`."""
    address = check_address(address)

    async def job(uow: UnitOfWork) -> MailboxInfo:
        mailbox = await _new_mailbox(
            uow, store, address=address, kind=MailboxKind.ORG, display_name=display_name,
            liste_rouge=liste_rouge, principal=principal,
        )
        uow.session.add(MailboxOwner(mailbox_id=mailbox.id, structure_name=structure_name))
        await uow.session.flush()
        return mailbox_info(mailbox)

    return await store.write(job)


async def _responsible_mailbox(session: AsyncSession, address: str) -> Mailbox:
    mailbox = await find_mailbox(session, address)
    if mailbox is None:
        raise UnknownMailbox(address)
    if mailbox.kind not in (MailboxKind.PER.value, MailboxKind.ORG.value):
        raise MailboxKindRule(f"the responsible mailbox must be PER or ORG: {address}")
    return mailbox


async def create_app_mailbox(
    store: Store, *, address: str, application_name: str, owner_structure: str = "",
    certificate_dn: str | None = None, responsible_address: str | None = None,
    display_name: str = "", principal: Principal = SYSTEM,
) -> MailboxInfo:
    """An applicative mailbox: it sends, it does not receive unless a responsible
    mailbox is named (docs/architecture.md §3). A certificate DN binds the application's
    certificate."""
    address = check_address(address)
    dn = dn_lookup_key(certificate_dn) if certificate_dn else None

    async def job(uow: UnitOfWork) -> MailboxInfo:
        query = select(Application).where(Application.name == application_name)
        app = (await uow.session.execute(query)).scalar_one_or_none()
        if app is None:
            app = Application(name=application_name, owner_structure=owner_structure,
                              certificate_dn=dn, created_at=uow.now())
            uow.session.add(app)
            await uow.session.flush()
        elif dn and app.certificate_dn != dn:
            raise DirectoryError(
                f"application {application_name} is bound to another certificate"
            )
        responsible = (
            await _responsible_mailbox(uow.session, responsible_address)
            if responsible_address else None
        )
        mailbox = await _new_mailbox(
            uow, store, address=address, kind=MailboxKind.APP,
            display_name=display_name or application_name, liste_rouge=False,
            principal=principal,
        )
        uow.session.add(MailboxOwner(
            mailbox_id=mailbox.id, application_id=app.id,
            responsible_mailbox_id=responsible.id if responsible else None,
        ))
        await uow.session.flush()
        if app.certificate_dn:
            await add_binding(uow, mailbox, subject_dn=app.certificate_dn, principal=principal)
        return mailbox_info(mailbox)

    return await store.write(job)


async def set_responsible_mailbox(
    store: Store, app_address: str, responsible_address: str | None,
    *, principal: Principal = SYSTEM,
) -> None:
    """Name (or clear) the mailbox that receives what is written to an APP mailbox."""

    async def job(uow: UnitOfWork) -> None:
        mailbox = await mailbox_of_kind(
            uow.session, app_address, MailboxKind.APP,
            f"only APP mailboxes have a responsible mailbox: {app_address}")
        owner = await uow.session.get(MailboxOwner, mailbox.id)
        assert owner is not None
        responsible = (
            await _responsible_mailbox(uow.session, responsible_address)
            if responsible_address else None
        )
        owner.responsible_mailbox_id = responsible.id if responsible else None
        await uow.session.flush()
        action = AuditAction.MEMBER_ADDED if responsible else AuditAction.MEMBER_REMOVED
        uow.audit(action, principal, target=mailbox.address,
                  detail=f"responsible={responsible.address if responsible else ''}")

    await store.write(job)


async def create_patient_mailbox(
    store: Store, *, ins: str, first_name: str, last_name: str, birth_date: date,
    notice_email: str, state: PatientSpaceState = PatientSpaceState.ACTIVE,
    principal: Principal = SYSTEM,
) -> MailboxInfo:
    """A patient and their mailbox `<INS>@<patient domain>`; a wrong INS key is refused."""
    ins = check_ins(ins)
    address = patient_address(ins, store.settings.server.patient_domain)
    notice = check_address(notice_email)

    async def job(uow: UnitOfWork) -> MailboxInfo:
        existing = (await uow.session.execute(
            select(Patient).where(Patient.ins == ins)
        )).scalar_one_or_none()
        if existing is not None:
            raise DirectoryError(f"patient {ins} already exists")
        patient = Patient(
            ins=ins, first_name=first_name, last_name=last_name, birth_date=birth_date,
            notice_email=notice, state=state.value, state_changed_at=uow.now(),
            created_at=uow.now(),
        )
        uow.session.add(patient)
        await uow.session.flush()
        mailbox = await _new_mailbox(
            uow, store, address=address, kind=MailboxKind.PAT,
            display_name=f"{first_name} {last_name}".strip(), liste_rouge=True,
            principal=principal,
        )
        uow.session.add(MailboxOwner(mailbox_id=mailbox.id, patient_id=patient.id))
        await uow.session.flush()
        uow.audit(AuditAction.PATIENT_STATE_CHANGED, principal, target=address,
                  subject=ins, detail=f"created {state.value}")
        return mailbox_info(mailbox)

    return await store.write(job)


async def disable_mailbox(
    store: Store, address: str, *, principal: Principal = SYSTEM
) -> bool:
    """Disable a mailbox (it keeps its data); False when it already was."""

    async def job(uow: UnitOfWork) -> bool:
        mailbox = await find_mailbox(uow.session, address)
        if mailbox is None:
            raise UnknownMailbox(address)
        if mailbox.disabled:
            return False
        mailbox.disabled = True
        await uow.session.flush()
        uow.audit(AuditAction.MAILBOX_DISABLED, principal, target=mailbox.address)
        return True

    return await store.write(job)


async def list_mailboxes(
    source: ReadSource, *, kind: MailboxKind | None = None
) -> list[MailboxInfo]:
    async with reading_session(source) as session:
        query = select(Mailbox).order_by(Mailbox.address)
        if kind is not None:
            query = query.where(Mailbox.kind == kind.value)
        return [mailbox_info(m) for m in (await session.execute(query)).scalars()]


async def _owner_text(session: AsyncSession, owner: MailboxOwner | None) -> str:
    if owner is None:
        return ""
    if owner.professional_id is not None:
        pro = await session.get(Professional, owner.professional_id)
        if pro is not None:
            return f"professional {pro.ident} ({professional_name(pro)})"
    if owner.patient_id is not None:
        patient = await session.get(Patient, owner.patient_id)
        if patient is not None:
            return f"patient {patient.ins} ({patient.first_name} {patient.last_name})"
    if owner.application_id is not None:
        app = await session.get(Application, owner.application_id)
        if app is not None:
            return f"application {app.name} ({application_ident(app)})"
    return f"structure {owner.structure_name}" if owner.structure_name else ""


async def show_mailbox(source: ReadSource, address: str) -> MailboxDetails | None:
    async with reading_session(source) as session:
        mailbox = await find_mailbox(session, address)
        if mailbox is None:
            return None
        owner = await session.get(MailboxOwner, mailbox.id)
        members: tuple[OrgMemberInfo, ...] = ()
        if mailbox.kind == MailboxKind.ORG.value:
            members = tuple(await org_members(session, mailbox.id))
        responsible = None
        if owner is not None and owner.responsible_mailbox_id is not None:
            target = await session.get(Mailbox, owner.responsible_mailbox_id)
            responsible = target.address if target is not None else None
        state = None
        if owner is not None and owner.patient_id is not None:
            patient = await session.get(Patient, owner.patient_id)
            state = PatientSpaceState(patient.state) if patient is not None else None
        bindings = (await session.execute(
            select(CertificateBinding).where(CertificateBinding.mailbox_id == mailbox.id)
            .order_by(CertificateBinding.id))).scalars()
        certificates = tuple(f"dn={b.subject_dn}" if b.subject_dn else
                             f"sha256={b.fingerprint_sha256}" for b in bindings)
        return MailboxDetails(
            mailbox_info(mailbox), await _owner_text(session, owner), members, responsible,
            state, certificates,
        )


async def _application_of(uow: UnitOfWork, address: str) -> tuple[Mailbox, Application]:
    mailbox = await find_mailbox(uow.session, address)
    if mailbox is None:
        raise UnknownMailbox(address)
    owner = await uow.session.get(MailboxOwner, mailbox.id)
    app = (await uow.session.get(Application, owner.application_id)
           if owner is not None and owner.application_id is not None else None)
    if mailbox.kind != MailboxKind.APP.value or app is None:
        raise DirectoryError(f"{mailbox.address} is a {mailbox.kind} mailbox: only APP "
                             "mailboxes are bound to an application certificate")
    return mailbox, app


async def bind_app_certificate(store: Store, address: str, certificate_dn: str, *,
                               principal: Principal = SYSTEM) -> str:
    """Bind the client certificate of an existing APP mailbox's application (it then
    signs in and acts under that subject DN); returns the DN as stored (normalised)."""
    dn = dn_lookup_key(certificate_dn)

    async def job(uow: UnitOfWork) -> str:
        mailbox, app = await _application_of(uow, address)
        if app.certificate_dn and app.certificate_dn != dn:
            raise DirectoryError(f"application {app.name} is bound to {app.certificate_dn}: "
                                 "unbind it first")
        app.certificate_dn = dn
        bound = (await uow.session.execute(select(CertificateBinding.id).where(
            CertificateBinding.mailbox_id == mailbox.id,
            CertificateBinding.subject_dn == dn))).first()
        if bound is None:
            await add_binding(uow, mailbox, subject_dn=dn, principal=principal)
        return dn

    return await store.write(job)


async def unbind_app_certificate(store: Store, address: str, *,
                                 principal: Principal = SYSTEM) -> str | None:
    """Remove the certificate of an APP mailbox's application; returns the DN it had."""

    async def job(uow: UnitOfWork) -> str | None:
        mailbox, app = await _application_of(uow, address)
        dn, app.certificate_dn = app.certificate_dn, None
        if dn is None:
            return None
        await uow.session.execute(delete(CertificateBinding).where(
            CertificateBinding.mailbox_id == mailbox.id, CertificateBinding.subject_dn == dn))
        uow.audit(AuditAction.CERT_REVOKED, principal, target=mailbox.address,
                  detail=f"binding removed dn={dn}")
        return dn

    return await store.write(job)


async def responsible_mailbox_of(source: ReadSource, app_address: str) -> str | None:
    """The mailbox that receives for an APP mailbox, or None (then mail to it is refused,
    MSS policy R2)."""
    details = await show_mailbox(source, app_address)
    return details.responsible if details is not None else None
