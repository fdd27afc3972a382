"""Mailbox kinds and owners, ORG members, patients, dispensations, certificates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mss.directory.certificate_bindings import bind_certificate, principal_for_certificate
from mss.directory.errors import DirectoryError, MailboxKindRule, UnknownProfessional
from mss.directory.identifiers import InvalidIdentifier
from mss.directory.mailbox_accounts import (
    create_app_mailbox,
    create_org_mailbox,
    create_patient_mailbox,
    create_per_mailbox,
    disable_mailbox,
    list_mailboxes,
    responsible_mailbox_of,
    show_mailbox,
)
from mss.directory.org_members import parse_rights, remove_org_member, set_org_member
from mss.directory.patients import find_patient, set_patient_state
from mss.directory.pharmacies import NotAPharmacy, has_recent_dispensation, record_dispensation
from mss.directory.send_rights import may_send_as
from mss.distinguished_names import dn_lookup_key
from mss.identity import MailboxKind, OrgRight, PatientSpaceState, Principal, PrincipalKind
from mss.store.audit_actions import AuditAction
from mss.store.tables import AuditEvent

from .conftest import INS_PATIENT, RPPS_ALICE, RPPS_BOB, identity

APP_DN = "CN=lab-app.chu.fr,OU=123456789,O=CHU Exemple,C=FR"


async def actions(store) -> list[str]:
    async with store.reading() as session:
        return list((await session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)))
                    .scalars())


async def test_per_mailbox_is_owned_by_its_professional(store) -> None:
    info = await create_per_mailbox(
        store, address="Alice.Martin@mss.localhost",
        professional=identity(RPPS_ALICE, "Martin", "Alice"),
    )
    assert info.address == "alice.martin@mss.localhost"
    assert info.kind is MailboxKind.PER
    details = await show_mailbox(store, "alice.martin@mss.localhost")
    assert details is not None
    assert details.owner == f"professional {RPPS_ALICE} (Alice Martin)"
    assert AuditAction.MAILBOX_CREATED.value in await actions(store)


async def test_per_mailbox_refuses_a_bad_rpps_and_a_bad_address(store) -> None:
    with pytest.raises(InvalidIdentifier):
        await create_per_mailbox(store, address="x@mss.localhost",
                                 professional=identity("10000000008", "X"))
    with pytest.raises(InvalidIdentifier):
        await create_per_mailbox(store, address="not an address",
                                 professional=identity(RPPS_ALICE, "X"))
    assert await list_mailboxes(store) == []


async def test_address_and_kind_cannot_be_taken_again(store) -> None:
    await create_per_mailbox(store, address="a@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin"))
    with pytest.raises(DirectoryError, match="already exists"):
        await create_org_mailbox(store, address="A@mss.localhost", display_name="Service")
    [only] = await list_mailboxes(store)
    assert only.kind is MailboxKind.PER


async def test_org_members_rights_and_send_as(store) -> None:
    await create_per_mailbox(store, address="alice@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin", "Alice"))
    await create_per_mailbox(store, address="bob@mss.localhost",
                             professional=identity(RPPS_BOB, "Durand", "Bob"))
    await create_org_mailbox(store, address="cardio@mss.localhost", display_name="Cardiologie")
    await set_org_member(store, "cardio@mss.localhost", "alice@mss.localhost",
                         parse_rights("read,send_as"))
    await set_org_member(store, "cardio@mss.localhost", RPPS_BOB, parse_rights("read"))
    details = await show_mailbox(store, "cardio@mss.localhost")
    assert details is not None
    assert {(m.ident, m.rights) for m in details.members} == {
        (RPPS_ALICE, frozenset({OrgRight.READ, OrgRight.SEND_AS})),
        (RPPS_BOB, frozenset({OrgRight.READ})),
    }
    alice = Principal(PrincipalKind.PROFESSIONAL, RPPS_ALICE)
    bob = Principal(PrincipalKind.PROFESSIONAL, RPPS_BOB)
    assert await may_send_as(store, alice, "cardio@mss.localhost")
    assert not await may_send_as(store, bob, "cardio@mss.localhost")
    assert await may_send_as(store, alice, "alice@mss.localhost")
    assert not await may_send_as(store, alice, "bob@mss.localhost")
    assert await remove_org_member(store, "cardio@mss.localhost", RPPS_ALICE)
    assert not await may_send_as(store, alice, "cardio@mss.localhost")
    assert not await remove_org_member(store, "cardio@mss.localhost", RPPS_ALICE)
    recorded = await actions(store)
    assert recorded.count(AuditAction.MEMBER_ADDED.value) == 2
    assert recorded.count(AuditAction.MEMBER_REMOVED.value) == 1


async def test_members_only_on_org_and_only_known_professionals(store) -> None:
    await create_per_mailbox(store, address="alice@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin"))
    with pytest.raises(MailboxKindRule):
        await set_org_member(store, "alice@mss.localhost", RPPS_ALICE, frozenset())
    await create_org_mailbox(store, address="org@mss.localhost", display_name="Org")
    with pytest.raises(UnknownProfessional):
        await set_org_member(store, "org@mss.localhost", RPPS_BOB, frozenset())
    with pytest.raises(MailboxKindRule):
        parse_rights("read,fly")


async def test_app_mailbox_with_certificate_and_responsible(store) -> None:
    await create_org_mailbox(store, address="labo@mss.localhost", display_name="Labo")
    await create_app_mailbox(
        store, address="noreply@mss.localhost", application_name="Résultats labo",
        owner_structure="CHU Exemple", certificate_dn="cn=lab-app.chu.fr, OU=123456789,"
        " O=CHU Exemple, C=FR", responsible_address="labo@mss.localhost",
    )
    assert await responsible_mailbox_of(store, "noreply@mss.localhost") == "labo@mss.localhost"
    app = await principal_for_certificate(store, subject_dn=APP_DN)
    assert app is not None
    assert app.kind is PrincipalKind.APPLICATION
    assert app.ident == dn_lookup_key(APP_DN)  # the one stored form of a DN
    assert await may_send_as(store, app, "noreply@mss.localhost")
    assert not await may_send_as(store, app, "labo@mss.localhost")
    other = Principal(PrincipalKind.APPLICATION, "CN=other,O=X,C=FR")
    assert not await may_send_as(store, other, "noreply@mss.localhost")


async def test_certificate_binding_by_fingerprint(store) -> None:
    await create_per_mailbox(store, address="alice@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin", "Alice"))
    fingerprint = "AB:" * 31 + "CD"
    await bind_certificate(store, "alice@mss.localhost", fingerprint_sha256=fingerprint)
    found = await principal_for_certificate(store, fingerprint_sha256="ab" * 31 + "cd")
    assert found == Principal(PrincipalKind.PROFESSIONAL, RPPS_ALICE, "Alice Martin",
                              "alice@mss.localhost")
    assert await principal_for_certificate(store, fingerprint_sha256="00" * 32) is None
    assert AuditAction.CERT_ISSUED.value in await actions(store)


async def test_patient_mailbox_from_ins_and_state_changes(store) -> None:
    info = await create_patient_mailbox(
        store, ins=INS_PATIENT, first_name="Marie", last_name="Curie",
        birth_date=date(1979, 3, 5), notice_email="marie@example.org",
    )
    assert info.address == f"{INS_PATIENT}@patient.mss.localhost"
    assert info.kind is MailboxKind.PAT
    previous = await set_patient_state(store, INS_PATIENT, PatientSpaceState.OPPOSED)
    assert previous is PatientSpaceState.ACTIVE
    patient = await find_patient(store, INS_PATIENT)
    assert patient is not None and patient.state is PatientSpaceState.OPPOSED
    async with store.reading() as session:
        trail = (await session.execute(
            select(AuditEvent.detail).where(AuditEvent.subject == INS_PATIENT,
                                            AuditEvent.action == "patient.state_changed")
            .order_by(AuditEvent.seq)
        )).scalars().all()
    assert trail == ["created active", "active->opposed"]


async def test_patient_with_wrong_ins_key_is_refused(store) -> None:
    with pytest.raises(InvalidIdentifier):
        await create_patient_mailbox(
            store, ins="279035121518988", first_name="M", last_name="C",
            birth_date=date(1979, 3, 5), notice_email="m@example.org",
        )
    assert await list_mailboxes(store) == []


async def test_disabled_mailbox_sends_for_nobody(store) -> None:
    await create_per_mailbox(store, address="alice@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin"))
    assert await disable_mailbox(store, "alice@mss.localhost")
    assert not await disable_mailbox(store, "alice@mss.localhost")
    alice = Principal(PrincipalKind.PROFESSIONAL, RPPS_ALICE)
    assert not await may_send_as(store, alice, "alice@mss.localhost")
    assert AuditAction.MAILBOX_DISABLED.value in await actions(store)


async def test_dispensations_within_a_year_only_for_a_pharmacy(store) -> None:
    await create_org_mailbox(store, address="pharma@mss.localhost", display_name="Pharmacie")
    with pytest.raises(NotAPharmacy, match="no member is a pharmacist"):
        await record_dispensation(store, "pharma@mss.localhost", INS_PATIENT, date(2025, 6, 1))
    pharmacist = identity(RPPS_BOB, "Durand", profession="21")
    await create_per_mailbox(store, address="bob@mss.localhost", professional=pharmacist)
    await set_org_member(store, "pharma@mss.localhost", RPPS_BOB, frozenset())
    assert await record_dispensation(store, "pharma@mss.localhost", INS_PATIENT,
                                     date(2025, 6, 1))
    assert not await record_dispensation(store, "pharma@mss.localhost", INS_PATIENT,
                                         date(2025, 6, 1))
    assert await has_recent_dispensation(store, "pharma@mss.localhost", INS_PATIENT,
                                         today=date(2026, 5, 31))
    assert not await has_recent_dispensation(store, "pharma@mss.localhost", INS_PATIENT,
                                             today=date(2026, 6, 2))
    assert not await has_recent_dispensation(store, "other@mss.localhost", INS_PATIENT,
                                             today=date(2025, 7, 1))
    with pytest.raises(InvalidIdentifier):
        await record_dispensation(store, "pharma@mss.localhost", "279035121518988",
                                  date(2025, 6, 1))
