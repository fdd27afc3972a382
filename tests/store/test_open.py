"""Opening a store: a fresh database is upgraded to head; refusals are clear."""

from __future__ import annotations

from mss.identity import MailboxKind
from mss.store.mailboxes import create_mailbox, find_mailbox
from mss.store.tables import Mailbox


async def test_create_mailbox_with_default_folders(store) -> None:
    async def job(uow):
        return await create_mailbox(uow, store.keyring, address="Dr.Test@mss.localhost",
                                    kind=MailboxKind.PER, display_name="Dr Test")
    mailbox = await store.write(job)
    assert isinstance(mailbox, Mailbox)
    async with store.reading() as session:
        found = await find_mailbox(session, "dr.test@mss.localhost")
    assert found is not None and found.kind == "PER"
