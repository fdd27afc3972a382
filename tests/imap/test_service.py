"""`mss serve` wiring: the App starts both IMAP listeners, honours `enabled` and port 0."""

from __future__ import annotations

import imaplib
import ssl

from mss.app import App
from mss.demo import seed_world
from tests.imap.conftest import run

OFF = {"enabled": False}


def listeners(imap: dict[str, object], imaps: dict[str, object]) -> dict[str, object]:
    return {"listeners": {"mx": OFF, "submission": OFF, "submissions": OFF, "http": OFF,
                          "imap": imap, "imaps": imaps}}


async def test_app_starts_both_listeners_and_serves_a_login(make_settings) -> None:
    settings = make_settings(**listeners({"port": 0}, {"port": 0}))
    app = App(settings)
    lines = await app.start()
    try:
        imap_lines = [line for line in lines if line.startswith("IMAP")]
        assert imap_lines[0].startswith("IMAP on 127.0.0.1:") and imap_lines[0].endswith(
            "(STARTTLS)")
        assert imap_lines[1].startswith("IMAPS on 127.0.0.1:")
        assert app.store is not None and app.pki is not None
        world = await seed_world(app.store)
        port = int(imap_lines[1].split(":")[1])
        context = ssl.create_default_context(cafile=str(app.pki.paths.ca_bundle))

        def login() -> str:
            client = imaplib.IMAP4_SSL("localhost", port, ssl_context=context, timeout=30)
            client.login(world.alice, world.password)
            typ, _ = client.select("INBOX")
            client.logout()
            return typ

        assert await run(login) == "OK"
    finally:
        await app.stop()


async def test_disabled_listener_is_not_started(make_settings) -> None:
    settings = make_settings(**listeners(OFF, {"port": 0}))
    app = App(settings)
    lines = await app.start()
    try:
        assert [line for line in lines if line.startswith("IMAP")] == [
            line for line in lines if line.startswith("IMAPS on 127.0.0.1:")
        ]
    finally:
        await app.stop()
