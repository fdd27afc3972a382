"""Each folder entry keeps its message's RFC 5256 sort keys (migration 0020), written by
every path that adds an entry (APPEND, the pipeline's delivery, COPY, MOVE), so that SORT
reads a folder in the order of an index; existing entries take them at the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from mss.store import schema
from mss.store.db import create_engine
from mss.store.folder_search import folder_sort
from mss.store.mailboxes import INBOX
from mss.store.store import Store
from tests.store.conftest import deliver, make_mailbox

KEYS = ("sort_date", "sort_arrival", "sort_size", "sort_from", "sort_to", "sort_cc",
        "sort_subject")
# the entry's keys against its message's (DATE: the sent date, else the internal date)
_COMPARE = sa.text(
    "SELECT e.uid, e.sort_date = COALESCE(m.sent_date, m.internal_date),"
    " e.sort_arrival = m.internal_date, e.sort_size = m.size, e.sort_from = m.sort_from,"
    " e.sort_to = m.sort_to, e.sort_cc = m.sort_cc, e.sort_subject = m.sort_subject"
    " FROM folder_entries e JOIN messages m ON m.id = e.message_id"
    " JOIN folders f ON f.id = e.folder_id WHERE f.mailbox_id = :mailbox ORDER BY e.id")


def _message(sender: str, subject: str, date: str, size: int = 0) -> bytes:
    return (f"From: <{sender}@mss.localhost>\r\nTo: <{sender[::-1]}@mss.localhost>\r\n"
            f"Cc: <c{sender}@mss.localhost>\r\nSubject: {subject}\r\nDate: {date}\r\n"
            "\r\n").encode() + b"x" * size


MESSAGES = [
    _message("carol", "Re: bilan", "Mon, 6 Apr 2026 10:00:00 +0200", 300),
    _message("alice", "compte rendu", "Sun, 5 Apr 2026 10:00:00 +0200", 100),
    _message("bob", "Fwd: analyse", "not a date", 200),  # DATE falls back on arrival
]


async def _fill(store: Store, mailbox: int) -> None:
    async with store.reading() as session:
        inbox = await store.mail.folders.named(session, mailbox, INBOX)
    await deliver(store, mailbox, MESSAGES[0])  # arrives at the clock's 2026-01-01
    earlier = await store.mail.contents.prepare_blob(mailbox, MESSAGES[1])

    async def append_dated(uow):  # APPEND with an internal date before the first's
        await store.mail.delivery.deliver(uow, inbox.id, earlier, MESSAGES[1],
                                 internal_date=datetime(2025, 12, 1, tzinfo=UTC))

    await store.write(append_dated)
    blob = await store.mail.contents.prepare_blob(mailbox, MESSAGES[2])

    async def late(uow):  # the pipeline's path: deferred to the end of the batch
        store.mail.delivery.deliver_to_folder_later(uow, INBOX, blob, MESSAGES[2])

    await store.write(late)

    async def copy_and_move(uow):
        copies = await store.mail.folders.create(uow, mailbox, "Copies")
        moved = await store.mail.folders.create(uow, mailbox, "Moved")
        await store.mail.moves.copy(uow, inbox.id, [1, 2, 3], copies.id)
        await store.mail.moves.move(uow, copies.id, [2], moved.id)

    await store.write(copy_and_move)


async def _all_keys_equal(store: Store, mailbox: int) -> list[tuple[object, ...]]:
    async with store.write_engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(_COMPARE, {"mailbox": mailbox}))]


async def test_every_new_entry_keeps_its_message_keys_and_sort_reads_them(
        store: Store) -> None:
    mailbox = await make_mailbox(store, "sorter@mss.localhost")
    await _fill(store, mailbox)
    rows = await _all_keys_equal(store, mailbox)
    assert len(rows) == 6  # three delivered, three copied, one of those moved
    assert all(all(bool(v) for v in row[1:]) for row in rows), rows
    async with store.reading() as session:
        inbox = await store.mail.folders.named(session, mailbox, INBOX)
        order = {key: await folder_sort(session, inbox.id, ((key, False),))
                 for key in ("DATE", "ARRIVAL", "FROM", "SUBJECT", "SIZE", "TO", "CC")}
        reverse = await folder_sort(session, inbox.id, (("SIZE", True),))
    # the unreadable Date sorts at its arrival (2026-01-01), before April 5 and 6
    assert order["DATE"] == [3, 2, 1]
    assert order["ARRIVAL"] == [2, 1, 3]  # the internal dates, not the UIDs
    assert order["FROM"] == [2, 3, 1]  # ALICE, BOB, CAROL
    assert order["SUBJECT"] == [3, 1, 2]  # ANALYSE, BILAN, COMPTE RENDU (leaders gone)
    assert order["SIZE"] == [2, 3, 1]
    assert order["TO"] == [3, 2, 1]  # BOB, ECILA, LORAC
    assert order["CC"] == [2, 3, 1]
    assert reverse == [1, 3, 2]


async def test_the_upgrade_gives_existing_entries_their_keys(make_settings, clock) -> None:
    """Entries written before 0020 (here: the keys dropped by its downgrade) take their
    message's keys at the upgrade, and SORT then reads them."""
    settings = make_settings()
    store = await Store.open(settings, clock=clock)
    try:
        mailbox = await make_mailbox(store, "before@mss.localhost")
        await _fill(store, mailbox)
    finally:
        await store.close()
    engine = create_engine(settings.database_url)
    try:
        await _downgrade_and_upgrade(engine)
    finally:
        await engine.dispose()
    store = await Store.open(settings, clock=clock)
    try:
        rows = await _all_keys_equal(store, mailbox)
        assert len(rows) == 6 and all(all(bool(v) for v in row[1:]) for row in rows), rows
        async with store.reading() as session:
            inbox = await store.mail.folders.named(session, mailbox, INBOX)
            assert await folder_sort(session, inbox.id, (("DATE", False),)) == [3, 2, 1]
    finally:
        await store.close()


