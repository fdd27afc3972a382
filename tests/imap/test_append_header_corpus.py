"""APPEND of every message of the header corpus: stored, fetched back byte for byte, its
ENVELOPE and BODYSTRUCTURE readable by imapclient's parser, its INTERNALDATE the arrival
time (RFC 3501 §6.3.11, RFC 5322 §3.3 and §4)."""

from __future__ import annotations

from datetime import UTC

import pytest

from tests.header_corpus import addressed, corpus_messages
from tests.imap.conftest import ImapWorld, imapclient_for, run, unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_corpus_is_appended_and_fetched_back(imap: ImapWorld) -> None:
    world = imap.world
    folder = unique("corpus")
    client = await run(imapclient_for, imap, world.alice)
    await run(client.create_folder, folder)
    sent = [(name, addressed(world.bruno, world.alice, name, rest))
            for name, rest in corpus_messages()]
    for name, raw in sent:
        reply = await run(client.append, folder, raw)
        assert b"[APPENDUID " in reply, name
    client.normalise_times = False  # aware INTERNALDATE values
    await run(client.select_folder, folder)
    fetched = await run(client.fetch, await run(client.search, "ALL"),
                        ["BODY.PEEK[]", "ENVELOPE", "BODYSTRUCTURE", "INTERNALDATE"])
    await run(client.logout)
    assert len(fetched) == len(sent)
    arrival = imap.clock.now().astimezone(UTC).replace(microsecond=0)
    for (name, raw), uid in zip(sent, sorted(fetched), strict=True):
        data = fetched[uid]
        assert data[b"BODY[]"] == raw, name
        envelope = data[b"ENVELOPE"]
        assert envelope.from_[0].mailbox + b"@" + envelope.from_[0].host == \
            world.bruno.encode(), name
        assert data[b"BODYSTRUCTURE"] is not None, name
        assert data[b"INTERNALDATE"].astimezone(UTC) == arrival, name
