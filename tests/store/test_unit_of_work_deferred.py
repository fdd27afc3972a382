"""Deferred writes of the group commit: late deliveries (the pipeline's) in one batch.

A late delivery runs after every job of its batch, in the same transaction, and on
SQLite all of a batch's in one hop to the database thread (issue #5). These tests hold
what a caller relies on: UIDs, rows and change events as `deliver_to_folder` gives them,
and a failure that is its own job's only.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from mss.identity import SYSTEM
from mss.store.audit_actions import AuditAction
from mss.store.audit_verify import verify_chain
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX
from mss.store.tables import AuditEvent
from mss.store.unit_of_work import UnitOfWork
from tests.store.conftest import make_mailbox, sample_message


async def _late(store, mailbox: int, n: int, folder: str = INBOX) -> int:
    raw = sample_message(n)
    blob = await store.mail.contents.prepare_blob(mailbox, raw)

    async def job(uow: UnitOfWork) -> int:
        store.mail.delivery.deliver_to_folder_later(uow, folder, blob, raw, flags=("\\Seen",))
        uow.audit(AuditAction.MESSAGE_DELIVERED, SYSTEM, target=f"m{n}")
        return n

    return await store.write(job)


async def test_late_deliveries_of_a_batch_get_increasing_uids_rows_and_events(
    store, mailbox
) -> None:
    async with store.bus.subscribe(mailbox) as events:
        done = await asyncio.gather(*(_late(store, mailbox, n) for n in range(40)))
        assert done == list(range(40))
        seen = [events.get_nowait() for _ in range(40)]
    async with store.reading() as session:
        folder = await store.mail.folders.named(session, mailbox, INBOX)
        entries = await store.mail.reads.entries(session, folder.id)
    assert [e.uid for e in entries] == list(range(1, 41))
    assert sorted(e.uid for e in seen) == list(range(1, 41))
    assert all(e.kind == "exists" and e.folder_id == folder.id for e in seen)
    assert folder.uidnext == 41
    assert {e.subject for e in entries} == {f"Compte rendu {n}" for n in range(40)}
    assert all(e.flags == frozenset({"\\Seen"}) for e in entries)
    back = await store.mail.contents.read_raw(mailbox, entries[0].blob_key)
    assert back.startswith(b"From: Dr Alice Martin")


async def test_a_failing_late_delivery_fails_its_job_alone(store, mailbox) -> None:
    """No such folder: that caller gets MailStoreError and none of its rows (nor its
    audit event); the batch's other callers commit."""
    other = await make_mailbox(store, "carol@mss.localhost")
    results = await asyncio.gather(
        *(_late(store, mailbox, n) for n in range(10)),
        _late(store, other, 99, folder="Nowhere"),
        *(_late(store, other, n) for n in range(10, 20)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], MailStoreError) and failures[0].code == "NONEXISTENT"
    async with store.reading() as session:
        ours = await store.mail.reads.entries(session, (await store.mail.folders.named(
            session, mailbox, INBOX)).id)
        theirs = await store.mail.reads.entries(session, (await store.mail.folders.named(
            session, other, INBOX)).id)
    assert [e.uid for e in ours] == list(range(1, 11))
    assert [e.uid for e in theirs] == list(range(1, 11))
    async with store.reading() as session:
        assert await verify_chain(session, store.audit_seal) == []
        targets = (await session.execute(
            select(AuditEvent.target)
            .where(AuditEvent.action == AuditAction.MESSAGE_DELIVERED.value)
        )).scalars().all()
    assert "m99" not in targets and len(targets) == 20


@pytest.mark.parametrize("count", [1, 3])
async def test_late_and_immediate_deliveries_share_one_folder(store, mailbox, count) -> None:
    """A job's immediate delivery (IMAP APPEND) and the batch's late ones: distinct UIDs."""
    raw = sample_message(500)
    blob = await store.mail.contents.prepare_blob(mailbox, raw)

    async def immediate(uow: UnitOfWork) -> int:
        async with asyncio.timeout(10):
            done = await store.mail.delivery.deliver_to_folder(uow, INBOX, blob, raw)
        return done.uid

    results = await asyncio.gather(
        *(_late(store, mailbox, n) for n in range(count)),
        store.write(immediate),
        *(_late(store, mailbox, n) for n in range(count, 2 * count)),
    )
    async with store.reading() as session:
        folder = await store.mail.folders.named(session, mailbox, INBOX)
        entries = await store.mail.reads.entries(session, folder.id)
    assert sorted(e.uid for e in entries) == list(range(1, 2 * count + 2))
    assert results[count] in {e.uid for e in entries}
