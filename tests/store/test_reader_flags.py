"""The reader's view of an ORG mailbox's flags (mss.store.flags): the SQL condition
`flag_held` answers what `reader_view` computes, for every reader and flag, and the
folder reads, SEARCH and the webmail's counts that use it agree."""

from __future__ import annotations

from sqlalchemy import literal, select

from mss.identity import MailboxKind
from mss.read_models.mailbox_views import SUMMARY_COLUMNS, message_summaries
from mss.store.flag_changes import FlagMode
from mss.store.flags import flag_held
from mss.store.folder_reads import folder_counts, folder_entries, folder_index
from mss.store.folder_search import FlagIs, Negation, folder_search
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import FolderEntry, StoredMessage
from tests.store.conftest import deliver, make_mailbox, sample_message

READERS = (None, "anne", "paul", "nobody")
FLAGS = ("\\Seen", "\\Flagged", "\\Deleted", "$Urgent", "$urgent")


async def _org_folder(store: Store) -> int:
    """Four messages; shared flags and two readers' own \\Seen set differently."""
    org = await make_mailbox(store, "secretariat@mss.localhost", MailboxKind.ORG)
    shared = [("\\Seen",), ("\\Flagged", "$Urgent"), (), ("\\Seen", "\\Deleted")]
    for n, flags in enumerate(shared, 1):
        await deliver(store, org, sample_message(n), flags=flags)
    async with store.reading() as session:
        folder = (await store.mail.folders.named(session, org, INBOX)).id

    async def mark(uow):
        await store.mail.flags.store_flags(uow, folder, [2, 3], {"\\Seen"}, FlagMode.ADD,
                                     reader="anne")
        await store.mail.flags.store_flags(uow, folder, [4], {"\\Seen"}, FlagMode.ADD,
                                     reader="paul")
        await store.mail.flags.store_flags(uow, folder, [4], {"\\Seen"}, FlagMode.REMOVE,
                                     reader="paul")
    await store.write(mark)
    return folder


async def test_the_condition_answers_what_the_merge_computes(store: Store) -> None:
    folder = await _org_folder(store)
    async with store.reading() as session:
        for reader in READERS:
            seen = {e.uid: e.flags for e in await folder_entries(session, folder, reader)}
            for flag in FLAGS:
                held = (await session.execute(
                    select(FolderEntry.uid).where(FolderEntry.folder_id == folder,
                                                  flag_held(flag, reader))
                    .order_by(FolderEntry.uid))).scalars().all()
                expected = [uid for uid, flags in seen.items()
                            if flag.casefold() in {f.casefold() for f in flags}]
                assert list(held) == expected, (reader, flag)


async def test_every_reader_of_the_folder_agrees(store: Store) -> None:
    folder = await _org_folder(store)
    async with store.reading() as session:
        for reader in READERS:
            entries = await folder_entries(session, folder, reader)
            unseen = [e.uid for e in entries if "\\Seen" not in e.flags]
            assert await folder_search(
                session, folder, reader, Negation(FlagIs("\\Seen", True))) == unseen
            assert (await folder_counts(session, folder, reader)).unseen == len(unseen)
            assert (await folder_index(session, folder, reader)).first_unseen_uid == (
                unseen[0] if unseen else None)
            rows = (await session.execute(
                select(literal(INBOX).label("folder"), *SUMMARY_COLUMNS)
                .join(StoredMessage, StoredMessage.id == FolderEntry.message_id)
                .where(FolderEntry.folder_id == folder).order_by(FolderEntry.uid))).all()
            summaries = await message_summaries(session, rows, reader)
            assert [s.uid for s in summaries if not s.seen] == unseen
    assert unseen == [1, 2, 3, 4]  # "nobody": no \Seen of their own on any message
