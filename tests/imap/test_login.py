"""LOGIN, AUTHENTICATE PLAIN/EXTERNAL, STARTTLS and LOGINDISABLED (RFC 3501 §6.2)."""

from __future__ import annotations

import asyncio
import base64
import imaplib

import pytest
from imapclient import IMAPClient

from mss.directory.certificate_bindings import bind_certificate
from tests.imap.conftest import HOST, ImapWorld, RawClient, run

pytestmark = pytest.mark.asyncio(loop_scope="module")
FAILED = b"NO [AUTHENTICATIONFAILED] Authentication failed"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_login_over_implicit_tls(imap: ImapWorld) -> None:
    client = await imap.login(imap.world.alice)
    typ, _ = await run(client.select, "INBOX")
    assert typ == "OK"
    await run(client.logout)


async def test_clear_text_connection_refuses_login_until_starttls(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.starttls_port, None)
    caps = await client.command("a", "CAPABILITY")
    assert b"LOGINDISABLED" in caps[0] and b"STARTTLS" in caps[0]
    assert b"AUTH=PLAIN" not in caps[0]
    login = await client.command("b", f'LOGIN "{imap.world.alice}" "{imap.world.password}"')
    assert login[-1].startswith(b"b NO [PRIVACYREQUIRED]")
    auth = await client.command("c", "AUTHENTICATE PLAIN " + b64(f"\0{imap.world.alice}\0x"))
    assert auth[-1].startswith(b"c NO [PRIVACYREQUIRED]")
    await client.close()


async def test_starttls_then_login_with_imaplib(imap: ImapWorld) -> None:
    def session() -> list[bytes]:
        client = imaplib.IMAP4(HOST, imap.starttls_port, timeout=30)
        client.starttls(ssl_context=imap.client_context())
        assert "LOGINDISABLED" not in client.capabilities
        client.login(imap.world.alice, imap.world.password)
        _, names = client.list()
        client.logout()
        return names

    names = await run(session)
    assert any(b'"INBOX"' in n or n.endswith(b" INBOX") for n in names)


async def test_commands_pipelined_after_starttls_are_discarded(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.starttls_port, None)
    await client.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
    reply = await client.until("a")
    assert reply[-1].startswith(b"a OK")
    loop = asyncio.get_running_loop()
    transport = client.writer.transport
    protocol = transport.get_protocol()
    tls = await loop.start_tls(transport, protocol, imap.client_context(), server_hostname=HOST)
    client.writer._transport = tls  # type: ignore[attr-defined]
    await client.send(b"c NOOP\r\n")
    first = await client.response()
    assert first.startswith(b"c OK"), first  # never "b" nor its CAPABILITY
    tls.close()


