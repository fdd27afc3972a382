"""SEARCH answered by the database gives exactly what the in-process matcher gives.

A folder with gaps in its UIDs, shared and private flags; 300 random key trees made of
what `store_filter` takes over (flags, keywords, sequence and UID sets, NOT, OR, groups),
each answered both ways on the real database.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from mss.directory.mail_access import MailAccess
from mss.identity import MailboxKind
from mss.imap.search_keys import (
    AllKey,
    AndKey,
    FlagKey,
    NotKey,
    OrKey,
    RecencyKey,
    SearchKey,
    SequenceKey,
)
from mss.imap.search_match import MessageView, SearchScope, search_matches
from mss.imap.search_pushdown import store_filter
from mss.imap.selected import SelectedMailbox
from mss.imap.sequence_set import SequenceSet
from mss.store.flag_changes import FlagMode
from mss.store.folder_reads import folder_flags, folder_index
from mss.store.folder_search import folder_search
from mss.store.mailboxes import INBOX
from tests.store.conftest import deliver, make_mailbox, sample_message

FLAGS = ["\\Seen", "\\Flagged", "\\Deleted", "\\Answered", "$Label1", "$label2"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def random_key(rng: random.Random, count: int, depth: int = 0) -> SearchKey:
    choice = rng.randrange(9 if depth < 3 else 4)
    if choice == 0:
        return AllKey()
    if choice in (1, 2):
        flag = rng.choice([*FLAGS, "\\SEEN", "$LABEL1", "$Other"])
        return FlagKey(flag, rng.random() < 0.5)
    if choice == 3:
        low = rng.randint(1, count + 2)
        high = rng.choice([low, rng.randint(1, count + 2), None])
        return SequenceKey(SequenceSet(((low, high),)), rng.random() < 0.5)
    if choice == 4:
        return RecencyKey(rng.choice(["NEW", "OLD", "RECENT"]))
    if choice in (5, 6):
        return NotKey(random_key(rng, count, depth + 1))
    if choice == 7:
        return OrKey(random_key(rng, count, depth + 1), random_key(rng, count, depth + 1))
    return AndKey(tuple(random_key(rng, count, depth + 1) for _ in range(rng.randint(1, 3))))


async def test_store_answers_like_the_matcher(store) -> None:
    rng = random.Random(7162)
    mailbox = await make_mailbox(store, "pushdown@mss.localhost", MailboxKind.ORG)
    for i in range(40):
        await deliver(store, mailbox, sample_message(i),
                      flags=tuple(f for f in FLAGS if rng.random() < 0.3))
    async with store.reading() as session:
        folder = await store.mail.folders.named(session, mailbox, INBOX)

    async def change(uow) -> None:
        await store.mail.flags.store_flags(uow, folder.id, [3, 9, 10, 11], ["\\Deleted"],
                                           FlagMode.ADD)
        await store.mail.moves.expunge(uow, folder.id, [3, 9, 10, 11])
        await store.mail.flags.store_flags(uow, folder.id, list(range(1, 41, 3)), ["\\Seen"],
                                     FlagMode.ADD, reader="reader-1")

    await store.write(change)
    for reader in (None, "reader-1"):
        async with store.reading() as session:
            index = await folder_index(session, folder.id, reader)
            flags = {uid: f for uid, _, f in await folder_flags(session, folder.id, reader)}
        access = MailAccess(mailbox, "pushdown@mss.localhost", MailboxKind.ORG, "lrs",
                            reader, reader is not None, 0)
        selected = SelectedMailbox(access, INBOX, folder.id, folder.uidvalidity, True,
                                   index.uids, asyncio.Queue(), AsyncExitStack())
        selected.uids = selected.uids[:-1]  # the client has not been told of the last one
        scope = SearchScope(len(selected.uids), selected.last_uid)
        for _ in range(150):
            key = random_key(rng, len(selected.uids))
            condition = store_filter(key, selected)
            assert condition is not None, key
            async with store.reading() as session:
                found = await folder_search(session, folder.id, reader, condition)
            by_store = selected.sequences_of(found)
            by_matcher = [
                (sequence, uid) for sequence, uid in enumerate(selected.uids, 1)
                if search_matches(key, MessageView(sequence, uid, flags[uid], EPOCH, 0, 0, b""),
                                  scope)
            ]
            assert by_store == by_matcher, (reader, key)
