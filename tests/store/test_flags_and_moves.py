"""Flags with MODSEQ, private \\Seen on shared mailboxes, expunge, copy, move, folders."""

from __future__ import annotations

import asyncio

import pytest

from mss.identity import MailboxKind
from mss.store.flag_changes import FlagMode
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from tests.store.conftest import deliver, make_mailbox, sample_message


async def _inbox(store, mailbox):
    async with store.reading() as session:
        return await store.mail.folders.named(session, mailbox, INBOX)


async def _entries(store, folder_id, **kw):
    async with store.reading() as session:
        return await store.mail.reads.entries(session, folder_id, **kw)


async def test_store_flags_add_remove_replace_bump_modseq(store, mailbox) -> None:
    await deliver(store, mailbox, sample_message(1))
    inbox = await _inbox(store, mailbox)
    before = (await _entries(store, inbox.id))[0].modseq

    async def add(uow):
        return await store.mail.flags.store_flags(uow, inbox.id, [1], ["\\Seen", "$label1"],
                                            FlagMode.ADD)
    change = await store.write(add)
    assert change.changed[0][2] == {"\\Seen", "$label1"}
    entry = (await _entries(store, inbox.id))[0]
    assert entry.flags == {"\\Seen", "$label1"} and entry.modseq > before

    async def remove(uow):
        return await store.mail.flags.store_flags(uow, inbox.id, [1], ["\\Seen"], FlagMode.REMOVE)
    await store.write(remove)
    assert (await _entries(store, inbox.id))[0].flags == {"$label1"}

    async def replace(uow):
        return await store.mail.flags.store_flags(uow, inbox.id, [1], ["\\Flagged"],
                                            FlagMode.REPLACE)
    await store.write(replace)
    assert (await _entries(store, inbox.id))[0].flags == {"\\Flagged"}


async def test_unchangedsince_refuses_a_stale_store(store, mailbox) -> None:
    await deliver(store, mailbox, sample_message(1))
    inbox = await _inbox(store, mailbox)
    old = (await _entries(store, inbox.id))[0].modseq

    async def bump(uow):
        return await store.mail.flags.store_flags(uow, inbox.id, [1], ["\\Answered"], FlagMode.ADD)
    await store.write(bump)

    async def stale(uow):
        return await store.mail.flags.store_flags(uow, inbox.id, [1], ["\\Deleted"], FlagMode.ADD,
                                            unchanged_since=old)
    change = await store.write(stale)
    assert change.conflicts == [1] and change.changed == []
    assert "\\Deleted" not in (await _entries(store, inbox.id))[0].flags


async def test_seen_is_private_per_member_of_a_shared_mailbox(store) -> None:
    org = await make_mailbox(store, "cardiologie@mss.localhost", MailboxKind.ORG)
    await deliver(store, org, sample_message(1))
    inbox = await _inbox(store, org)

    async def read_by_anne(uow):
        return await store.mail.flags.store_flags(uow, inbox.id, [1], ["\\Seen", "\\Flagged"],
                                            FlagMode.ADD, reader="anne")
    await store.write(read_by_anne)
    anne = (await _entries(store, inbox.id, reader="anne"))[0]
    paul = (await _entries(store, inbox.id, reader="paul"))[0]
    assert anne.flags == {"\\Seen", "\\Flagged"}
    assert paul.flags == {"\\Flagged"}  # \\Flagged is shared, \\Seen is Anne's own
    async with store.reading() as session:
        assert (await store.mail.reads.status(session, inbox.id, reader="paul")).unseen == 1
        assert (await store.mail.reads.status(session, inbox.id, reader="anne")).unseen == 0


async def test_expunge_removes_only_deleted(store, mailbox) -> None:
    for i in range(3):
        await deliver(store, mailbox, sample_message(i), flags=("\\Deleted",) if i != 1 else ())
    inbox = await _inbox(store, mailbox)

    async def expunge(uow):
        return await store.mail.moves.expunge(uow, inbox.id)
    assert await store.write(expunge) == [1, 3]
    assert [e.uid for e in await _entries(store, inbox.id)] == [2]