async def _downgrade_and_upgrade(engine) -> None:
    cfg = schema.alembic_config()

    def run(sync_conn, target: str, down: bool) -> None:
        cfg.attributes["connection"] = sync_conn
        (command.downgrade if down else command.upgrade)(cfg, target)

    async with engine.begin() as conn:
        # Migration 0021 refuses to go back to one audit chain once a node has written
        # a chain of its own (tests/store/test_audit_chain_migration.py): this test is
        # about the sort keys, so the rows the filling wrote leave with their chain.
        await conn.execute(sa.text("DELETE FROM audit_events WHERE chain <> ''"))
        await conn.execute(sa.text("DELETE FROM audit_heads WHERE chain <> ''"))
        await conn.run_sync(run, "0019", True)
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("folder_entries")})
        assert not columns & set(KEYS)
    async with engine.begin() as conn:
        await conn.run_sync(run, "head", False)


async def test_text_keys_sort_in_byte_order_whatever_the_database_locale(
        store: Store) -> None:
    """RFC 5256 §2.1 (i;ascii-casemap): "A B" < "A-B" < "AB" < "AC" by octets, where a
    linguistic collation (PostgreSQL in en_US.UTF-8) would ignore the space and the dash;
    on PostgreSQL the key columns carry collation "C" (schema 0023) so the database's
    locale never decides."""
    mailbox = await make_mailbox(store, "octets@mss.localhost")
    for subject in ("AC", "A-B", "ab", "A B"):
        await deliver(store, mailbox, _message("dan", subject, "Mon, 6 Apr 2026 10:00:00 +0200"))
    async with store.reading() as session:
        inbox = await store.mail.folders.named(session, mailbox, INBOX)
        assert await folder_sort(session, inbox.id, (("SUBJECT", False),)) == [4, 2, 3, 1]
    if store.write_engine.dialect.name == "postgresql":
        async with store.write_engine.connect() as conn:
            collations = set((await conn.execute(sa.text(
                "SELECT table_name || '.' || column_name || ' ' || collation_name"
                " FROM information_schema.columns WHERE column_name IN"
                " ('sort_subject', 'sort_from', 'sort_to', 'sort_cc')"))).scalars())
        assert collations == {f"{table}.{column} C" for table in ("messages", "folder_entries")
                              for column in ("sort_subject", "sort_from", "sort_to", "sort_cc")}
