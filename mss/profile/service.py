"""The medical profile's rules: who reads, who adds, who changes, all audited
(docs/medical-profile.md).

Invariants:
- the patient reads and edits every section of her own profile;
- a professional in care (mss.vault.care: conversation, attending physician) reads it
  and adds items in the sections the access matrix gives their profession (`profile =
  [...]`); they change or delete only the items they wrote, never the patient's;
- under an active break-glass grant (the vault's: reason, audit, notice) a professional
  reads the emergency subset only (allergies, blood group, treatments, persons to warn,
  advance directives);
- a patient who opposed her space has no profile (nothing is read or written; the
  retention pass erases it), a closed space's profile is erased after the retention;
- every read, change and refusal is an audit row with her INS as subject (her traces),
  never the items' content.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.tables import Patient
from mss.identity import PatientSpaceState, Principal, PrincipalKind
from mss.profile.sections import (
    BLOOD_GROUPS,
    EMERGENCY,
    MEASURES,
    ORDER,
    Section,
)
from mss.profile.tables import ProfileItemRow
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from mss.vault.access_matrix import AccessMatrix, load_access_matrix
from mss.vault.access_rules import Standing
from mss.vault.care import patient_record, professional_profile, standing

MAX_LABEL = 300
MAX_DETAIL = 2000
MAX_ITEMS = 2000
RETENTION = timedelta(days=365)
"""How long a closed space's profile is kept before it is erased (docs/medical-profile.md)."""


