"""Helpers for store tests: a mailbox and a way to deliver raw messages into it."""

from __future__ import annotations

import pytest

from mss.identity import MailboxKind
from mss.store.mail_delivery import Delivered
from mss.store.mailboxes import INBOX, create_mailbox
from mss.store.store import Store


def sample_message(n: int = 1, size: int = 0, subject: str | None = None) -> bytes:
    body = (b"Bonjour, compte rendu en piece jointe.\r\n" * (size // 40 + 1))[: max(size, 40)]
    subj = subject if subject is not None else f"Compte rendu {n}"
    return (
        f"From: Dr Alice Martin <alice.martin@mss.localhost>\r\n"
        f"To: bob@mss.localhost\r\n"
        f"Subject: {subj}\r\n"
        f"Message-ID: <m{n}@mss.localhost>\r\n"
        f"Date: Fri, 27 Nov 2026 10:00:00 +0100\r\n\r\n"
    ).encode() + body


async def make_mailbox(store: Store, address: str, kind: MailboxKind = MailboxKind.PER) -> int:
    async def job(uow):
        return (await create_mailbox(uow, store.keyring, address=address, kind=kind)).id

    return await store.write(job)


async def deliver(store: Store, mailbox_id: int, raw: bytes, folder: str = INBOX,
                  flags: tuple[str, ...] = ()) -> Delivered:
    async with store.reading() as session:
        target = await store.mail.folders.named(session, mailbox_id, folder)
    blob = await store.mail.contents.prepare_blob(mailbox_id, raw)

    async def job(uow):
        return await store.mail.delivery.deliver(uow, target.id, blob, raw, flags=flags)

    return await store.write(job)


@pytest.fixture
async def mailbox(store: Store) -> int:
    return await make_mailbox(store, "bob@mss.localhost")
