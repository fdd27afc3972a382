"""Submission on 587 (STARTTLS) and 465 (implicit TLS) with smtplib and aiosmtplib."""

from __future__ import annotations

import asyncio
import base64
import smtplib

import aiosmtplib
import pytest

from mss.directory.certificate_bindings import bind_certificate
from mss.pipeline.outbound_queue import queue_rows
from mss.policy import Cause
from mss.policy.refusals import refusal
from tests.smtp.conftest import DOMAIN_A, message, stored_messages, submit


@pytest.fixture
async def op_a(operators, session_pki):
    return await operators("a", DOMAIN_A, session_pki.operator_a)


def reply(error: aiosmtplib.SMTPResponseException) -> str:
    return f"{error.code} {error.message}"


async def logged_in(op, login: str, password: str, *, port: str = "submission",
                    authzid: str = "", certificate=None) -> aiosmtplib.SMTP:  # type: ignore[no-untyped-def]
    implicit = port == "submissions"
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=op.port(port), use_tls=implicit,
                             start_tls=False,
                             tls_context=op.client_context(certificate=certificate))
    await client.connect()
    if not implicit:
        await client.starttls()
    await client.ehlo()
    if login:
        token = base64.b64encode(f"{authzid}\0{login}\0{password}".encode()).decode()
        response = await client.execute_command(b"AUTH", b"PLAIN", token.encode())
        assert (response.code, response.message) == (235, "2.7.0 Authentication successful")
    return client


async def test_auth_before_tls_and_wrong_password_are_refused(op_a) -> None:
    world = op_a.world

    def run() -> tuple[tuple[int, bytes], tuple[int, bytes], bool]:
        with smtplib.SMTP("127.0.0.1", op_a.port("submission")) as client:
            client.ehlo("client.example")
            auth_offered = client.has_extn("auth")
            before_tls = client.docmd("AUTH", "PLAIN " + base64.b64encode(
                f"\0{world.alice}\0{world.password}".encode()).decode())
            mail = client.mail(world.alice)
            return before_tls, mail, auth_offered

    before_tls, mail, auth_offered = await asyncio.to_thread(run)
    assert not auth_offered
    assert before_tls == (538, b"5.7.11 Encryption required for requested authentication "
                               b"mechanism")
    assert mail == (530, b"5.7.0 Must issue a STARTTLS command first")

    client = await logged_in(op_a, "", "")
    # no client certificate: EXTERNAL is not offered (clients pick it when listed)
    assert client.esmtp_extensions["auth"] == "LOGIN PLAIN"
    assert {"dsn", "pipelining", "enhancedstatuscodes", "size", "8bitmime", "smtputf8"} <= set(
        client.esmtp_extensions)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as no_auth:
        await client.mail(world.alice)
    assert reply(no_auth.value) == "530 5.7.0 Authentication required"
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as wrong:
        await client.auth_plain(world.alice, "not the password at all")
    assert reply(wrong.value) == "535 5.7.8 Authentication credentials invalid"
    await client.quit()


async def test_spoofed_mail_from_is_refused_and_org_send_as_needs_the_right(op_a) -> None:
    world = op_a.world
    client = await logged_in(op_a, world.alice, world.password)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as spoofed:
        await client.mail(world.bruno)
    assert reply(spoofed.value) == refusal(Cause.SENDER_NOT_ALLOWED).smtp_reply()
    assert (await client.mail(world.cardiology)).code == 250  # alice holds send-as
    await client.quit()

    bruno = await logged_in(op_a, world.bruno, world.password, authzid=world.cardiology)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as read_only:
        await bruno.mail(world.cardiology)
    assert reply(read_only.value) == refusal(Cause.SENDER_NOT_ALLOWED).smtp_reply()
    await bruno.quit()


async def test_patient_rules_through_smtp(op_a) -> None:
    world = op_a.world
    jeanne = await logged_in(op_a, world.jeanne, world.password)
    await jeanne.mail(world.jeanne)
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as p2:
        await jeanne.rcpt(world.alice)
    assert reply(p2.value) == refusal(Cause.NO_CONVERSATION).smtp_reply()
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as p1:
        await jeanne.rcpt(world.paul)
    assert reply(p1.value) == refusal(Cause.PATIENT_TO_PATIENT).smtp_reply()
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as unknown:
        await jeanne.rcpt(f"nobody@{DOMAIN_A}")
    assert reply(unknown.value) == refusal(Cause.UNKNOWN_MAILBOX).smtp_reply()
    await jeanne.rset()

    code, _ = await submit(op_a, world.alice, world.password, world.alice, [world.jeanne],
                           message(world.alice, world.jeanne, "Vos résultats".encode(
                               "ascii", "replace").decode()))
    assert code == 250  # the professional opens the conversation
    await jeanne.mail(world.jeanne)
    assert (await jeanne.rcpt(world.alice)).code == 250
    assert (await jeanne.data(message(world.jeanne, world.alice, "Merci"))).code == 250
    await jeanne.quit()
    subjects = [m.split(b"Subject: ")[1].split(b"\r\n")[0] for m in
                await stored_messages(op_a, world.alice)]
    assert subjects == [b"Merci"]


