"""A demo world, a pipeline with the vault hook, and messages of the corpus addressed to
the demo patients (the corpus uses its own synthetic INS; these rebuild for Jeanne's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from mss.demo import DemoWorld, seed_world
from mss.identity import Principal
from mss.pipeline.accept import AcceptResult, Pipeline, Submission
from mss.pipeline.system_mail import attach_vault
from mss.policy import Channel
from mss.store.mailboxes import INBOX, find_mailbox
from mss.store.store import Store
from mss.vault.access import VaultService
from mss.vault.mdn_sending import drain_acknowledgements

from . import corpus
from .corpus import EntrySpec


def lettre(ins: str, **overrides: object) -> EntrySpec:
    return corpus.lettre_de_liaison(
        content=corpus.cda_document("11490-0", "Lettre de liaison à la sortie", ins=ins),
        patient_id=corpus.cx(ins), **overrides,
    )


def biologie(ins: str, **overrides: object) -> EntrySpec:
    return corpus.cr_biologie(
        content=corpus.cda_document("11502-2", "Compte rendu de biologie", ins=ins),
        patient_id=corpus.cx(ins), **overrides,
    )


@dataclass
class VaultHarness:
    store: Store
    pipeline: Pipeline
    world: DemoWorld
    vault: VaultService

    @property
    def alice(self) -> Principal:
        return self.world.alice_principal

    @property
    def bruno(self) -> Principal:
        return self.world.bruno_principal

    @property
    def jeanne(self) -> Principal:
        return self.world.jeanne_principal

    @property
    def paul(self) -> Principal:
        return self.world.paul_principal

    def message(self, attachments: list[corpus.AttachmentSpec], *, sender: str | None = None,
                to: str | None = None, **kwargs: object) -> EmailMessage:
        return corpus.patient_message(
            attachments, sender=sender or f"Dr Alice MARTIN <{self.world.alice}>",
            to=to or self.world.jeanne, **kwargs,  # type: ignore[arg-type]
        )

    def xdm(self, archive: bytes, *, pdf_copy: tuple[str, bytes] | None = None,
            **kwargs: object) -> EmailMessage:
        attachments = [corpus.AttachmentSpec("IHE_XDM.zip", archive, "application/zip")]
        if pdf_copy is not None:
            attachments.append(corpus.AttachmentSpec(pdf_copy[0], pdf_copy[1], "application/pdf"))
        return self.message(attachments, **kwargs)

    async def send(self, message: EmailMessage, *, principal: Principal | None = None,
                   mail_from: str | None = None, to: str | None = None) -> AcceptResult:
        sender = mail_from or self.world.alice
        result = await self.pipeline.accept(Submission(
            mail_from=sender, recipients=[to or self.world.jeanne],
            raw=message.as_bytes(), channel=Channel.SUBMISSION,
            principal=principal or self.alice,
        ))
        await drain_acknowledgements()
        return result

    async def inbox(self, address: str) -> list[str]:
        async with self.store.reading() as session:
            mailbox = await find_mailbox(session, address)
            assert mailbox is not None
            folder = await self.store.mail.folders.named(session, mailbox.id, INBOX)
            return [e.subject for e in await self.store.mail.reads.entries(session, folder.id)]

    async def inbox_raw(self, address: str) -> list[bytes]:
        async with self.store.reading() as session:
            mailbox = await find_mailbox(session, address)
            assert mailbox is not None
            folder = await self.store.mail.folders.named(session, mailbox.id, INBOX)
            entries = await self.store.mail.reads.entries(session, folder.id)
        return [await self.store.mail.contents.read_raw(e.mailbox_id, e.blob_key) for e in entries]


@pytest.fixture
async def vault_harness(store: Store) -> AsyncIterator[VaultHarness]:
    world = await seed_world(store)
    pipeline = Pipeline(store, store.settings)
    attach_vault(pipeline)
    await pipeline.ensure_spool_mailbox()
    yield VaultHarness(store, pipeline, world, VaultService(store))
    await drain_acknowledgements()
