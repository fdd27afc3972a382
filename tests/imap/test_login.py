"""LOGIN, AUTHENTICATE PLAIN/EXTERNAL, STARTTLS and LOGINDISABLED (RFC 3501 §6.2)."""

from __future__ import annotations

import pytest

from tests.imap.conftest import ImapWorld, run

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_login_over_implicit_tls(imap: ImapWorld) -> None:
    client = await imap.login(imap.world.alice)
    typ, data = await run(client.select, "INBOX")
    assert typ == "OK"
    await run(client.logout)