async def test_implicit_tls_login_and_external_with_an_application_certificate(
    op_a, session_pki
) -> None:
    world = op_a.world
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=op_a.port("submissions"),
                             use_tls=True, tls_context=op_a.client_context())
    await client.connect()
    await client.ehlo()
    await client.auth_login(world.bruno, world.password)
    assert (await client.mail(world.bruno)).code == 250
    await client.quit()

    issued = session_pki.pki.issue_application("Laboratoire test", "1000000009", "LABO")
    await bind_certificate(op_a.store, world.noreply, subject_dn=issued.subject_dn)
    app = await logged_in(op_a, "", "", certificate=issued)
    assert app.esmtp_extensions["auth"] == "EXTERNAL LOGIN PLAIN"
    response = await app.execute_command(b"AUTH", b"EXTERNAL", b"=")
    assert (response.code, response.message) == (235, "2.7.0 Authentication successful")
    assert (await app.mail(world.noreply)).code == 250
    with pytest.raises(aiosmtplib.SMTPSenderRefused):
        await app.mail(world.alice)  # nested MAIL is refused by the protocol
    await app.quit()

    stranger = await logged_in(op_a, "", "", certificate=session_pki.operator_b)
    refused = await stranger.execute_command(b"AUTH", b"EXTERNAL", b"=")
    assert (refused.code, refused.message) == (535, "5.7.8 Authentication credentials invalid")
    await stranger.quit()


async def test_dsn_parameters_travel_with_the_queue_and_success_is_reported(pair) -> None:
    a, b = pair
    world = a.world
    client = await logged_in(a, world.alice, world.password)
    await client.mail(world.alice, options=["RET=HDRS", "ENVID=env+2B1"])
    await client.rcpt(b.world.bruno, options=["NOTIFY=SUCCESS,FAILURE",
                                              f"ORCPT=rfc822;{b.world.bruno}"])
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as bad:
        await client.rcpt(b.world.alice, options=["NOTIFY=SOMETIMES"])
    assert reply(bad.value) == "501 5.5.4 NOTIFY must be NEVER or SUCCESS, FAILURE, DELAY"
    assert (await client.data(message(world.alice, b.world.bruno, "Avec DSN"))).code == 250
    await client.quit()
    [row] = await queue_rows(a.store)
    assert (row.notify, row.orcpt) == ("SUCCESS,FAILURE", f"rfc822;{b.world.bruno}")
    assert await a.worker.run_once() == 1
    [dsn] = await stored_messages(a, world.alice)
    assert b"report-type=delivery-status" in dsn
    assert b"Action: relayed" in dsn and b"Original-Envelope-Id: env+2B1" in dsn
    assert f"Final-Recipient: rfc822; {b.world.bruno}".encode() in dsn


async def test_partial_refusal_at_data_gets_250_and_a_dsn(operators, session_pki) -> None:
    op = await operators("a", DOMAIN_A, session_pki.operator_a, max_patient_message_bytes=600)
    world = op.world
    big = message(world.alice, world.jeanne, "Compte rendu", body="z" * 700)
    code, _ = await submit(op, world.alice, world.password, world.alice,
                           [world.bruno, world.jeanne], big)
    assert code == 250
    assert len(await stored_messages(op, world.bruno)) == 1
    [dsn] = await stored_messages(op, world.alice)
    assert b"Action: failed" in dsn and b"Status: 5.3.4" in dsn
    assert f"Final-Recipient: rfc822; {world.jeanne}".encode() in dsn

    code_none, text = await submit_refused(op, world.alice, world.password, [world.jeanne], big)
    assert f"{code_none} {text}" == refusal(
        Cause.TOO_LARGE_FOR_PATIENT, limit=600).smtp_reply()


async def submit_refused(op, login: str, password: str, recipients: list[str],
                         raw: bytes) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    client = await logged_in(op, login, password)
    await client.mail(login)
    for rcpt in recipients:
        await client.rcpt(rcpt)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await client.data(raw)
    await client.quit()
    return refused.value.code, refused.value.message
