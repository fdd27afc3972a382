"""The MX of operator B, driven by real clients presenting the PKI's certificates."""

from __future__ import annotations

import asyncio
import smtplib
import ssl

import aiosmtplib
import pytest

from mss.policy import Cause
from mss.policy.refusals import refusal
from mss.smtp.options import SmtpOptions
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from tests.smtp.conftest import (
    DOMAIN_A,
    DOMAIN_B,
    RawSmtp,
    message,
    sessions_finished,
    stored_messages,
)


@pytest.fixture
async def mx_b(operators, session_pki):
    return await operators("b", DOMAIN_B, session_pki.operator_b)


async def peer_client(mx, certificate) -> aiosmtplib.SMTP:  # type: ignore[no-untyped-def]
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mx.port("mx"), start_tls=False,
                             tls_context=mx.client_context(certificate=certificate))
    await client.connect()
    await client.starttls()
    return client


async def audit_actions(operator) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with operator.store.reading() as session:
        events = await events_for_subject(session, "", limit=500)
    return [(e.action, e.detail) for e in events]


async def test_mail_before_starttls_is_refused(mx_b) -> None:
    def run() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", mx_b.port("mx")) as client:
            client.ehlo("mx.mss-a.localhost")
            assert client.has_extn("starttls")
            return client.mail(f"x@{DOMAIN_A}")

    assert await asyncio.to_thread(run) == (530, b"5.7.0 Must issue a STARTTLS command first")


async def test_peer_without_certificate_is_told_to_retry_at_mail(mx_b) -> None:
    """Temporary, as Postfix answers: a legitimate peer that forgot its certificate
    queues the patients' mail instead of bouncing it; the connection is closed."""
    client = await peer_client(mx_b, None)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail(f"x@{DOMAIN_A}")
    expected = refusal(Cause.PEER_WITHOUT_CERTIFICATE).smtp_reply()
    assert f"{refused.value.code} {refused.value.message}" == expected
    assert expected.startswith("421 4.7.1 ") and "No client certificate presented" in expected
    assert not client.is_connected
    assert any(a == AuditAction.PEER_REFUSED and "rule=T1" in d
               for a, d in await audit_actions(mx_b))


async def test_smtplib_without_certificate_hears_421_and_the_connection_closes(mx_b) -> None:
    """The stdlib client: `421` on MAIL, then nothing more is read from the server."""
    def run() -> tuple[int, bytes, bool]:
        with smtplib.SMTP("127.0.0.1", mx_b.port("mx"), timeout=30) as client:
            client.starttls(context=mx_b.client_context())
            client.ehlo("mx.mss-a.localhost")
            code, text = client.mail(f"x@{DOMAIN_A}")
            try:
                client.noop()
            except smtplib.SMTPServerDisconnected:
                return code, text, True
            return code, text, False

    code, text, closed = await asyncio.to_thread(run)
    assert (code, closed) == (421, True)
    assert text.startswith(b"4.7.1 ") and b"No client certificate presented" in text


async def test_peer_with_foreign_ca_certificate_is_cut_at_handshake(
    mx_b, session_pki, lines
) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mx_b.port("mx"), start_tls=False,
                             tls_context=mx_b.client_context(
                                 certificate=session_pki.foreign_operator))
    await client.connect()
    with pytest.raises((aiosmtplib.SMTPException, ssl.SSLError, ConnectionError)):
        await client.starttls()
        await client.mail(f"x@{DOMAIN_A}")
    client.close()
    await sessions_finished(mx_b, "mx")
    assert (AuditAction.PEER_REFUSED, "handshake refused: unknown_ca client=127.0.0.1"
            ) in await audit_actions(mx_b)
    failed, = (e for e in lines.events("tls.failed") if e["listener"] == "mx")
    assert (failed["client"], failed["reason"]) == ("127.0.0.1", "unknown_ca")
    assert mx_b.app.metrics.tls_peer_refusals.labels("mx", "unknown_ca")._value.get() == 1


async def test_peer_dn_not_listed_for_the_sender_domain(mx_b, session_pki) -> None:
    client = await peer_client(mx_b, session_pki.operator_a)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail(f"x@{DOMAIN_B}")  # A's certificate, B's domain
    assert f"{refused.value.code} {refused.value.message}" == refusal(
        Cause.PEER_NOT_LISTED).smtp_reply()
    await client.quit()


async def test_recipients_are_judged_at_rcpt(mx_b, session_pki) -> None:
    client = await peer_client(mx_b, session_pki.operator_a)
    assert (await client.mail(f"x@{DOMAIN_A}")).code == 250
    for rcpt, cause in ((f"nobody@{DOMAIN_B}", Cause.UNKNOWN_MAILBOX),
                        (f"someone@{DOMAIN_A}", Cause.RELAY_DENIED),
                        (mx_b.world.noreply, Cause.APPLICATION_MAILBOX)):
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt(rcpt)
        assert f"{refused.value.code} {refused.value.message}" == refusal(cause).smtp_reply()
    assert (await client.rcpt(mx_b.world.bruno)).message == "2.1.5 Recipient OK"
    await client.quit()