class ProfileRefusal(enum.StrEnum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    NO_PROFILE = "no_profile"  # opposed or closed space


class ProfileError(Exception):
    """A refusal; `reason` is a sentence for the user (French / English)."""

    def __init__(self, code: ProfileRefusal, reason: str) -> None:
        super().__init__(f"{code.value}: {reason}")
        self.code, self.reason = code, reason


class ProfileInvalid(ValueError):
    """The item is not usable; the message says which field (French / English)."""


@dataclass(frozen=True, slots=True)
class ProfileItem:
    id: int
    section: Section
    label: str
    detail: str
    value: float | None
    unit: str
    observed_at: datetime | None
    author_kind: str
    author_ident: str
    author_name: str
    provenance: str
    created_at: datetime
    updated_at: datetime

    @property
    def by_patient(self) -> bool:
        return self.author_kind == "patient"


@dataclass(frozen=True, slots=True)
class ItemInput:
    """What a form gives for a new item."""

    section: Section
    label: str
    detail: str = ""
    value: float | None = None
    unit: str = ""
    observed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    patient_ins: str
    patient_name: str
    standing: Standing
    items: dict[Section, list[ProfileItem]] = field(default_factory=dict)
    may_add: frozenset[Section] = frozenset()
    emergency_only: bool = False

    def section(self, section: Section) -> list[ProfileItem]:
        return self.items.get(section, [])

    @property
    def sections(self) -> tuple[Section, ...]:
        return EMERGENCY if self.emergency_only else ORDER


def check_item(item: ItemInput) -> ItemInput:
    """Bounds and the shape of each section (a measure is a known kind, a value in its
    range, its unit; a blood group one of eight)."""
    label, detail = item.label.strip(), item.detail.strip()
    if len(label) > MAX_LABEL or len(detail) > MAX_DETAIL:
        raise ProfileInvalid("Texte trop long. / Text too long.")
    if item.section is Section.MEASURES:
        kind = MEASURES.get(label)
        if kind is None:
            raise ProfileInvalid("Mesure inconnue. / Unknown measure.")
        if item.value is None or not kind.low <= item.value <= kind.high:
            raise ProfileInvalid(f"Valeur hors limites ({kind.low}–{kind.high} {kind.unit}). "
                                 f"/ Value out of range.")
        if item.observed_at is None:
            raise ProfileInvalid("Date de la mesure requise. / Date of the measure needed.")
        return ItemInput(item.section, label, detail, item.value, kind.unit, item.observed_at)
    if item.section is Section.BLOOD_GROUP and label not in BLOOD_GROUPS:
        raise ProfileInvalid("Groupe sanguin inconnu. / Unknown blood group.")
    if not label:
        raise ProfileInvalid("Donnez un intitulé. / Give a title.")
    return ItemInput(item.section, label, detail, None, "", item.observed_at)


def _item(row: ProfileItemRow) -> ProfileItem:
    return ProfileItem(row.id, Section(row.section), row.label, row.detail, row.value,
                       row.unit, row.observed_at, row.author_kind, row.author_ident,
                       row.author_name, row.provenance, row.created_at, row.updated_at)


class ProfileService:
    def __init__(self, store: Store, matrix: AccessMatrix | None = None) -> None:
        self.store = store
        self.matrix = matrix or load_access_matrix(store.settings.vault.access_matrix)

    async def _where(self, session: AsyncSession, principal: Principal, ins: str
                     ) -> tuple[Standing, frozenset[Section], str]:
        """(standing, sections the principal may add to, patient's name); refusals raise
        ProfileError without an audit row (the caller writes it)."""
        record = await patient_record(session, ins)
        if record is None:
            raise ProfileError(ProfileRefusal.NOT_FOUND, "patient inconnu / unknown patient")
        if record.state is not PatientSpaceState.ACTIVE:
            raise ProfileError(ProfileRefusal.NO_PROFILE,
                               "pas de profil médical : l'espace est fermé ou en opposition "
                               "/ no medical profile: the space is closed or opposed")
        found = await standing(session, principal, record, self.store.clock.now())
        name = (await session.execute(select(Patient.first_name, Patient.last_name).where(
            Patient.ins == record.ins))).one()
        patient_name = f"{name[0]} {name[1]}".strip()
        if found is Standing.OWNER:
            return found, frozenset(Section), patient_name
        if found is Standing.IN_CARE:
            profile = await professional_profile(session, principal.ident)
            row = (self.matrix.row_for(profile.profession_code, profile.specialty_code)
                   if profile is not None else None)
            allowed = frozenset(Section(s) for s in row.profile) if row is not None else frozenset()
            return found, allowed, patient_name
        if found is Standing.BREAK_GLASS:
            return found, frozenset(), patient_name
        raise ProfileError(ProfileRefusal.NOT_ALLOWED,
                           "ce patient n'est pas suivi par vous / this patient is not in "
                           "your care")

    async def _refused(self, action: AuditAction, principal: Principal, ins: str,
                       error: ProfileError, detail: str = "") -> ProfileError:
        async def job(uow: UnitOfWork) -> None:
            uow.audit(action, principal, target=f"profile:{ins}", outcome=AuditOutcome.REFUSED,
                      subject=ins, detail=f"reason={error.code.value} {detail}".strip())

        if error.code is not ProfileRefusal.NOT_FOUND:
            await self.store.write(job)
        return error

    async def read(self, principal: Principal, patient_ins: str, *, why: str = ""
                   ) -> Profile:
        """The profile as `principal` may see it; audited."""
        ins = patient_ins.strip().upper()
        async with self.store.reading() as session:
            try:
                found, allowed, name = await self._where(session, principal, ins)
            except ProfileError as error:
                raise await self._refused(AuditAction.PROFILE_READ, principal, ins,
                                          error) from None
            rows = list((await session.execute(select(ProfileItemRow).where(
                ProfileItemRow.patient_ins == ins).order_by(
                ProfileItemRow.section, ProfileItemRow.observed_at, ProfileItemRow.id)
                .limit(MAX_ITEMS))).scalars())
        emergency_only = found is Standing.BREAK_GLASS
        items: dict[Section, list[ProfileItem]] = {}
        for row in rows:
            item = _item(row)
            if emergency_only and item.section not in EMERGENCY:
                continue
            items.setdefault(item.section, []).append(item)
        count = sum(len(v) for v in items.values())

        async def job(uow: UnitOfWork) -> None:
            uow.audit(AuditAction.PROFILE_READ, principal, target=f"profile:{ins}",
                      subject=ins, detail=f"as={found.value} items={count}"
                      + (" view=emergency" if emergency_only else "") + (f" {why}" if why else ""))

        await self.store.write(job)
        return Profile(ins, name, found, items, allowed, emergency_only)

    async def add(self, principal: Principal, patient_ins: str, item: ItemInput, *,
                  provenance: str = "") -> ProfileItem:
        """A new item by the patient or by a professional in care in an allowed section."""
        ins = patient_ins.strip().upper()
        checked = check_item(item)
        async with self.store.reading() as session:
            try:
                found, allowed, _ = await self._where(session, principal, ins)
                if checked.section not in allowed:
                    raise ProfileError(ProfileRefusal.NOT_ALLOWED,
                                       "section non ouverte à votre profession / section not "
                                       "open to your profession")
            except ProfileError as error:
                raise await self._refused(AuditAction.PROFILE_ITEM_ADDED, principal, ins,
                                          error, f"section={checked.section.value}") from None
            author_name = principal.display_name
            if principal.kind is PrincipalKind.PROFESSIONAL:
                profile = await professional_profile(session, principal.ident)
                if profile is not None:
                    author_name = " · ".join(p for p in (profile.name or author_name,
                                                         profile.profession_label) if p)

        async def job(uow: UnitOfWork) -> ProfileItem:
            now = uow.now()
            patient = principal.kind is PrincipalKind.PATIENT
            row = ProfileItemRow(
                patient_ins=ins, section=checked.section.value, label=checked.label,
                detail=checked.detail, value=checked.value, unit=checked.unit,
                observed_at=checked.observed_at, author_kind="patient" if patient
                else "professional", author_ident=principal.ident[:40],
                author_name=author_name[:300],
                provenance=(provenance or ("saisi par la patiente" if patient
                                           else "saisi par un professionnel en charge"))[:300],
                created_at=now, updated_at=now)
            uow.session.add(row)
            await uow.session.flush()
            uow.audit(AuditAction.PROFILE_ITEM_ADDED, principal, target=f"profile-item:{row.id}",
                      subject=ins, detail=f"section={checked.section.value} as={found.value}")
            return _item(row)

        return await self.store.write(job)

    async def _own_row(self, uow: UnitOfWork, principal: Principal, ins: str, item_id: int
                       ) -> ProfileItemRow:
        row = (await uow.session.execute(select(ProfileItemRow).where(
            ProfileItemRow.id == item_id, ProfileItemRow.patient_ins == ins))).scalar_one_or_none()
        if row is None:
            raise ProfileError(ProfileRefusal.NOT_FOUND, "élément inconnu / unknown item")
        if principal.kind is PrincipalKind.PATIENT:
            return row
        if row.author_kind != "professional" or row.author_ident != principal.ident:
            raise ProfileError(ProfileRefusal.NOT_ALLOWED,
                               "seul son auteur ou la patiente le modifie / only its author "
                               "or the patient changes it")
        return row

    async def change(self, principal: Principal, patient_ins: str, item_id: int,
                     item: ItemInput) -> ProfileItem:
        """Edit an item: the patient any of hers, a professional only what they wrote."""
        ins = patient_ins.strip().upper()
        checked = check_item(item)
        async with self.store.reading() as session:
            try:
                found, allowed, _ = await self._where(session, principal, ins)
                if checked.section not in allowed:
                    raise ProfileError(ProfileRefusal.NOT_ALLOWED, "section non ouverte / "
                                                                   "section not open")
            except ProfileError as error:
                raise await self._refused(AuditAction.PROFILE_ITEM_CHANGED, principal, ins,
                                          error) from None

        async def job(uow: UnitOfWork) -> ProfileItem:
            row = await self._own_row(uow, principal, ins, item_id)
            if row.section != checked.section.value:
                raise ProfileError(ProfileRefusal.NOT_ALLOWED, "autre section / other section")
            row.label, row.detail, row.value = checked.label, checked.detail, checked.value
            row.unit, row.observed_at, row.updated_at = checked.unit, checked.observed_at, uow.now()
            await uow.session.flush()
            uow.audit(AuditAction.PROFILE_ITEM_CHANGED, principal,
                      target=f"profile-item:{row.id}", subject=ins,
                      detail=f"section={row.section} as={found.value}")
            return _item(row)

        try:
            return await self.store.write(job)
        except ProfileError as error:
            raise await self._refused(AuditAction.PROFILE_ITEM_CHANGED, principal, ins,
                                      error, f"item={item_id}") from None

    async def delete(self, principal: Principal, patient_ins: str, item_id: int) -> None:
        """Delete an item: the patient any, a professional only what they wrote."""
        ins = patient_ins.strip().upper()
        async with self.store.reading() as session:
            try:
                found, _, _ = await self._where(session, principal, ins)
            except ProfileError as error:
                raise await self._refused(AuditAction.PROFILE_ITEM_DELETED, principal, ins,
                                          error) from None

        async def job(uow: UnitOfWork) -> None:
            row = await self._own_row(uow, principal, ins, item_id)
            section = row.section
            await uow.session.delete(row)
            await uow.session.flush()
            uow.audit(AuditAction.PROFILE_ITEM_DELETED, principal,
                      target=f"profile-item:{item_id}", subject=ins,
                      detail=f"section={section} as={found.value}")

        try:
            await self.store.write(job)
        except ProfileError as error:
            raise await self._refused(AuditAction.PROFILE_ITEM_DELETED, principal, ins,
                                      error, f"item={item_id}") from None


def measure_series(items: Iterable[ProfileItem]) -> dict[str, list[tuple[datetime, float]]]:
    """Measures by kind, in time order, for the plots."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    for item in items:
        if item.section is Section.MEASURES and item.value is not None and item.observed_at:
            series.setdefault(item.label, []).append((item.observed_at, item.value))
    for points in series.values():
        points.sort()
    return series


async def erase_expired_profiles(store: Store, *, retention: timedelta = RETENTION) -> int:
    """Erase the profiles of opposed spaces (at once) and of spaces closed longer than
    `retention`; audited per patient. Returns how many patients' profiles were erased."""

    async def job(uow: UnitOfWork) -> int:
        now = uow.now()
        rows = (await uow.session.execute(
            select(Patient.ins, Patient.state, Patient.state_changed_at)
            .where(Patient.state != PatientSpaceState.ACTIVE.value)
            .where(Patient.ins.in_(select(ProfileItemRow.patient_ins).distinct())))).all()
        erased = 0
        for ins, state, changed_at in rows:
            changed = changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=UTC)
            if state == PatientSpaceState.CLOSED.value and now - changed < retention:
                continue
            result = await uow.session.execute(delete(ProfileItemRow).where(
                ProfileItemRow.patient_ins == ins))
            erased += 1
            uow.audit(AuditAction.PROFILE_ERASED, "system:mss", target=f"profile:{ins}",
                      subject=ins, detail=f"state={state} items={result.rowcount}")  # type: ignore[attr-defined]
        return erased

    return await store.write(job)
