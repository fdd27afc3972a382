"""Deposit through the pipeline: corpus messages to the demo patient (DESIGN §6, issue 7)."""

from __future__ import annotations

import hashlib
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select

from mss.identity import Principal, PrincipalKind
from mss.pipeline.message_facts import parse_message
from mss.policy import Correspondent
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.keys import blob_key_for
from mss.store.mailboxes import find_mailbox
from mss.store.unit_of_work import UnitOfWork
from mss.vault import deposit as deposit_module
from mss.vault.deposit import VaultDeposit
from mss.vault.spaces import PatientSpace
from mss.vault.tables import DepositProblemRow, DepositRow, DocumentRow

from . import corpus
from .conftest import VaultHarness, biologie, lettre


async def documents_of(h: VaultHarness, ins: str) -> list[DocumentRow]:
    async with h.store.reading() as session:
        query = select(DocumentRow).where(DocumentRow.patient_ins == ins).order_by(DocumentRow.id)
        return list((await session.execute(query)).scalars().all())


async def deposits_of(h: VaultHarness, ins: str) -> list[DepositRow]:
    async with h.store.reading() as session:
        query = select(DepositRow).where(DepositRow.patient_ins == ins).order_by(DepositRow.id)
        return list((await session.execute(query)).scalars().all())


async def actions_of(h: VaultHarness, ins: str) -> list[tuple[str, str]]:
    async with h.store.reading() as session:
        events = await events_for_subject(session, ins, limit=500)
    return [(e.action, e.outcome) for e in reversed(events)]


