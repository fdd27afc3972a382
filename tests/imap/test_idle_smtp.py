"""IDLE receives a message submitted by SMTP (the whole server: submission → pipeline →
store → change event → IMAP), in one App with both services."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from email.message import EmailMessage

import aiosmtplib

from mss.app import App
from mss.demo import seed_world
from tests.imap.conftest import RawClient

OFF = {"enabled": False}


def port_of(lines: list[str], label: str) -> int:
    line = next(line for line in lines if line.startswith(label + " on "))
    return int(line.split(" on ")[1].split()[0].rsplit(":", 1)[1])


async def test_idle_sees_a_message_submitted_by_smtp(make_settings) -> None:
    settings = make_settings(listeners={
        "mx": OFF, "submission": OFF, "http": OFF, "imap": OFF,
        "submissions": {"port": 0}, "imaps": {"port": 0},
    })
    app = App(settings)
    lines = await app.start()
    try:
        assert app.store is not None and app.pki is not None
        world = await seed_world(app.store)
        context = ssl.create_default_context(cafile=str(app.pki.paths.ca_bundle))
        imap = await RawClient.connect(port_of(lines, "IMAPS"), context)
        await imap.command("l", f'LOGIN "{world.bruno}" "{world.password}"')
        selected = await imap.command("s", "SELECT INBOX")
        before = next(int(x.split()[1]) for x in selected if x.endswith(b"EXISTS\r\n"))
        await imap.send(b"i IDLE\r\n")
        assert (await imap.response()).startswith(b"+ ")

        message = EmailMessage()
        message["From"] = world.alice
        message["To"] = world.bruno
        message["Subject"] = f"smtp-{uuid.uuid4().hex[:6]}"
        message["Message-ID"] = f"<{uuid.uuid4().hex}@test>"
        message.set_content("Bonjour.")
        await aiosmtplib.send(
            message, hostname="localhost", port=port_of(lines, "Submissions"), use_tls=True,
            tls_context=context, username=world.alice, password=world.password, timeout=30,
        )
        pushed = await asyncio.wait_for(imap.response(), 30)
        assert pushed == b"* %d EXISTS\r\n" % (before + 1)
        recent = await asyncio.wait_for(imap.response(), 30)  # RFC 3501 §7.3.2: ours
        assert recent.endswith(b" RECENT\r\n") and recent != b"* 0 RECENT\r\n"
        await imap.send(b"DONE\r\n")
        assert (await imap.response()).startswith(b"i OK")
        fetched = await imap.command("f", f"FETCH {before + 1} BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        assert message["Subject"].encode() in fetched[0]
        await imap.close()
    finally:
        await app.stop()