async def test_ehlo_keywords(mx_b, session_pki) -> None:
    client = await peer_client(mx_b, session_pki.operator_a)
    await client.ehlo()
    keywords = set(client.esmtp_extensions)
    assert {"size", "8bitmime", "smtputf8", "pipelining", "enhancedstatuscodes"} <= keywords
    assert "dsn" not in keywords and "auth" not in keywords and "starttls" not in keywords
    assert client.esmtp_extensions["size"] == str(mx_b.settings.limits.max_message_bytes)
    await client.quit()


@pytest.mark.parametrize(("smuggled", "expected"), [
    (b"Subject: a\r\n\r\nhello\n.\nMAIL FROM:<evil@mss-a.localhost>\r\n", "LF"),
    (b"Subject: a\r\n\r\nhello\r.\rMAIL FROM:<evil@mss-a.localhost>\r\n", "CR"),
    (b"Subject: a\r\n\r\nhello\r\n.\nMAIL FROM:<evil@mss-a.localhost>\r\n", "LF"),
    (b"Subject: a\r\n\r\nbare\nline feed\r\n", "LF"),
])
async def test_smtp_smuggling_is_refused_on_the_real_listener(
    mx_b, session_pki, smuggled: bytes, expected: str
) -> None:
    raw = await RawSmtp.open(mx_b.port("mx"))
    await raw.command(b"EHLO mx.mss-a.localhost\r\n")
    await raw.starttls(mx_b.client_context(certificate=session_pki.operator_a))
    await raw.command(b"EHLO mx.mss-a.localhost\r\n")
    assert (await raw.command(f"MAIL FROM:<x@{DOMAIN_A}>\r\n".encode()))[:3] == "250"
    assert (await raw.command(f"RCPT TO:<{mx_b.world.bruno}>\r\n".encode()))[:3] == "250"
    assert (await raw.command(b"DATA\r\n"))[:3] == "354"
    reply = await raw.command(smuggled + b".\r\n")
    assert reply == f"550 5.5.2 Error: bare <{expected}> received"
    # The smuggled "MAIL FROM" was inside the refused data, never a command.
    assert (await raw.command(b"RSET\r\n")).startswith("250")
    await raw.command(b"QUIT\r\n")
    await raw.close()
    assert await stored_messages(mx_b, mx_b.world.bruno) == []


async def test_declared_size_over_the_limit_is_refused_before_data(operators, session_pki
                                                                   ) -> None:
    mx = await operators("b", DOMAIN_B, session_pki.operator_b,
                         options=SmtpOptions(max_message_bytes=4000))
    client = await peer_client(mx, session_pki.operator_a)
    await client.ehlo()
    assert client.esmtp_extensions["size"] == "4000"
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail(f"x@{DOMAIN_A}", options=["SIZE=4001"])
    assert (refused.value.code, refused.value.message) == (552, "5.3.4 Message too big for system")
    # Without SIZE, aiosmtpd reads and drops the data past the limit: nothing is stored.
    await client.mail(f"x@{DOMAIN_A}")
    await client.rcpt(mx.world.bruno)
    with pytest.raises(aiosmtplib.SMTPDataError) as too_much:
        await client.data(message(f"x@{DOMAIN_A}", mx.world.bruno, body=("y" * 70 + "\r\n") * 80))
    assert too_much.value.code == 552
    await client.quit()
    assert await stored_messages(mx, mx.world.bruno) == []


async def test_too_many_recipients(operators, session_pki) -> None:
    mx = await operators("b", DOMAIN_B, session_pki.operator_b,
                         options=SmtpOptions(max_recipients=1))
    client = await peer_client(mx, session_pki.operator_a)
    await client.mail(f"x@{DOMAIN_A}")
    await client.rcpt(mx.world.bruno)
    with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
        await client.rcpt(mx.world.alice)
    assert (refused.value.code, refused.value.message) == (452, "4.5.3 Too many recipients")
    await client.quit()


async def test_connections_per_address_and_bad_commands(operators, session_pki) -> None:
    mx = await operators("b", DOMAIN_B, session_pki.operator_b,
                         options=SmtpOptions(connections_per_address=2))
    first, second = await RawSmtp.open(mx.port("mx")), await RawSmtp.open(mx.port("mx"))
    reader, writer = await asyncio.open_connection("127.0.0.1", mx.port("mx"))
    assert (await reader.read()) == (
        b"421 4.7.0 Too many connections from your address, try again later\r\n")
    writer.close()
    for _ in range(4):
        assert (await first.command(b"BOGUS\r\n")).startswith("500")
    assert await first.command(b"BOGUS\r\n") == (
        "502 5.5.1 Too many unrecognized commands, goodbye.")
    await first.close()
    await second.command(b"QUIT\r\n")
    await second.close()
    await sessions_finished(mx, "mx")
    third = await RawSmtp.open(mx.port("mx"))  # slots were released
    await third.command(b"QUIT\r\n")
    await third.close()


async def test_idle_session_is_closed_with_421(operators, session_pki) -> None:
    mx = await operators("b", DOMAIN_B, session_pki.operator_b,
                         options=SmtpOptions(idle_timeout=0.2))
    raw = await RawSmtp.open(mx.port("mx"))
    assert await raw.reply() == "421 4.4.2 Idle timeout, closing transmission channel"
    await raw.close()