async def test_expunge_and_move_remember_the_removed_uids(store, mailbox) -> None:
    """RFC 7162 §3.2.5: QRESYNC needs which UIDs went away after a MODSEQ."""
    from mss.store.folder_reads import expunged_since

    for i in range(4):
        await deliver(store, mailbox, sample_message(i), flags=("\\Deleted",) if i < 2 else ())
    inbox = await _inbox(store, mailbox)
    async with store.reading() as session:
        archive = await store.mail.folders.named(session, mailbox, "Archive")

    async def expunge(uow):
        return await store.mail.moves.expunge(uow, inbox.id)
    await store.write(expunge)
    after_expunge = (await _inbox(store, mailbox)).highestmodseq

    async def move(uow):
        return await store.mail.moves.move(uow, inbox.id, [4], archive.id)
    await store.write(move)
    async with store.reading() as session:
        assert await expunged_since(session, inbox.id, 0) == [1, 2, 4]
        assert await expunged_since(session, inbox.id, after_expunge) == [4]
        assert await expunged_since(session, inbox.id, 0, [(2, 3)]) == [2]
        assert await expunged_since(session, archive.id, 0) == []


async def test_copy_and_move_keep_flags_and_assign_new_uids(store, mailbox) -> None:
    for i in range(2):
        await deliver(store, mailbox, sample_message(i), flags=("\\Flagged",))
    async with store.reading() as session:
        inbox = await store.mail.folders.named(session, mailbox, INBOX)
        archive = await store.mail.folders.named(session, mailbox, "Archive")

    async def copy(uow):
        return await store.mail.moves.copy(uow, inbox.id, [1], archive.id)
    assert await store.write(copy) == [(1, 1)]

    async def move(uow):
        return await store.mail.moves.move(uow, inbox.id, [1, 2], archive.id)
    assert await store.write(move) == [(1, 2), (2, 3)]
    assert await _entries(store, inbox.id) == []
    moved = await _entries(store, archive.id)
    assert [e.uid for e in moved] == [1, 2, 3]
    assert all(e.flags == {"\\Flagged"} for e in moved)


async def test_copy_to_another_mailbox_reencrypts(store, mailbox) -> None:
    org = await make_mailbox(store, "secretariat@mss.localhost", MailboxKind.ORG)
    raw = sample_message(5)
    await deliver(store, mailbox, raw)
    source, target = await _inbox(store, mailbox), await _inbox(store, org)

    async def copy(uow):
        return await store.mail.moves.copy(uow, source.id, [1], target.id)
    await store.write(copy)
    copied = (await _entries(store, target.id))[0]
    assert await store.mail.contents.read_raw(org, copied.blob_key) == raw


async def test_two_processes_creating_one_folder_make_it_once(store, mailbox) -> None:
    """Two processes (two stores on one database) CREATE the same name at once: one
    folder, and the other hears ALREADYEXISTS (RFC 5530), never a constraint error."""
    other = await Store.open(store.settings)
    try:
        def create(uow):
            return store.mail.folders.create(uow, mailbox, "Patients")
        outcomes = await asyncio.gather(store.write(create), other.write(create),
                                        return_exceptions=True)
    finally:
        await other.close()
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], MailStoreError)
    assert refused[0].code == "ALREADYEXISTS"
    async with store.reading() as session:
        names = [f.name for f in await store.mail.folders.of_mailbox(session, mailbox)]
    assert names.count("Patients") == 1


async def test_folder_create_rename_delete(store, mailbox) -> None:
    async def create(uow):
        await store.mail.folders.create(uow, mailbox, "Patients")
        await store.mail.folders.create(uow, mailbox, "Patients/Dupont")
    await store.write(create)

    async def rename(uow):
        await store.mail.folders.rename(uow, mailbox, "Patients", "Suivi")
    await store.write(rename)
    async with store.reading() as session:
        names = {f.name for f in await store.mail.folders.of_mailbox(session, mailbox)}
    assert {"Suivi", "Suivi/Dupont"} <= names and "Patients" not in names

    async def duplicate(uow):
        await store.mail.folders.create(uow, mailbox, "Suivi")
    with pytest.raises(MailStoreError) as err:
        await store.write(duplicate)
    assert err.value.code == "ALREADYEXISTS"

    async def delete_inbox(uow):
        await store.mail.folders.delete(uow, mailbox, "inbox")
    with pytest.raises(MailStoreError) as err:
        await store.write(delete_inbox)
    assert err.value.code == "CANNOT"
