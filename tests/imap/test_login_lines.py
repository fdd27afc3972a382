"""IMAP logins and logouts leave one line each, with the session id (docs/logging.md)."""

from __future__ import annotations

import imaplib

import pytest

from tests.event_lines import Lines
from tests.imap.conftest import HOST, ImapWorld, run

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_failed_and_good_login_then_logout(imap: ImapWorld, lines: Lines) -> None:
    imap.forget_failures()

    def session() -> None:
        client = imaplib.IMAP4(HOST, imap.starttls_port, timeout=30)
        client.starttls(ssl_context=imap.client_context())
        with pytest.raises(imaplib.IMAP4.error):
            client.login(imap.world.alice, "not-the-password")
        client.login(imap.world.alice, imap.world.password)
        client.logout()

    await run(session)
    imap.forget_failures()
    text = "\n".join(lines.all())
    assert "not-the-password" not in text and imap.world.password not in text
    opened = [e for e in lines.events("session.opened") if e["listener"] == "imap"]
    session_id = opened[-1]["session"]
    tls, = (e for e in lines.events("session.tls") if e["session"] == session_id)
    assert tls["tls"].startswith("TLSv1")
    failed, = lines.events("auth.failed")
    assert (failed["protocol"], failed["mechanism"], failed["user"]) == (
        "imap", "LOGIN", imap.world.alice)
    failed_line = next(line for line in text.splitlines() if "event=auth.failed" in line)
    assert failed_line.endswith(" client=127.0.0.1")  # last: the fail2ban filter's anchor
    succeeded, = lines.events("auth.succeeded")
    out, = lines.events("auth.logged_out")
    assert succeeded["mailbox"] == imap.world.alice
    assert out["principal"] == succeeded["principal"]
    assert {failed["session"], succeeded["session"], out["session"]} == {session_id}
