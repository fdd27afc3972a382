"""MSS policy T4 over real sockets: a message names as author only the one who sent it.

Submission with a password (aiosmtplib, smtplib) and with an application certificate
(AUTH EXTERNAL), and the MX of a peer operator (docs/sender-truth.md).
"""

from __future__ import annotations

import asyncio
import email
import smtplib
from email.utils import parseaddr

import aiosmtplib
import pytest
from sqlalchemy import select

from mss.directory.certificate_bindings import bind_certificate
from mss.policy import Cause
from mss.policy.refusals import refusal
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from mss.store.tables import StoredMessage
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, stored_messages
from tests.smtp.test_mx import peer_client
from tests.smtp.test_submission import logged_in


@pytest.fixture
async def op_a(operators, session_pki):
    return await operators("a", DOMAIN_A, session_pki.operator_a)


def written(headers: str, to: str, subject: str = "Compte rendu") -> bytes:
    return (f"{headers}To: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((headers, to, subject)))}@test>\r\n\r\nBonjour.\r\n"
            ).encode()


async def refusal_details(op) -> list[str]:  # type: ignore[no-untyped-def]
    async with op.store.reading() as session:
        events = await events_for_subject(session, "", limit=500)
    return [e.detail for e in events if e.action == AuditAction.MESSAGE_REFUSED]


async def send_as_bruno(op, raw: bytes, to: str) -> str:  # type: ignore[no-untyped-def]
    """Bruno logs in as himself, MAIL FROM his own address; the DATA reply."""
    world = op.world
    client = await logged_in(op, world.bruno, world.password)
    await client.mail(world.bruno)
    await client.rcpt(to)
    try:
        response = await client.data(raw)
        return f"{response.code} {response.message}"
    except aiosmtplib.SMTPDataError as refused:
        return f"{refused.code} {refused.message}"
    finally:
        await client.quit()


@pytest.mark.parametrize(("headers", "cause", "named"), [
    ("From: Dr Alice MARTIN <dr.alice.martin@{d}>\r\n", Cause.AUTHOR_NOT_ALLOWED, "alice"),
    ("From: Service de cardiologie <cardiologie@{d}>\r\n", Cause.AUTHOR_NOT_ALLOWED,
     "cardiologie"),
    ("From: Bruno PETIT <dr.bruno.petit@{d}>\r\nSender: dr.alice.martin@{d}\r\n",
     Cause.AUTHOR_NOT_ALLOWED, "alice"),
    ('From: "dr.alice.martin@{d}" <dr.bruno.petit@{d}>\r\n', Cause.AUTHOR_NOT_ALLOWED, "alice"),
    ("From: dr.bruno.petit@{d}\r\nFrom: dr.alice.martin@{d}\r\n", Cause.AUTHOR_UNREADABLE,
     ""),
])
async def test_a_professional_cannot_name_someone_else(op_a, headers: str, cause: Cause,
                                                       named: str) -> None:
    world = op_a.world
    reply = await send_as_bruno(op_a, written(headers.format(d=world.domain), world.jeanne),
                                world.jeanne)
    name = {"alice": world.alice, "cardiologie": world.cardiology}.get(named, "")
    assert reply == refusal(cause, name=name).smtp_reply()
    assert reply.startswith("550 5.7.1 ")
    assert await stored_messages(op_a, world.jeanne) == []
    async with op_a.store.reading() as session:
        events = await events_for_subject(session, world.jeanne_ins, limit=50)
    assert any(e.action == AuditAction.MESSAGE_REFUSED and f"rule=T4 cause={cause}" in e.detail
               for e in events)


async def test_own_from_passes_and_a_missing_from_is_added(op_a) -> None:
    world = op_a.world
    assert (await send_as_bruno(op_a, written("", world.alice, "Sans From"), world.alice)
            ).startswith("250 ")
    assert (await send_as_bruno(op_a, written(
        f"From: Dr Alice MARTIN <{world.bruno}>\r\n", world.alice, "Nom libre"), world.alice)
            ).startswith("250 ")
    first, second = (email.message_from_bytes(m) for m in await stored_messages(op_a, world.alice))
    assert first["From"] == f"Bruno PETIT <{world.bruno}>" and first["Sender"] is None
    assert f"(Authenticated sender: {world.bruno})" in " ".join(first["Received"].split())
    assert second["From"] == f"Dr Alice MARTIN <{world.bruno}>"
    async with op_a.store.reading() as session:
        authors = (await session.execute(select(StoredMessage.author,
                                                StoredMessage.author_principal))).all()
    assert set(authors) == {(world.bruno, world.bruno_principal.label())}


