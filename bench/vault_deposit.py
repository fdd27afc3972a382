"""Vault figures: deposits/s through the pipeline, and listing 5,000 documents by space.

    python bench/vault_deposit.py [--pg postgresql+asyncpg://postgres@127.0.0.1/postgres]
        [--count 200]

1. A professional sends the conventional message (IHE_XDM.zip of ~200 KB holding two
   CDA documents, a lettre de liaison 11490-0 and a CR de biologie 11502-2) to a patient
   through `Pipeline.accept`, with the vault hook: parse, policy, message blob, delivery,
   extraction, two document blobs, rows and audit in one commit. 1 and 16 senders.
2. The patient's record then holds 5,000 documents over the nine spaces: time for
   `VaultService.list_documents` (counts per space + list) for the patient, for one space,
   and for a professional in care (hidden-document filter), median of 20 runs.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from bench.bench_support import create_pg_db, drop_pg_db, temporary_store
from mss.demo import DemoWorld, seed_world
from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import Pipeline, Submission
from mss.pipeline.system_mail import attach_vault
from mss.policy import Channel
from mss.store.mailboxes import find_mailbox
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from mss.vault.access import VaultService
from mss.vault.spaces import PatientSpace
from mss.vault.tables import DocumentRow
from tests.vault import corpus

CDA_PADDING = 132 * 1024  # base64 text of random bytes: two CDAs make a ~200 KB archive


def padded_cda(code: str, title: str, ins: str, n: int) -> bytes:
    base = corpus.cda_document(code, title, ins=ins)
    filler = base64.b64encode(os.urandom(CDA_PADDING * 3 // 4))[:CDA_PADDING]
    body = b"<component><structuredBody><component><section><text>" + filler + \
        f" {n}".encode() + b"</text></section></component></structuredBody></component>"
    return base.replace(b"<component><structuredBody/></component>", body)


def xdm_message(world: DemoWorld, n: int) -> bytes:
    ins = world.jeanne_ins
    lettre = corpus.lettre_de_liaison(
        content=padded_cda("11490-0", "Lettre de liaison", ins, n), patient_id=corpus.cx(ins))
    bio = corpus.cr_biologie(
        content=padded_cda("11502-2", "Compte rendu de biologie", ins, n),
        patient_id=corpus.cx(ins))
    archive = corpus.xdm_archive([lettre, bio])
    message = corpus.xdm_message(archive, to=world.jeanne, sender=world.alice)
    del message["Message-ID"]
    message["Message-ID"] = f"<bench-{n}@mss.localhost>"
    return message.as_bytes()


def archive_size(raw: bytes) -> int:
    parsed = corpus.parse_message(raw)
    for part in parsed.iter_attachments():
        if part.get_filename() == "IHE_XDM.zip":
            return len(part.get_payload(decode=True))
    return 0


async def deposits(store: Store, world: DemoWorld, pipeline: Pipeline, count: int,
                   senders: int) -> tuple[float, float, float, int]:
    alice = world.alice_principal
    messages = [xdm_message(world, n) for n in range(count)]
    size = archive_size(messages[0])
    latencies: list[float] = []
    per_sender = count // senders

    async def sender(s: int) -> None:
        for raw in messages[s * per_sender:(s + 1) * per_sender]:
            start = time.perf_counter()
            result = await pipeline.accept(Submission(
                mail_from=world.alice, recipients=[world.jeanne], raw=raw,
                channel=Channel.SUBMISSION, principal=alice, save_to_sent=False))
            assert result.results[0].delivered_to == world.jeanne
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(sender(s) for s in range(senders)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000, size


async def fill_record(store: Store, world: DemoWorld, total: int) -> None:
    """Top the patient's record up to `total` documents spread over the nine spaces."""
    async with store.reading() as session:
        mailbox = await find_mailbox(session, world.jeanne)
    assert mailbox is not None
    spaces = list(PatientSpace)
    now = store.clock.now()

    async def job(uow: UnitOfWork) -> None:
        rows = [dict(patient_ins=world.jeanne_ins, space=spaces[i % len(spaces)].value,
                     file_name=f"DOC{i:05d}.XML", content_type="text/xml", size=1000,
                     sha256="0" * 64, mailbox_id=mailbox.id, blob_key="0" * 64,
                     title=f"Document {i}", type_code=None, class_code=None,
                     confidentiality_codes="N", hidden_from_professionals=i % 50 == 0,
                     classification_basis="default space", classification_evidence="",
                     origin="xdm", received_at=now, source_message_id=f"<fill-{i}@b>",
                     sender_mailbox=world.alice, sender_principal="bench",
                     uploaded_by_patient=False, deleted=False) for i in range(total)]
        await uow.session.execute(insert(DocumentRow), rows)

    await store.write(job)


async def timed(runs: int, call) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def run_engine(url: str | None, count: int) -> None:
    async with temporary_store(url) as store:
        world = await seed_world(store)
        pipeline = Pipeline(store, store.settings)
        attach_vault(pipeline)
        await pipeline.ensure_spool_mailbox()
        engine = "postgresql" if url else "sqlite"
        for senders in (1, 16):
            rate, p50, p99, size = await deposits(store, world, pipeline, count, senders)
            len_raw = len(xdm_message(world, 0))
            print(f"{engine:<11} deposit {size // 1024:>4} KB XDM "
                  f"({len_raw // 1024} KB message), {senders:>2} senders: "
                  f"{rate:7.1f} msg/s ({2 * rate:7.1f} documents/s)  "
                  f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms", flush=True)
        vault = VaultService(store)
        async with store.reading() as session:
            have = (await session.execute(
                select(func.count()).select_from(DocumentRow))).scalar_one()
        await fill_record(store, world, 5000 - have)
        jeanne = Principal(PrincipalKind.PATIENT, world.jeanne_ins, "", world.jeanne)
        alice = world.alice_principal
        listing = await vault.list_documents(jeanne)
        print(f"{engine:<11} record: {sum(listing.counts.values())} documents listed "
              f"({have} deposited above, PDF copies none)", flush=True)
        for label, call in (
            ("patient, all spaces", lambda: vault.list_documents(jeanne)),
            ("patient, one space", lambda: vault.list_documents(
                jeanne, space=PatientSpace.BIOLOGIE)),
            ("professional in care", lambda: vault.list_documents(
                alice, world.jeanne_ins)),
        ):
            ms = await timed(20, call)
            print(f"{engine:<11} list 5,000 documents by space, {label:<21}: "
                  f"{ms:7.1f} ms (median of 20, audit row included)", flush=True)






async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="", help="PostgreSQL admin URL (also benchmark PG)")
    parser.add_argument("--count", type=int, default=200, help="messages per case")
    args = parser.parse_args()
    await run_engine(None, args.count)
    if args.pg:
        name, url = await create_pg_db(args.pg)
        try:
            await run_engine(url, args.count)
        finally:
            await drop_pg_db(args.pg, name)


if __name__ == "__main__":
    asyncio.run(main())
