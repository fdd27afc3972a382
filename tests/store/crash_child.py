"""Child process for the crash test: delivers messages forever, reporting each commit.

A line `committed <uid> <sha256>` is printed only after `store.write` returned, that is
after the commit: the parent kills this process at random and then checks every
reported delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sys

from mss.config import load_settings
from mss.identity import MailboxKind
from mss.store.mailboxes import INBOX, create_mailbox, find_mailbox
from mss.store.store import Store

ADDRESS = "crash@mss.localhost"


async def main() -> None:
    settings = load_settings(environ=os.environ)
    store = await Store.open(settings)
    async with store.reading() as session:
        existing = await find_mailbox(session, ADDRESS)
    if existing is None:
        async def make(uow):
            return (await create_mailbox(uow, store.keyring, address=ADDRESS,
                                         kind=MailboxKind.PER)).id
        mailbox_id = await store.write(make)
    else:
        mailbox_id = existing.id
    async with store.reading() as session:
        inbox = await store.mail.folders.named(session, mailbox_id, INBOX)
    rng = random.Random(int(sys.argv[1]))

    async def writer(worker: int) -> None:
        n = 0
        while True:
            n += 1
            body = os.urandom(rng.randint(10, 60_000)).hex().encode()
            raw = (f"Subject: crash {worker}-{n}\r\nMessage-ID: <{worker}.{n}@t>\r\n\r\n"
                   .encode() + body)
            blob = await store.mail.contents.prepare_blob(mailbox_id, raw)

            async def job(uow, blob=blob, raw=raw):
                return await store.mail.delivery.deliver(uow, inbox.id, blob, raw)

            done = await store.write(job)
            sys.stdout.write(f"committed {done.uid} {hashlib.sha256(raw).hexdigest()}\n")
            sys.stdout.flush()

    await asyncio.gather(*(writer(w) for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main())