async def test_org_send_as_gets_the_members_sender_and_smtplib_sees_the_refusal(op_a) -> None:
    world = op_a.world

    def run() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", op_a.port("submission")) as client:
            client.starttls(context=op_a.client_context())
            client.login(world.alice, world.password)
            client.sendmail(world.cardiology, [world.bruno], written(
                f"From: Service de cardiologie <{world.cardiology}>\r\n", world.bruno))
            try:
                client.sendmail(world.cardiology, [world.bruno], written(
                    f"From: {world.cardiology}\r\nSender: {world.bruno}\r\n", world.bruno,
                    "Au nom de Bruno"))
            except smtplib.SMTPDataError as refused:
                return refused.smtp_code, refused.smtp_error
            return 250, b""

    refused = await asyncio.to_thread(run)
    assert refused == (550, refusal(Cause.AUTHOR_NOT_ALLOWED, name=world.bruno)
                       .smtp_reply()[4:].encode())
    [stored] = await stored_messages(op_a, world.bruno)
    parsed = email.message_from_bytes(stored)
    assert parseaddr(parsed["Sender"]) == ("Alice MARTIN", world.alice)
    assert parsed["From"] == f"Service de cardiologie <{world.cardiology}>"


async def test_an_application_certificate_cannot_write_as_a_professional(
        op_a, session_pki) -> None:
    world = op_a.world
    issued = session_pki.pki.issue_application("Laboratoire T4", "1000000019", "LABO")
    await bind_certificate(op_a.store, world.noreply, subject_dn=issued.subject_dn)
    client = await logged_in(op_a, "", "", certificate=issued)
    assert (await client.execute_command(b"AUTH", b"EXTERNAL", b"=")).code == 235
    await client.mail(world.noreply)
    await client.rcpt(world.bruno)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await client.data(written(f"From: Dr Alice MARTIN <{world.alice}>\r\n", world.bruno))
    assert f"{refused.value.code} {refused.value.message}" == refusal(
        Cause.AUTHOR_NOT_ALLOWED, name=world.alice).smtp_reply()
    await client.mail(world.noreply)
    await client.rcpt(world.bruno)
    assert (await client.data(written(f"From: Laboratoire <{world.noreply}>\r\n", world.bruno,
                                      "Résultats"))).code == 250
    await client.quit()
    [stored] = await stored_messages(op_a, world.bruno)
    assert email.message_from_bytes(stored)["From"] == f"Laboratoire <{world.noreply}>"
    assert any("rule=T4 cause=author_not_allowed" in d for d in await refusal_details(op_a))


async def test_a_peer_operator_cannot_hand_over_mail_of_another_domain(
        operators, session_pki) -> None:
    mx_b = await operators("b", DOMAIN_B, session_pki.operator_b)
    client = await peer_client(mx_b, session_pki.operator_a)
    await client.mail(f"dr.x@{DOMAIN_A}")
    await client.rcpt(mx_b.world.bruno)
    forged = f"dr.alice.martin@{DOMAIN_B}"
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await client.data(written(f"From: Dr Alice MARTIN <{forged}>\r\n", mx_b.world.bruno))
    assert f"{refused.value.code} {refused.value.message}" == refusal(
        Cause.PEER_AUTHOR_NOT_LISTED, name=forged).smtp_reply()
    await client.mail(f"dr.x@{DOMAIN_A}")
    await client.rcpt(mx_b.world.bruno)
    assert (await client.data(written(f"From: Dr X <dr.x@{DOMAIN_A}>\r\n", mx_b.world.bruno,
                                      "Vrai"))).code == 250
    await client.quit()
    [stored] = await stored_messages(mx_b, mx_b.world.bruno)
    assert b"Subject: Vrai" in stored
    assert any("rule=T4 cause=peer_author_not_listed" in d
               for d in await refusal_details(mx_b))
