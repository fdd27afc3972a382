"""Mixes of attachments sent over a real SMTP submission socket (aiosmtplib): each one
files as documents or comes back to the sender as a named, explained refusal."""

from __future__ import annotations

import email
from email import policy

import pytest

from mss.vault.access import VaultService
from mss.vault.mdn_sending import drain_acknowledgements
from mss.vault.spaces import PatientSpace
from tests.smtp.conftest import (  # noqa: F401  (fixtures)
    DOMAIN_A,
    Operator,
    one_hash_per_password,
    operators,
    session_pki,
    stored_messages,
    submit,
)

from . import corpus
from .corpus import AttachmentSpec


@pytest.fixture
async def op(operators, session_pki) -> Operator:  # noqa: F811
    return await operators("a", DOMAIN_A, session_pki.operator_a)


def lettre(ins: str, **overrides: object) -> corpus.EntrySpec:
    return corpus.lettre_de_liaison(
        content=corpus.cda_document("11490-0", "Lettre de liaison à la sortie", ins=ins),
        patient_id=corpus.cx(ins), **overrides)


def biologie(ins: str, **overrides: object) -> corpus.EntrySpec:
    return corpus.cr_biologie(
        content=corpus.cda_document("11502-2", "Compte rendu de biologie", ins=ins),
        patient_id=corpus.cx(ins), **overrides)


async def send(op: Operator, attachments: list[AttachmentSpec], subject: str
               ) -> list[tuple[str, PatientSpace, bool]]:
    """Submit as Dr Alice with a receipt request; the patient's listing after it."""
    world = op.world
    message = corpus.patient_message(attachments, subject=subject, to=world.jeanne,
                                     sender=f"Dr Alice MARTIN <{world.alice}>",
                                     receipt_to=world.alice)
    code, _ = await submit(op, world.alice, world.password, world.alice, [world.jeanne],
                           message.as_bytes())
    assert code == 250
    await drain_acknowledgements()
    listing = await VaultService(op.store).list_documents(world.jeanne_principal)
    return [(d.file_name, d.space, d.pdf_copy_id is not None) for d in listing.documents]


async def acknowledgements(op: Operator) -> list[email.message.EmailMessage]:
    found = []
    for raw in await stored_messages(op, op.world.alice):
        parsed = email.message_from_bytes(raw, policy=policy.default)
        if parsed.get_content_type() == "multipart/report":
            found.append(parsed)
    return found


def disposition_and_text(report: email.message.EmailMessage) -> tuple[str, str]:
    human, notification = report.get_payload()[:2]
    fields = notification.get_payload()[0]
    return str(fields["Disposition"]), human.get_content()


async def test_each_mix_files_every_attachment_or_tells_the_sender(op: Operator) -> None:
    ins = op.world.jeanne_ins
    # 1. two XDM archives, and a PDF the second one's metadata names (DOC0002)
    listed = await send(op, [
        AttachmentSpec("IHE_XDM.zip", corpus.xdm_archive([lettre(ins)]), "application/zip"),
        AttachmentSpec("IHE_XDM.zip", corpus.xdm_archive([biologie(ins)]), "application/zip"),
        AttachmentSpec("DOC0002.pdf", corpus.pdf_bytes("bio"), "application/pdf"),
    ], "XDM/1.0/DDM+Sortie MARTIN Jeanne 01/02/1979")
    assert sorted(listed) == [("DOC0001.XML", PatientSpace.COMPTES_RENDUS, False),
                              ("DOC0002.XML", PatientSpace.BIOLOGIE, True)]
    # 2. XDM + an ordonnance PDF the metadata does not name + an image
    listed = await send(op, [
        AttachmentSpec("IHE_XDM.zip", corpus.xdm_archive([lettre(ins, uri="DOC0003.XML")]),
                       "application/zip"),
        AttachmentSpec("ordonnance-bisoprolol.pdf", corpus.pdf_bytes("bisoprolol"),
                       "application/pdf"),
        AttachmentSpec("radio-genou.jpg", corpus.jpeg_bytes(), "image/jpeg"),
    ], "Sortie d'hospitalisation")
    assert ("ordonnance-bisoprolol.pdf", PatientSpace.TRAITEMENTS_ET_SOINS, False) in listed
    assert ("radio-genou.jpg", PatientSpace.IMAGERIE_MEDICALE, False) in listed
    assert ("DOC0003.XML", PatientSpace.COMPTES_RENDUS, False) in listed
    # 3. a lone CDA (text/xml) and a lone CDA N1 (hl7-v3+xml) with its PDF beside it
    embedded = corpus.pdf_bytes("compte rendu de consultation")
    listed = await send(op, [
        AttachmentSpec("resultats.xml", corpus.cda_document("11502-2", "Hémogramme", ins),
                       "text/xml"),
        AttachmentSpec("CR.xml", corpus.cda_n1_document("11488-4", "CR de consultation",
                                                        embedded, ins),
                       "application/hl7-v3+xml"),
        AttachmentSpec("copie.pdf", embedded, "application/pdf"),
    ], "Vos résultats")
    assert ("resultats.xml", PatientSpace.BIOLOGIE, False) in listed
    assert ("CR.xml", PatientSpace.COMPTES_RENDUS, True) in listed
    assert "copie.pdf" not in [name for name, _, _ in listed]
    # 4. a PDF with no useful name and a subject that says nothing
    listed = await send(op, [AttachmentSpec("scan0001.pdf", corpus.pdf_bytes("s"),
                                            "application/pdf")], "Suivi")
    assert ("scan0001.pdf", PatientSpace.COMPTES_RENDUS, False) in listed
    reports = await acknowledgements(op)
    assert len(reports) == 4
    assert all(disposition_and_text(r)[0].endswith("; processed") for r in reports)


async def test_refusals_come_back_named_and_explained(op: Operator) -> None:
    ins = op.world.jeanne_ins
    listed = await send(op, [
        AttachmentSpec("IHE_XDM.zip", corpus.xdm_archive([lettre(ins, sha1="0" * 40),
                                                          biologie(ins)]), "application/zip"),
        AttachmentSpec("notes.docx", b"PK\x03\x04 word", "application/octet-stream"),
        AttachmentSpec("autre.xml", corpus.cda_document("11502-2", "Biologie",
                                                        corpus.OTHER_PATIENT_INS),
                       "text/xml"),
    ], "Résultats")
    assert [name for name, _, _ in listed] == ["DOC0002.XML"]
    (report,) = await acknowledgements(op)
    disposition, text = disposition_and_text(report)
    assert disposition.endswith(
        "processed/Error: 904^INS non concordant - autre.xml : le document concerne un "
        "autre patient (INS different)")
    assert "- DOC0001.XML : la taille ou l'empreinte SHA-1 diffère" in text
    assert "- notes.docx : " in text
    assert "- autre.xml : le document concerne un autre patient" in text
    assert "SHA-1 differs from metadata" in text
    fields = report.get_payload()[1].get_payload()[0]
    errors = fields.get_all("Error")
    assert len(errors) == 3 and errors[0].startswith("904^")
    assert any(e.startswith("906^Erreur de traitement - DOC0001.XML") for e in errors)
