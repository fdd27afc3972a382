"""A demo world on a real store, and a pipeline to send through it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mss.demo import DemoWorld, seed_world
from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import AcceptResult, Pipeline, Submission
from mss.policy import Channel
from mss.store.mailboxes import INBOX, find_mailbox
from mss.store.store import Store


@dataclass
class Harness:
    store: Store
    pipeline: Pipeline
    world: DemoWorld

    def professional(self, rpps: str, mailbox: str) -> Principal:
        return Principal(PrincipalKind.PROFESSIONAL, rpps, "", mailbox)

    def patient(self, ins: str, mailbox: str) -> Principal:
        return Principal(PrincipalKind.PATIENT, ins, "", mailbox)

    async def send(self, principal: Principal, mail_from: str, to: list[str], *,
                   subject: str = "Suivi", headers: str = "", body: str = "Bonjour.",
                   channel: Channel = Channel.SUBMISSION) -> AcceptResult:
        raw = (f"From: <{mail_from}>\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
               f"{headers}\r\n{body}\r\n").encode()
        return await self.pipeline.accept(
            Submission(mail_from=mail_from, recipients=to, raw=raw, channel=channel,
                       principal=principal)
        )

    async def inbox_subjects(self, address: str, folder: str = INBOX) -> list[str]:
        async with self.store.reading() as session:
            mailbox = await find_mailbox(session, address)
            assert mailbox is not None
            target = await self.store.mail.folders.named(session, mailbox.id, folder)
            return [e.subject for e in await self.store.mail.reads.entries(session, target.id)]


@pytest.fixture
async def harness(store: Store) -> Harness:
    world = await seed_world(store)
    pipeline = Pipeline(store, store.settings)
    await pipeline.ensure_spool_mailbox()
    return Harness(store, pipeline, world)
