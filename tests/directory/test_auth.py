"""Password authentication: success, uniform failure, rate limits, ORG authzid, rehash."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select

from mss.demo import seed_world
from mss.directory.authentication import RateLimits, authenticate, failure_counts
from mss.directory.errors import DirectoryError, MailboxKindRule
from mss.directory.mailbox_accounts import (
    create_org_mailbox,
    create_patient_mailbox,
    create_per_mailbox,
    disable_mailbox,
)
from mss.directory.org_members import parse_rights, set_org_member
from mss.directory.passwords import set_password
from mss.directory.patients import set_patient_state
from mss.directory.send_rights import may_send_as
from mss.directory.tables import PasswordCredential
from mss.identity import PatientSpaceState, Principal, PrincipalKind
from mss.store.tables import AuditEvent

from .conftest import INS_PATIENT, RPPS_ALICE, RPPS_BOB, identity

PASSWORD = "correct horse battery"
CLIENT = "192.0.2.10"


@pytest.fixture
async def alice(store, hasher) -> str:
    await create_per_mailbox(store, address="alice@mss.localhost",
                             professional=identity(RPPS_ALICE, "Martin", "Alice"))
    await set_password(store, "alice@mss.localhost", PASSWORD, hasher=hasher)
    return "alice@mss.localhost"


async def test_right_password_gives_the_owner(store, hasher, alice) -> None:
    found = await authenticate(store, "Alice@MSS.localhost", PASSWORD, CLIENT, hasher=hasher)
    assert found == Principal(PrincipalKind.PROFESSIONAL, RPPS_ALICE, "Alice Martin", alice)
    async with store.reading() as session:
        last = (await session.execute(
            select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
        )).scalar_one()
    assert (last.action, last.principal) == ("auth.succeeded", f"professional:{RPPS_ALICE}")


async def test_wrong_password_and_unknown_login_fail_alike(store, hasher, alice) -> None:
    assert await authenticate(store, alice, "wrong password!!", CLIENT, hasher=hasher) is None
    assert await authenticate(store, "nobody@mss.localhost", PASSWORD, CLIENT,
                              hasher=hasher) is None
    async with store.reading() as session:
        rows = (await session.execute(
            select(AuditEvent.action, AuditEvent.outcome, AuditEvent.principal)
            .where(AuditEvent.action.like("auth.%")).order_by(AuditEvent.seq)
        )).all()
    assert [tuple(r) for r in rows] == [("auth.failed", "refused", "anonymous")] * 2
    assert await failure_counts(store, alice, CLIENT) == (1, 2)
    assert await failure_counts(store, "nobody@mss.localhost", CLIENT) == (1, 2)


async def test_failures_from_one_address_never_lock_the_account_elsewhere(
    store, hasher, alice, clock, failure_pauses
) -> None:
    """An attacker who knows the address locks only himself out (issue: five failures
    used to lock the account for everybody)."""
    attacker = "203.0.113.66"
    limits = RateLimits()
    for n in range(limits.per_pair):
        assert await authenticate(store, alice, f"wrong {n} password", attacker,
                                  hasher=hasher) is None
    # growing delays, one per failure of the pair
    assert failure_pauses == [2.0, 4.0, 8.0, 16.0, 16.0]
    # the right password from the user's own address works at once
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=hasher) is not None
    assert failure_pauses[-1] == 16.0 and len(failure_pauses) == 5  # no delay on success
    # from the attacker's address even the right password is refused, after the same
    # delay a wrong one gets: the reply time does not tell locked from open
    assert await authenticate(store, alice, PASSWORD, attacker, hasher=hasher) is None
    assert failure_pauses[-1] == limits.delay(limits.per_pair + 1) == 16.0
    async with store.reading() as session:
        limited = (await session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "auth.rate_limited")
        )).scalars().all()
        failed = (await session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "auth.failed")
        )).scalars().all()
    assert limited == [f"client={attacker} scope=pair delay=16"]
    assert [d.split()[1] for d in failed] == ["delay=2", "delay=4", "delay=8", "delay=16",
                                             "delay=16"]
    clock.advance(limits.window + timedelta(seconds=1))
    assert await authenticate(store, alice, PASSWORD, attacker, hasher=hasher) is not None


async def test_client_address_locked_after_twenty_failures(store, hasher, alice, clock) -> None:
    limits = RateLimits()
    for n in range(limits.per_client):
        await authenticate(store, f"user{n}@mss.localhost", "whatever password", CLIENT,
                           hasher=hasher)
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=hasher) is None
    assert await authenticate(store, alice, PASSWORD, "192.0.2.99", hasher=hasher) is not None
    async with store.reading() as session:
        limited = (await session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "auth.rate_limited")
        )).scalars().all()
    assert limited == [f"client={CLIENT} scope=client delay=2"]
    clock.advance(limits.window)
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=hasher) is not None


async def test_success_resets_the_account_count(store, hasher, alice) -> None:
    for _ in range(4):
        await authenticate(store, alice, "wrong password..", CLIENT, hasher=hasher)
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=hasher) is not None
    assert (await failure_counts(store, alice, CLIENT))[0] == 0
    assert await authenticate(store, alice, "wrong password..", CLIENT, hasher=hasher) is None
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=hasher) is not None


async def test_org_authorisation_identity_needs_the_read_right(store, hasher, alice) -> None:
    await create_per_mailbox(store, address="bob@mss.localhost",
                             professional=identity(RPPS_BOB, "Durand", "Bob"))
    await set_password(store, "bob@mss.localhost", PASSWORD, hasher=hasher)
    await create_org_mailbox(store, address="cardio@mss.localhost", display_name="Cardio")
    await set_org_member(store, "cardio@mss.localhost", RPPS_ALICE, parse_rights("read"))
    await set_org_member(store, "cardio@mss.localhost", RPPS_BOB, parse_rights("send_as"))

    acting = await authenticate(store, alice, PASSWORD, CLIENT, authzid="cardio@mss.localhost",
                                hasher=hasher)
    assert acting == Principal(PrincipalKind.PROFESSIONAL, RPPS_ALICE, "Alice Martin",
                               "cardio@mss.localhost")
    # read without send_as: may read the ORG mailbox, may not send as it
    assert not await may_send_as(store, acting, "cardio@mss.localhost")
    # bob holds send_as but not read: he cannot log in to the ORG mailbox
    assert await authenticate(store, "bob@mss.localhost", PASSWORD, CLIENT,
                              authzid="cardio@mss.localhost", hasher=hasher) is None
    # nobody may name another person's mailbox
    assert await authenticate(store, alice, PASSWORD, CLIENT, authzid="bob@mss.localhost",
                              hasher=hasher) is None


async def test_org_mailbox_has_no_password(store, hasher) -> None:
    await create_org_mailbox(store, address="org@mss.localhost", display_name="Org")
    with pytest.raises(MailboxKindRule):
        await set_password(store, "org@mss.localhost", PASSWORD, hasher=hasher)
    with pytest.raises(DirectoryError):
        await set_password(store, "org@mss.localhost", "short", hasher=hasher)


async def test_disabled_mailbox_and_closed_patient_cannot_log_in(store, hasher, alice) -> None:
    await create_patient_mailbox(store, ins=INS_PATIENT, first_name="Marie", last_name="Curie",
                                 birth_date=date(1979, 3, 5), notice_email="m@example.org")
    patient_login = f"{INS_PATIENT}@patient.mss.localhost"
    await set_password(store, patient_login, PASSWORD, hasher=hasher)
    found = await authenticate(store, patient_login, PASSWORD, CLIENT, hasher=hasher)
    assert found is not None and found.kind is PrincipalKind.PATIENT
    assert found.ident == INS_PATIENT
    await set_patient_state(store, INS_PATIENT, PatientSpaceState.CLOSED)
    assert await authenticate(store, patient_login, PASSWORD, CLIENT, hasher=hasher) is None
    await disable_mailbox(store, alice)
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=hasher) is None


async def test_hash_is_renewed_when_parameters_change(store, hasher, alice) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1, type=Type.ID)
    async with store.reading() as session:
        before = (await session.get(PasswordCredential, alice)).password_hash
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=stronger) is not None
    async with store.reading() as session:
        after = (await session.get(PasswordCredential, alice)).password_hash
    assert before.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert after.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert await authenticate(store, alice, PASSWORD, CLIENT, hasher=stronger) is not None


async def test_patient_who_opposed_can_sign_in_to_reactivate_but_closed_cannot(store) -> None:
    world = await seed_world(store)
    await set_patient_state(store, world.jeanne_ins, PatientSpaceState.OPPOSED)
    principal = await authenticate(store, world.jeanne, world.password, "192.0.2.7")
    assert principal is not None and principal.ident == world.jeanne_ins
    await set_patient_state(store, world.jeanne_ins, PatientSpaceState.CLOSED)
    assert await authenticate(store, world.jeanne, world.password, "192.0.2.7") is None
