"""Two nodes writing the same folders at once (issue 24 §1): each INBOX and Sent row is
locked only at the end of a batch, in folder id order, so crossing traffic (Alice →
Bruno and Bruno → Alice, each also filing in the sender's Sent) never deadlocks, and
every folder's UIDs and MODSEQs stay unique and increasing."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mss.demo import seed_world
from mss.pipeline.accept import Pipeline, Submission
from mss.policy import Channel
from mss.store.audit_verify import verify_chain
from mss.store.mail_errors import MailStoreError
from mss.store.mailboxes import INBOX, find_mailbox
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL")
EACH_WAY = 200
SENT = "Sent"


async def test_crossing_traffic_on_two_nodes_gives_increasing_uids_in_four_hot_folders(
    make_settings,
) -> None:
    settings = make_settings()
    node_a, node_b = await Store.open(settings), await Store.open(settings)
    node_a.node_id, node_b.node_id = "node-a", "node-b"
    try:
        world = await seed_world(node_a)
        pipelines = [Pipeline(node_a, settings), Pipeline(node_b, settings)]
        people = [(world.alice, world.alice_principal, world.bruno),
                  (world.bruno, world.bruno_principal, world.alice)]
        limit = asyncio.Semaphore(24)

        async def send(i: int) -> None:
            sender, principal, recipient = people[i % 2]
            raw = (f"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: n{i}\r\n"
                   f"Message-ID: <{uuid.uuid4()}@t>\r\n\r\nbody {i}\r\n").encode()
            async with limit:
                result = await pipelines[(i // 2) % 2].accept(Submission(
                    mail_from=sender, recipients=[recipient], raw=raw,
                    channel=Channel.SUBMISSION, principal=principal, save_to_sent=True))
            assert result.results[0].accepted

        await asyncio.gather(*(send(i) for i in range(2 * EACH_WAY)))
        async with node_b.reading() as session:
            assert await verify_chain(session, node_b.audit_seal) == []
            for address in (world.alice, world.bruno):
                mailbox = await find_mailbox(session, address)
                assert mailbox is not None
                for name in (INBOX, SENT):
                    folder = await node_b.mail.folders.named(session, mailbox.id, name)
                    entries = await node_b.mail.reads.entries(session, folder.id)
                    uids = [e.uid for e in entries]
                    modseqs = [e.modseq for e in entries]
                    assert len(uids) == EACH_WAY == len(set(uids)) == len(set(modseqs))
                    assert uids == list(range(1, EACH_WAY + 1)) == sorted(uids)
                    assert modseqs == sorted(modseqs)
                    assert folder.uidnext == EACH_WAY + 1
                    assert folder.highestmodseq == max(modseqs)
    finally:
        await node_a.close()
        await node_b.close()


async def test_a_delivery_to_a_missing_folder_fails_alone_in_its_batch(make_settings) -> None:
    """The deliveries of a batch are written together: the one whose folder does not
    exist gets its error, the others commit with their UIDs."""
    settings = make_settings()
    store = await Store.open(settings)
    try:
        world = await seed_world(store)
        mailbox_id = await store.mail.mailboxes.id_of(world.bruno)
        assert mailbox_id is not None
        raws = [f"Subject: m{i}\r\n\r\nbody\r\n".encode() for i in range(8)]
        blobs = [await store.mail.contents.prepare_blob(mailbox_id, raw, inline=True)
                 for raw in raws]

        def job_for(i: int):  # type: ignore[no-untyped-def]
            async def job(uow: UnitOfWork) -> None:
                store.mail.delivery.deliver_to_folder_later(uow, "Nowhere" if i == 3 else INBOX,
                                                   blobs[i], raws[i])
            return job

        # submitted together: one batch (the writer runs once they are all queued)
        outcomes = await asyncio.gather(*(store.write(job_for(i)) for i in range(8)),
                                        return_exceptions=True)
        assert [type(o) for o in outcomes] == [type(None)] * 3 + [MailStoreError] + \
            [type(None)] * 4
        async with store.reading() as session:
            inbox = await store.mail.folders.named(session, mailbox_id, INBOX)
            entries = await store.mail.reads.entries(session, inbox.id)
        assert [e.uid for e in entries] == list(range(1, 8))
        assert sorted(e.subject for e in entries) == sorted(f"m{i}" for i in range(8) if i != 3)
    finally:
        await store.close()
