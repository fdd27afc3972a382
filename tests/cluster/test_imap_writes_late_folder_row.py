"""IMAP's writes hold their folder's row only at the end of the batch (docs/architecture.md
§5, mss.store.late_counters): while a job of node A that wrote to a folder is still
running, node B's write to the same folder commits, and the UIDs and MODSEQs both get
follow the commit order (RFC 3501 §2.3.1.1, RFC 7162 §3.1).

Node A's job waits on an event after its write; node B's write must then finish. Had A
taken the folder row in its job, B would wait on the row lock: the test sees that wait
in `pg_stat_activity` and fails at once (no timing bound)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, text

from mss.store.flag_changes import FlagMode
from mss.store.folder_reads import folder_counts
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from mss.store.tables import ExpungedEntry
from mss.store.unit_of_work import UnitOfWork
from tests.conftest import PG_URL
from tests.store.conftest import deliver, make_mailbox, sample_message

pytestmark = pytest.mark.skipif(not PG_URL, reason="two nodes need PostgreSQL")
SENT = "Sent"


class World:
    def __init__(self, mailbox: int, inbox: int, sent: int) -> None:
        self.mailbox, self.inbox, self.sent = mailbox, inbox, sent


# Each write takes its `n`th message (A the first, B the second) and gives a zero-argument
# function naming, after the commit, the UID or MODSEQ the folder gave it.
Write = Callable[[Store, UnitOfWork, World, int], Awaitable[Callable[[], int]]]


async def _store(store: Store, uow: UnitOfWork, world: World, n: int) -> Callable[[], int]:
    change = await store.mail.flags.store_flags(uow, world.inbox, [n], {"\\Flagged"},
                                                FlagMode.ADD)
    return lambda: change.changed[0][1]


async def _expunge(store: Store, uow: UnitOfWork, world: World, n: int) -> Callable[[], int]:
    assert await store.mail.moves.expunge(uow, world.inbox, [n + 2]) == [n + 2]
    return lambda: -1  # its MODSEQ is read from the expunged entries below


async def _append(store: Store, uow: UnitOfWork, world: World, n: int) -> Callable[[], int]:
    raw = sample_message(10 + n)
    blob = await store.mail.contents.prepare_blob(world.mailbox, raw, inline=True)
    delivered = await store.mail.delivery.deliver(uow, world.inbox, blob, raw)
    return lambda: delivered.uid


async def _copy(store: Store, uow: UnitOfWork, world: World, n: int) -> Callable[[], int]:
    pairs = await store.mail.moves.copy(uow, world.sent, [n], world.inbox)
    return lambda: pairs[0][1]


async def _move(store: Store, uow: UnitOfWork, world: World, n: int) -> Callable[[], int]:
    pairs = await store.mail.moves.move(uow, world.sent, [n], world.inbox)
    return lambda: pairs[0][1]


WRITES: dict[str, tuple[Write, str]] = {
    "STORE": (_store, "modseq"), "EXPUNGE": (_expunge, "modseq"),
    "APPEND": (_append, "uid"), "COPY": (_copy, "uid"), "MOVE": (_move, "uid"),
}


async def _lock_wait(store: Store) -> None:
    """Returns once some transaction of the test's database waits on a lock."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                 " AND wait_event_type = 'Lock'")
    while True:
        async with store.reading() as session:
            if (await session.execute(query)).scalar_one():
                return


@pytest.mark.parametrize("name", list(WRITES))
async def test_a_write_running_on_one_node_does_not_hold_the_folder_from_another(
    make_settings, name: str
) -> None:
    write, counter = WRITES[name]
    settings = make_settings()
    node_a, node_b = await Store.open(settings), await Store.open(settings)
    node_a.node_id, node_b.node_id = "node-a", "node-b"
    try:
        mailbox = await make_mailbox(node_a, "bob@mss.localhost")
        for n in range(1, 5):
            await deliver(node_a, mailbox, sample_message(n),
                          flags=("\\Deleted",) if n > 2 else ())
        for n in range(1, 3):
            await deliver(node_a, mailbox, sample_message(20 + n), folder=SENT)
        async with node_a.reading() as session:
            inbox = await node_a.mail.folders.named(session, mailbox, INBOX)
            sent = await node_a.mail.folders.named(session, mailbox, SENT)
        world = World(mailbox, inbox.id, sent.id)
        wrote, release = asyncio.Event(), asyncio.Event()

        async def job_a(uow: UnitOfWork) -> Callable[[], int]:
            given = await write(node_a, uow, world, 1)
            wrote.set()
            await release.wait()  # still in A's batch, before its end and COMMIT
            return given

        async def job_b(uow: UnitOfWork) -> Callable[[], int]:
            return await write(node_b, uow, world, 2)

        held = asyncio.create_task(node_a.write(job_a))
        await wrote.wait()
        b_done = asyncio.create_task(node_b.write(job_b))
        waiting = asyncio.create_task(_lock_wait(node_a))
        await asyncio.wait({b_done, waiting}, return_when=asyncio.FIRST_COMPLETED)
        blocked = waiting.done() and not b_done.done()
        waiting.cancel()
        release.set()
        given_a = await held
        given_b = await b_done
        assert not blocked, f"B's {name} waited on a lock while A's job ran"

        async with node_b.reading() as session:
            after = await node_b.mail.folders.named(session, mailbox, INBOX)
            entries = await node_b.mail.reads.entries(session, inbox.id)
            for folder in (inbox.id, sent.id):  # the counts the end of the batch moved
                counts = await folder_counts(session, folder, None)
                listed = await node_b.mail.reads.entries(session, folder)
                assert (counts.messages, counts.unseen, counts.deleted, counts.size) == (
                    len(listed), sum("\\Seen" not in e.flags for e in listed),
                    sum("\\Deleted" in e.flags for e in listed), sum(e.size for e in listed))
            expunged = dict((await session.execute(
                select(ExpungedEntry.uid, ExpungedEntry.modseq)
                .where(ExpungedEntry.folder_id == inbox.id))).all())
        if name == "EXPUNGE":
            a, b = expunged[3], expunged[4]
        else:
            a, b = given_a(), given_b()
        # B committed first: its UID or MODSEQ is the lower one, both above the old ones
        old = inbox.highestmodseq if counter == "modseq" else inbox.uidnext - 1
        assert old < b < a
        if counter == "modseq":
            assert after.highestmodseq == a
        else:
            assert after.uidnext == a + 1
        modseqs = {e.uid: e.modseq for e in entries}
        if counter == "uid":
            assert {a, b} <= set(modseqs)
            assert inbox.highestmodseq < modseqs[b] < modseqs[a] == after.highestmodseq
        elif name == "STORE":
            assert (modseqs[1], modseqs[2]) == (a, b)
    finally:
        await node_a.close()
        await node_b.close()
