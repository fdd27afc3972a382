"""Two nodes on one PostgreSQL: one folder, UIDs from both, no duplicates, no gaps reused."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mss.demo import seed_world
from mss.pipeline.accept import Pipeline, Submission
from mss.policy import Channel
from mss.store.audit_verify import verify_chain
from mss.store.mailboxes import INBOX, find_mailbox
from mss.store.store import Store
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL")
MESSAGES = 1000


async def test_thousand_messages_through_two_nodes_get_distinct_increasing_uids(
    make_settings,
) -> None:
    settings = make_settings()
    node_a, node_b = await Store.open(settings), await Store.open(settings)
    node_a.node_id, node_b.node_id = "node-a", "node-b"
    try:
        world = await seed_world(node_a)
        pipelines = [Pipeline(node_a, settings), Pipeline(node_b, settings)]
        alice = world.alice_principal
        limit = asyncio.Semaphore(64)

        async def send(i: int) -> int:
            raw = (f"From: <{world.alice}>\r\nTo: <{world.bruno}>\r\nSubject: n{i}\r\n"
                   f"Message-ID: <{uuid.uuid4()}@t>\r\n\r\nbody {i}\r\n").encode()
            async with limit:
                result = await pipelines[i % 2].accept(Submission(
                    mail_from=world.alice, recipients=[world.bruno], raw=raw,
                    channel=Channel.SUBMISSION, principal=alice, save_to_sent=False))
            assert result.results[0].accepted
            return i

        await asyncio.gather(*(send(i) for i in range(MESSAGES)))
        async with node_b.reading() as session:
            mailbox = await find_mailbox(session, world.bruno)
            assert mailbox is not None
            inbox = await node_b.mail.folders.named(session, mailbox.id, INBOX)
            entries = await node_b.mail.reads.entries(session, inbox.id)
            assert await verify_chain(session, node_b.audit_seal) == []
        uids = [e.uid for e in entries]
        assert len(uids) == MESSAGES == len(set(uids))
        assert uids == sorted(uids) and uids[-1] < inbox.uidnext
        assert sorted({e.subject for e in entries}) == sorted(f"n{i}" for i in range(MESSAGES))
        modseqs = [e.modseq for e in entries]
        assert len(set(modseqs)) == MESSAGES
    finally:
        await node_a.close()
        await node_b.close()