async def test_valid_xdm_gives_two_documents_with_provenance_and_a_linked_pdf_copy(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    copy = corpus.pdf_bytes("lettre de liaison")
    message = h.xdm(corpus.xdm_archive([lettre(ins), biologie(ins)]),
                    pdf_copy=("DOC0001.pdf", copy))
    result = await h.send(message)
    assert [r.delivered_to for r in result.results] == [h.world.jeanne]
    rows = await documents_of(h, ins)
    assert [(r.space, r.type_code, r.copy_of_id is None) for r in rows] == [
        (PatientSpace.COMPTES_RENDUS.value, "11490-0", True),
        (PatientSpace.BIOLOGIE.value, "11502-2", True),
        (PatientSpace.COMPTES_RENDUS.value, "11490-0", False),
    ]
    lettre_row, bio_row, copy_row = rows
    assert copy_row.copy_of_id == lettre_row.id
    assert copy_row.content_type == "application/pdf"
    for row in rows:
        assert row.source_message_id == "<corpus-1@hopital.mssante.test>"
        assert row.sender_mailbox == h.world.alice
        assert row.sender_principal == f"professional:{h.world.alice_rpps}"
        assert row.received_at == h.store.clock.now()
    assert (lettre_row.classification_basis, lettre_row.classification_evidence) == (
        "metadata typeCode", "11490-0")
    # the blob is sealed in the patient's mailbox and reads back as the CDA
    async with h.store.reading() as session:
        mailbox = await find_mailbox(session, h.world.jeanne)
    assert mailbox is not None and lettre_row.mailbox_id == mailbox.id
    content = await h.store.mail.contents.read_raw(lettre_row.mailbox_id, lettre_row.blob_key)
    assert content == lettre(ins).content
    assert lettre_row.sha256 == hashlib.sha256(content).hexdigest()
    (deposit,) = await deposits_of(h, ins)
    assert (deposit.status, deposit.documents, deposit.problems) == ("deposited", 2, 0)
    # the patient's list shows two documents, the copy folded into the lettre
    listing = await h.vault.list_documents(h.jeanne)
    assert [d.id for d in listing.documents] == [bio_row.id, lettre_row.id]
    assert listing.counts[PatientSpace.COMPTES_RENDUS] == 1
    assert listing.counts[PatientSpace.BIOLOGIE] == 1
    assert sum(listing.counts.values()) == 2
    by_id = {d.id: d for d in listing.documents}
    assert by_id[lettre_row.id].pdf_copy_id == copy_row.id
    actions = await actions_of(h, ins)
    assert actions.count((AuditAction.DOCUMENT_DEPOSITED.value, "ok")) == 3
    assert (AuditAction.MESSAGE_DELIVERED.value, "ok") in actions


async def test_wrong_sha1_rejects_that_document_and_the_message_is_delivered(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    message = h.xdm(corpus.xdm_archive([lettre(ins, sha1="0" * 40), biologie(ins)]),
                    subject="XDM/1.0/DDM+Résultats")
    result = await h.send(message)
    assert result.results[0].delivered_to == h.world.jeanne
    assert await h.inbox(h.world.jeanne) == ["XDM/1.0/DDM+Résultats"]
    rows = await documents_of(h, ins)
    assert [r.type_code for r in rows] == ["11502-2"]
    (deposit,) = await deposits_of(h, ins)
    assert deposit.status == "partial"
    async with h.store.reading() as session:
        kinds = (await session.execute(
            select(DepositProblemRow.kind).where(DepositProblemRow.deposit_id == deposit.id)
        )).scalars().all()
    assert kinds == ["size or SHA-1 mismatch"]
    actions = await actions_of(h, ins)
    assert (AuditAction.DOCUMENT_REJECTED.value, AuditOutcome.REFUSED.value) in actions
    assert actions.count((AuditAction.DOCUMENT_DEPOSITED.value, "ok")) == 1


async def hostile_outcome(h: VaultHarness, archive: bytes, subject: str) -> None:
    """The pipeline refuses an IHE_XDM.zip it cannot read safely (S2, fail closed); the
    sender is told, the refusal is traced, and the vault's own defence, called directly
    on the same message, deposits nothing and records a rejected deposit."""
    ins = h.world.jeanne_ins
    message = h.xdm(archive, subject=subject)
    result = await h.send(message)
    (recipient,) = result.results
    assert (recipient.accepted, recipient.verdict.code, recipient.verdict.rule) == (
        False, 554, "S2")
    assert subject not in await h.inbox(h.world.jeanne)
    assert (AuditAction.MESSAGE_REFUSED.value, "refused") in await actions_of(h, ins)

    vault = VaultDeposit(h.store)
    parsed = parse_message(message.as_bytes())
    prepared = await vault.prepare(parsed, h.world.jeanne)

    async def job(uow: UnitOfWork) -> None:
        await vault.commit(uow, prepared, parsed, h.world.jeanne, Correspondent(h.world.alice),
                           "<hostile@test>")

    await h.store.write(job)
    assert await documents_of(h, ins) == []
    (deposit,) = await deposits_of(h, ins)
    assert (deposit.status, deposit.documents) == ("rejected", 0)


async def test_path_escape_deposits_nothing(vault_harness: VaultHarness) -> None:
    ins = vault_harness.world.jeanne_ins
    archive = corpus.xdm_archive([lettre(ins)], extra={"../../etc/passwd": b"root:x:0:0\n"})
    await hostile_outcome(vault_harness, archive, "Chemin")


async def test_zip_bomb_deposits_nothing(vault_harness: VaultHarness) -> None:
    await hostile_outcome(vault_harness, corpus.zip_bomb(), "Bombe")


async def test_nested_zip_deposits_nothing(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    inner = corpus.zip_bytes({"IHE_XDM/SUBSET01/METADATA.XML": b"<x/>"})
    nested = corpus.EntrySpec(uri="DOC0003.ZIP", content=inner, mime_type="application/zip",
                              type_code="11488-4", class_code="10", title="Archive imbriquée",
                              patient_id=corpus.cx(ins))
    result = await h.send(h.xdm(corpus.xdm_archive([nested]), subject="Imbriquée"))
    assert result.results[0].delivered_to == h.world.jeanne
    assert await documents_of(h, ins) == []
    (deposit,) = await deposits_of(h, ins)
    assert deposit.status == "rejected"
    async with h.store.reading() as session:
        kinds = (await session.execute(select(DepositProblemRow.kind))).scalars().all()
    assert kinds == ["nested archive"]


async def test_external_entity_deposits_nothing(vault_harness: VaultHarness) -> None:
    await hostile_outcome(vault_harness, corpus.xdm_with_metadata(corpus.XXE_METADATA), "XXE")


async def test_other_patients_ins_is_not_deposited_and_904_goes_to_the_sender(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    archive = corpus.xdm_archive([biologie(h.world.paul_ins)])
    result = await h.send(h.xdm(archive, subject="Biologie", receipt_to=h.world.alice))
    assert result.results[0].delivered_to == h.world.jeanne
    assert await documents_of(h, ins) == []
    assert await documents_of(h, h.world.paul_ins) == []
    (deposit,) = await deposits_of(h, ins)
    assert (deposit.status, deposit.error_code) == ("rejected", 904)
    (raw,) = await h.inbox_raw(h.world.alice)
    mdn = BytesParser(policy=policy.default).parsebytes(raw)
    assert mdn.get_content_type() == "multipart/report"
    assert str(mdn["From"]) == h.world.jeanne
    assert str(mdn["In-Reply-To"]) == "<corpus-1@hopital.mssante.test>"
    fields = raw.decode()
    assert ("Disposition: automatic-action/MDN-sent-automatically; "
            "processed/Error: 904^INS non concordant") in fields


async def test_processed_acknowledgement_when_all_went_well(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    await h.send(h.xdm(corpus.xdm_archive([lettre(ins)]), receipt_to=h.world.alice))
    (raw,) = await h.inbox_raw(h.world.alice)
    text = raw.decode()
    assert "Disposition: automatic-action/MDN-sent-automatically; processed\r\n" in text
    assert f"Final-Recipient: rfc822;{h.world.jeanne}" in text


async def test_ordonnance_pdf_goes_to_traitements_et_soins(vault_harness: VaultHarness) -> None:
    h = vault_harness
    message = h.message([corpus.AttachmentSpec("ordonnance.pdf", corpus.pdf_bytes("rx"),
                                               "application/pdf")], subject="Votre traitement")
    await h.send(message)
    (row,) = await documents_of(h, h.world.jeanne_ins)
    assert (row.space, row.classification_basis, row.classification_evidence) == (
        PatientSpace.TRAITEMENTS_ET_SOINS.value, "file name keyword", "ordonnance")


async def test_jpeg_from_the_noreply_app_mailbox_goes_to_imagerie(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    app = Principal(PrincipalKind.APPLICATION, "Laboratoire de démonstration", "",
                    h.world.noreply)
    message = h.message([corpus.AttachmentSpec("IMG_0001.jpg", corpus.jpeg_bytes(),
                                               "image/jpeg")],
                        subject="Radio du thorax", sender=h.world.noreply)
    result = await h.send(message, principal=app, mail_from=h.world.noreply)
    assert result.results[0].delivered_to == h.world.jeanne
    (row,) = await documents_of(h, h.world.jeanne_ins)
    assert (row.space, row.classification_basis, row.classification_evidence) == (
        PatientSpace.IMAGERIE_MEDICALE.value, "subject keyword", "radio")
    assert row.sender_mailbox == h.world.noreply
    assert row.sender_principal == "application:Laboratoire de démonstration"


async def test_invisible_patient_is_refused_by_the_pipeline(vault_harness: VaultHarness) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    archive = corpus.xdm_archive([lettre(ins, confidentiality_codes=("N", "INVISIBLE_PATIENT"))])
    result = await h.send(h.xdm(archive, subject="Invisible"))
    (recipient,) = result.results
    assert (recipient.accepted, recipient.verdict.rule) == (False, "S3")
    assert await documents_of(h, ins) == []
    assert await h.inbox(h.world.jeanne) == []


async def test_masque_ps_is_stored_but_marked_hidden_from_professionals(
    vault_harness: VaultHarness,
) -> None:
    h = vault_harness
    ins = h.world.jeanne_ins
    archive = corpus.xdm_archive([lettre(ins, confidentiality_codes=("N", "MASQUE_PS")),
                                  biologie(ins)])
    await h.send(h.xdm(archive))
    rows = await documents_of(h, ins)
    assert [(r.type_code, r.hidden_from_professionals) for r in rows] == [
        ("11490-0", True), ("11502-2", False)]
    assert rows[0].confidentiality_codes == "N MASQUE_PS"


async def test_a_failure_inside_the_deposit_never_loses_the_message(
    vault_harness: VaultHarness,
) -> None:
    """A real fault: the folder where the document blob must go is a file."""
    h = vault_harness
    ins = h.world.jeanne_ins
    message = h.xdm(corpus.xdm_archive([lettre(ins)]), subject="Panne",
                    receipt_to=h.world.alice)
    raw = message.as_bytes()
    async with h.store.reading() as session:
        mailbox = await find_mailbox(session, h.world.jeanne)
    assert mailbox is not None
    key = await h.store.mail.contents.data_key(mailbox.id)
    document_key = blob_key_for(key, hashlib.sha256(lettre(ins).content).hexdigest())
    message_key = blob_key_for(key, hashlib.sha256(raw).hexdigest())
    shard = h.store.blobs.path_for(mailbox.id, document_key).parent
    assert shard != h.store.blobs.path_for(mailbox.id, message_key).parent  # 255/256
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_bytes(b"in the way")
    result = await h.send(message)
    assert result.results[0].delivered_to == h.world.jeanne
    assert await h.inbox(h.world.jeanne) == ["Panne"]
    assert await documents_of(h, ins) == []
    (deposit,) = await deposits_of(h, ins)
    assert (deposit.status, deposit.error_code) == ("failed", 906)
    assert deposit.reason == "FileExistsError"
    assert (AuditAction.DOCUMENT_REJECTED.value, AuditOutcome.ERROR.value) in (
        await actions_of(h, ins))
    (mdn,) = await h.inbox_raw(h.world.alice)
    assert b"processed/Error: 906^Erreur de traitement" in mdn
    async with h.store.reading() as session:
        from mss.store.audit_verify import verify_chain
        assert await verify_chain(session, h.store.audit_seal) == []


async def test_an_extraction_that_raises_still_delivers_the_message(
    vault_harness: VaultHarness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the pure extraction (simulated: it raises) is contained by the hook."""
    h = vault_harness

    def broken(*_: object) -> None:
        raise RuntimeError("extraction bug")

    monkeypatch.setattr(deposit_module, "extract_documents", broken)
    result = await h.send(h.xdm(corpus.valid_xdm(), subject="Bug"))
    assert result.results[0].delivered_to == h.world.jeanne
    assert await h.inbox(h.world.jeanne) == ["Bug"]
    (deposit,) = await deposits_of(h, h.world.jeanne_ins)
    assert (deposit.status, deposit.reason) == ("failed", "RuntimeError")
