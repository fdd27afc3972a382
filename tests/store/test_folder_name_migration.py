"""Migration 0022: folders named before in a form other than NFC take their NFC name,
the one IMAP now looks them up by (mss.imap.namespaces.net_unicode); a folder whose NFC
name is already taken in its mailbox keeps its own."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from mss.store import schema
from mss.store.db import create_engine
from mss.store.store import Store
from tests.store.conftest import make_mailbox


def _migrate(sync_conn, target: str, down: bool) -> None:
    cfg = schema.alembic_config()
    cfg.attributes["connection"] = sync_conn
    (command.downgrade if down else command.upgrade)(cfg, target)


async def test_folder_names_take_their_nfc_form_unless_it_is_taken(make_settings, clock) -> None:
    settings = make_settings()
    store = await Store.open(settings, clock=clock)
    try:
        mailbox = await make_mailbox(store, "nfc@mss.localhost")
    finally:
        await store.close()
    engine = create_engine(settings.database_url)
    names = ["Re\u0301sultats", "Re\u0301sultats/2026", "Bilan-e\u0301", "Bilan-\u00e9"]
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0021", True)
            uidvalidity = (await conn.execute(sa.text(
                "SELECT uidvalidity FROM folders WHERE mailbox_id = :m"), {"m": mailbox})).scalar()
            for name in names:
                await conn.execute(sa.text(
                    "INSERT INTO folders (mailbox_id, name, uidvalidity, uidnext, highestmodseq,"
                    " subscribed, keywords) VALUES (:m, :n, :v, 1, 1, false, '')"),
                    {"m": mailbox, "n": name, "v": uidvalidity})
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "head", False)
        async with engine.connect() as conn:
            stored = set((await conn.execute(sa.text(
                "SELECT name FROM folders WHERE mailbox_id = :m"), {"m": mailbox})).scalars())
    finally:
        await engine.dispose()
    assert {"R\u00e9sultats", "R\u00e9sultats/2026", "Bilan-\u00e9", "Bilan-e\u0301"} <= stored
    assert "Re\u0301sultats" not in stored and "Re\u0301sultats/2026" not in stored