async def test_wrong_password_and_unknown_user_get_the_same_reply(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    wrong = await client.command("a", f'LOGIN "{imap.world.bruno}" "not-the-password"')
    unknown = await client.command("b", 'LOGIN "nobody@mss.localhost" "whatever"')
    assert wrong[-1] == b"a " + FAILED + b"\r\n"
    assert unknown[-1] == b"b " + FAILED + b"\r\n"
    await client.close()
    imap.forget_failures()


async def test_authenticate_plain_with_initial_response(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    reply = await client.command(
        "a", "AUTHENTICATE PLAIN " + b64(f"\0{imap.world.alice}\0{imap.world.password}")
    )
    assert reply[-1].startswith(b"a OK [CAPABILITY"), reply
    await client.close()


async def test_authenticate_plain_with_continuation_and_cancel(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    await client.send(b"a AUTHENTICATE PLAIN\r\n")
    assert (await client.response()).startswith(b"+")
    await client.send(b"*\r\n")
    assert (await client.response()).startswith(b"a BAD")
    await client.send(b"b AUTHENTICATE PLAIN\r\n")
    assert (await client.response()).startswith(b"+")
    await client.send(b64(f"\0{imap.world.alice}\0{imap.world.password}").encode() + b"\r\n")
    assert (await client.response()).startswith(b"b OK")
    await client.close()


async def test_plain_authorisation_identity_opens_the_org_mailbox(imap: ImapWorld) -> None:
    world = imap.world

    def session() -> tuple[list[str], str]:
        client = IMAPClient(HOST, port=imap.tls_port, ssl=True,
                            ssl_context=imap.client_context(), timeout=30)
        client.plain_login(world.bruno, world.password, authorization_identity=world.cardiology)
        folders = [name for _, _, name in client.list_folders()]
        rights = client._command_and_check("myrights", "INBOX", unpack=True)
        client.logout()
        return folders, rights.decode() if isinstance(rights, bytes) else str(rights)

    folders, rights = await run(session)
    assert "INBOX" in folders
    assert not any(name.startswith("Partagé") for name in folders)  # it is the personal one
    assert rights.endswith("lrs")


async def test_authzid_of_an_org_without_membership_fails(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    reply = await client.command("a", "AUTHENTICATE PLAIN " + b64(
        f"{imap.world.noreply}\0{imap.world.alice}\0{imap.world.password}"))
    assert reply[-1] == b"a " + FAILED + b"\r\n"
    await client.close()
    imap.forget_failures()


async def test_external_with_a_bound_application_certificate(imap: ImapWorld) -> None:
    issued = await asyncio.to_thread(
        imap.pki.issue_application, "Labo demo", "1750048886", "Hopital de demonstration"
    )
    await bind_certificate(imap.store, imap.world.noreply, subject_dn=issued.subject_dn)
    context = imap.client_context(issued.chain_path, issued.key_path)
    client = await RawClient.connect(imap.tls_port, context)
    caps = await client.command("a", "CAPABILITY")
    assert b"AUTH=EXTERNAL" in caps[0]
    reply = await client.command("b", "AUTHENTICATE EXTERNAL =")
    assert reply[-1].startswith(b"b OK"), reply
    listing = await client.command("c", 'LIST "" "*"')
    assert any(b"INBOX" in line for line in listing[:-1])
    await client.close()


async def test_external_without_certificate_is_not_offered_and_fails(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    caps = await client.command("c", "CAPABILITY")
    assert b"AUTH=PLAIN" in caps[0] and b"AUTH=EXTERNAL" not in caps[0]
    reply = await client.command("a", "AUTHENTICATE EXTERNAL =")
    assert reply[-1] == b"a " + FAILED + b"\r\n"
    await client.close()


async def test_commands_before_login_are_refused(imap: ImapWorld) -> None:
    client = await RawClient.connect(imap.tls_port, imap.client_context())
    reply = await client.command("a", "SELECT INBOX")
    assert reply[-1].startswith(b"a BAD")
    bye = await client.command("z", "LOGOUT")
    assert bye[0].startswith(b"* BYE") and bye[-1].startswith(b"z OK")
    await client.close()


async def test_stock_mbsync_logs_in_with_a_password(imap: ImapWorld, tmp_path) -> None:
    """isync 1.4 picks EXTERNAL whenever it is listed and does not fall back: with no
    client certificate it is not listed, so a plain configuration syncs INBOX."""
    import shutil
    import subprocess

    mbsync = shutil.which("mbsync")
    assert mbsync is not None, "isync (mbsync) is a test requirement"
    await imap.deliver([imap.world.bruno], subject="Pour mbsync")
    maildir = tmp_path / "mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(
        f"IMAPAccount mss\nHost {HOST}\nPort {imap.tls_port}\nUser {imap.world.bruno}\n"
        f"Pass {imap.world.password}\nSSLType IMAPS\n"
        f"CertificateFile {imap.pki.paths.ca_bundle}\n\n"
        "IMAPStore remote\nAccount mss\n\n"
        f"MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\n\n"
        "Channel inbox\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\n"
        "Sync Pull\nSyncState *\n")
    done = await run(lambda: subprocess.run([mbsync, "-c", str(config), "-a"],
                                            capture_output=True, text=True, timeout=120))
    assert done.returncode == 0, done.stderr + done.stdout
    fetched = [p.read_bytes() for p in (maildir / "INBOX" / "new").iterdir()]
    assert any(b"Subject: Pour mbsync" in raw for raw in fetched)
