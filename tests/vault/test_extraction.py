"""extract_documents: from a patient message to a DepositPlan (DESIGN §6, mssante-facts)."""

from __future__ import annotations

import hashlib

from mss.vault.classification import ClassificationBasis
from mss.vault.documents import DocumentOrigin, ProblemKind
from mss.vault.errors import ProcessingErrorCode
from mss.vault.extraction import extract_documents
from mss.vault.limits import ExtractionLimits
from mss.vault.patient_id import INS_NIR_OID
from mss.vault.spaces import PatientSpace

from . import corpus
from .corpus import AttachmentSpec


def test_valid_xdm_deposits_both_cda_documents_with_their_metadata() -> None:
    archive = corpus.valid_xdm()
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS)
    assert plan.problems == ()
    assert plan.processing_error is None
    lettre, biologie = plan.documents
    assert (lettre.space, lettre.reason) == (
        PatientSpace.COMPTES_RENDUS, "metadata typeCode 11490-0"
    )
    assert (biologie.space, biologie.reason) == (
        PatientSpace.BIOLOGIE, "metadata typeCode 11502-2"
    )
    expected = corpus.lettre_de_liaison().content
    assert lettre.content == expected
    assert lettre.sha256 == hashlib.sha256(expected).hexdigest()
    assert (lettre.type_code, lettre.class_code) == ("11490-0", "10")
    assert lettre.title == "Lettre de liaison à la sortie"
    assert lettre.author == "Jean DUPONT"
    assert lettre.created_at is not None and lettre.created_at.isoformat() == (
        "2024-01-15T09:30:00+00:00"
    )
    assert lettre.patient_id == corpus.PATIENT_INS
    assert lettre.content_type == "text/xml"
    assert lettre.origin is DocumentOrigin.XDM
    assert lettre.archive_path == "IHE_XDM/SUBSET01/DOC0001.XML"


def test_pdf_copy_with_the_same_stem_is_linked_not_duplicated() -> None:
    message = corpus.xdm_message(corpus.valid_xdm(),
                                 pdf_copy=("DOC0002.pdf", corpus.pdf_bytes("bio")))
    plan = extract_documents(message, corpus.PATIENT_INS)
    lettre, biologie, copy = plan.documents
    assert copy.copy_of == biologie.sha256
    assert copy.space is PatientSpace.BIOLOGIE
    assert copy.classification.basis is ClassificationBasis.PDF_COPY
    assert plan.listed_documents == (lettre, biologie)


def test_pdf_copy_named_after_the_title_is_linked() -> None:
    message = corpus.xdm_message(
        corpus.valid_xdm(), pdf_copy=("Compte rendu de biologie.pdf", corpus.pdf_bytes())
    )
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert plan.documents[2].copy_of == plan.documents[1].sha256


def test_a_lone_pdf_beside_an_xdm_that_does_not_name_it_is_its_own_document() -> None:
    message = corpus.xdm_message(corpus.valid_xdm(),
                                 pdf_copy=("ordonnance-bisoprolol.pdf", corpus.pdf_bytes()))
    plan = extract_documents(message, corpus.PATIENT_INS)
    ordonnance = plan.documents[2]
    assert ordonnance.copy_of is None
    assert ordonnance.space is PatientSpace.TRAITEMENTS_ET_SOINS
    assert len(plan.listed_documents) == 3 and plan.problems == ()


def test_two_unmatched_pdfs_beside_an_xdm_stay_documents_of_their_own() -> None:
    message = corpus.patient_message([
        AttachmentSpec("IHE_XDM.zip", corpus.valid_xdm(), "application/zip"),
        AttachmentSpec("ordonnance.pdf", corpus.pdf_bytes("a"), "application/pdf"),
        AttachmentSpec("certificat.pdf", corpus.pdf_bytes("b"), "application/pdf"),
    ])
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert [d.copy_of for d in plan.documents[2:]] == [None, None]
    assert [d.space for d in plan.documents[2:]] == [
        PatientSpace.TRAITEMENTS_ET_SOINS, PatientSpace.CERTIFICATS
    ]


def test_wrong_sha1_rejects_that_document_only() -> None:
    plan = extract_documents(corpus.xdm_message(corpus.xdm_with_wrong_sha1()), corpus.PATIENT_INS)
    assert [d.file_name for d in plan.documents] == ["DOC0002.XML"]
    (problem,) = plan.problems
    assert (problem.file_name, problem.kind) == ("DOC0001.XML", ProblemKind.INTEGRITY)
    assert "SHA-1" in problem.reason
    assert plan.processing_error is ProcessingErrorCode.OTHER


def test_wrong_size_rejects_that_document() -> None:
    archive = corpus.xdm_archive([corpus.lettre_de_liaison(size=3), corpus.cr_biologie()])
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS)
    assert [p.reason for p in plan.problems] == ["size differs from metadata"]
    assert len(plan.documents) == 1


def test_patient_id_of_another_patient_is_904_and_not_deposited() -> None:
    message = corpus.xdm_message(corpus.xdm_for_other_patient())
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert [d.file_name for d in plan.documents] == ["DOC0001.XML"]
    assert [p.kind for p in plan.problems] == [ProblemKind.INS_MISMATCH]
    assert plan.processing_error is ProcessingErrorCode.INS_MISMATCH


def test_cda_record_target_of_another_patient_is_also_904() -> None:
    spec = corpus.lettre_de_liaison(
        content=corpus.cda_document("11490-0", "Lettre", ins=corpus.OTHER_PATIENT_INS)
    )
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert plan.documents == ()
    assert plan.processing_error is ProcessingErrorCode.INS_MISMATCH


def test_missing_ins_is_903() -> None:
    spec = corpus.pdf_entry(type_code="11488-4", patient_id=None)
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert plan.documents == ()
    assert plan.processing_error is ProcessingErrorCode.INS_MISSING


def test_patient_id_outside_the_ins_oids_is_903() -> None:
    spec = corpus.pdf_entry(patient_id=corpus.cx("IPP123", "1.2.250.1.999.2"))
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert plan.processing_error is ProcessingErrorCode.INS_MISSING


def test_ins_with_a_wrong_key_is_905() -> None:
    spec = corpus.pdf_entry(patient_id=corpus.cx("279035121518900"))
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert plan.processing_error is ProcessingErrorCode.INS_INCOMPLETE


def test_904_outranks_other_errors_in_the_acknowledgement() -> None:
    archive = corpus.xdm_archive([
        corpus.lettre_de_liaison(sha1="0" * 40),
        corpus.cr_biologie(patient_id=corpus.cx(corpus.OTHER_PATIENT_INS)),
    ])
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS)
    assert plan.processing_error is ProcessingErrorCode.INS_MISMATCH


def test_pdf_copy_of_a_refused_document_is_refused_too() -> None:
    message = corpus.xdm_message(corpus.xdm_for_other_patient(),
                                 pdf_copy=("DOC0002.pdf", corpus.pdf_bytes()))
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert [d.file_name for d in plan.documents] == ["DOC0001.XML"]
    assert sorted(p.file_name for p in plan.problems) == ["DOC0002.XML", "DOC0002.pdf"]
    assert {p.kind for p in plan.problems} == {ProblemKind.INS_MISMATCH}


def test_hostile_archives_become_problems_and_deposit_nothing() -> None:
    hostile = {
        "path escape": corpus.xdm_with_path_escape(),
        "zip bomb": corpus.zip_bomb(),
        "symlink": corpus.xdm_with_symlink(),
        "XXE": corpus.xdm_with_metadata(corpus.XXE_METADATA),
        "billion laughs": corpus.xdm_with_metadata(corpus.BILLION_LAUGHS_METADATA),
    }
    for label, archive in hostile.items():
        message = corpus.xdm_message(archive, pdf_copy=("copie.pdf", corpus.pdf_bytes()))
        plan = extract_documents(message, corpus.PATIENT_INS)
        # nothing of the archive; the PDF beside it, named by no metadata, is its own
        assert [(d.file_name, d.copy_of) for d in plan.documents] == [("copie.pdf", None)]
        assert ProblemKind.UNREADABLE_ARCHIVE in {p.kind for p in plan.problems}, label
        assert plan.processing_error is ProcessingErrorCode.OTHER, label


def test_nested_zip_is_not_opened_and_the_other_document_goes_on() -> None:
    plan = extract_documents(corpus.xdm_message(corpus.xdm_with_nested_zip()), corpus.PATIENT_INS)
    assert [d.file_name for d in plan.documents] == ["DOC0001.XML"]
    assert [p.kind for p in plan.problems] == [ProblemKind.NESTED_ARCHIVE]


def test_archive_without_metadata_is_a_problem() -> None:
    archive = corpus.zip_bytes({"README.TXT": b"x"})
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS)
    assert [p.kind for p in plan.problems] == [ProblemKind.MISSING_METADATA]


def test_uri_naming_a_missing_file_is_a_problem() -> None:
    spec = corpus.lettre_de_liaison()
    archive = corpus.xdm_archive([], metadata=corpus.metadata_xml([spec]))
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS)
    assert [p.kind for p in plan.problems] == [ProblemKind.MISSING_FILE]


def test_uri_escaping_the_subset_is_refused() -> None:
    spec = corpus.lettre_de_liaison(uri="../../README.TXT", content=b"Archive XDM de test MSS\r\n")
    archive = corpus.xdm_archive([], metadata=corpus.metadata_xml([spec]))
    plan = extract_documents(corpus.xdm_message(archive), corpus.PATIENT_INS)
    assert [p.kind for p in plan.problems] == [ProblemKind.UNSAFE_DOCUMENT]


def test_cda_with_a_dtd_is_refused_as_unsafe() -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    spec = corpus.lettre_de_liaison(content=hostile)
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert [p.kind for p in plan.problems] == [ProblemKind.UNSAFE_DOCUMENT]


def test_thin_metadata_is_completed_by_the_cda_code_and_title() -> None:
    spec = corpus.cr_biologie(type_code=None, class_code="10", title=None)
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    (document,) = plan.documents
    assert (document.space, document.reason) == (PatientSpace.BIOLOGIE, "CDA code 11502-2")
    assert document.title == "Compte rendu de biologie"
    assert document.type_code == "11502-2"


def test_class_code_used_when_no_type_code_anywhere() -> None:
    spec = corpus.pdf_entry(class_code="52", title="Certificat")
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert plan.documents[0].reason == "metadata classCode 52"
    assert plan.documents[0].space is PatientSpace.CERTIFICATS


def test_plain_pdf_named_ordonnance_goes_to_traitements_et_soins() -> None:
    message = corpus.patient_message(
        [AttachmentSpec("ordonnance.pdf", corpus.pdf_bytes(), "application/pdf")],
        subject="Votre ordonnance",
    )
    plan = extract_documents(message, corpus.PATIENT_INS)
    (document,) = plan.documents
    assert document.space is PatientSpace.TRAITEMENTS_ET_SOINS
    assert document.reason == "file name keyword ordonnance"
    assert document.origin is DocumentOrigin.ATTACHMENT
    assert document.content_type == "application/pdf"
    assert document.author == "Dr Jean Dupont"
    assert document.patient_id is None
    assert plan.processing_error is None


def test_jpeg_with_subject_radio_du_thorax_goes_to_imagerie() -> None:
    message = corpus.patient_message(
        [AttachmentSpec("IMG_0042.jpg", corpus.jpeg_bytes(), "image/jpeg")],
        subject="Radio du thorax",
    )
    (document,) = extract_documents(message, corpus.PATIENT_INS).documents
    assert document.space is PatientSpace.IMAGERIE_MEDICALE
    assert document.reason == "subject keyword radio"
    assert document.content_type == "image/jpeg"


def test_subject_prefix_is_stripped_before_keywords() -> None:
    message = corpus.patient_message(
        [AttachmentSpec("document.pdf", corpus.pdf_bytes(), "application/pdf")],
        subject="XDM/1.0/DDM+Certificat MARTIN Claire 03/03/1979",
    )
    (document,) = extract_documents(message, corpus.PATIENT_INS).documents
    assert document.space is PatientSpace.CERTIFICATS


def test_declared_type_is_not_trusted() -> None:
    message = corpus.patient_message(
        [AttachmentSpec("ordonnance.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")]
    )
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert plan.documents == ()
    assert [p.kind for p in plan.problems] == [ProblemKind.UNSUPPORTED_TYPE]
    assert plan.processing_error is ProcessingErrorCode.OTHER  # the sender is told


def test_invisible_patient_document_is_never_deposited() -> None:
    message = corpus.xdm_message(corpus.xdm_with_confidentiality("INVISIBLE_PATIENT"))
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert [d.file_name for d in plan.documents] == ["DOC0002.XML"]
    assert [p.kind for p in plan.problems] == [ProblemKind.INVISIBLE_PATIENT]


def test_masque_ps_document_is_deposited_and_hidden_from_professionals() -> None:
    message = corpus.xdm_message(corpus.xdm_with_confidentiality("MASQUE_PS"),
                                 pdf_copy=("DOC0001.pdf", corpus.pdf_bytes()))
    plan = extract_documents(message, corpus.PATIENT_INS)
    lettre, biologie, copy = plan.documents
    assert lettre.hidden_from_professionals
    assert not biologie.hidden_from_professionals
    assert copy.copy_of == lettre.sha256 and copy.hidden_from_professionals


def test_too_many_attachments_is_reported_and_bounded() -> None:
    attachments = [AttachmentSpec(f"scan{i}.pdf", corpus.pdf_bytes(str(i)), "application/pdf")
                   for i in range(5)]
    plan = extract_documents(corpus.patient_message(attachments), corpus.PATIENT_INS,
                             ExtractionLimits(max_attachments=3))
    assert len(plan.documents) == 3
    assert ProblemKind.TOO_MANY_ATTACHMENTS in {p.kind for p in plan.problems}


def test_message_body_is_not_a_document() -> None:
    plan = extract_documents(corpus.patient_message([]), corpus.PATIENT_INS)
    assert plan.documents == () and plan.problems == ()


def test_patient_id_oid_is_the_ins_one_in_the_corpus() -> None:
    assert corpus.cx(corpus.PATIENT_INS).endswith(f"&{INS_NIR_OID}&ISO")


def test_xdm_pdf_whose_bytes_are_not_a_pdf_is_refused() -> None:
    spec = corpus.pdf_entry(content=b"<html><script>alert(1)</script></html>",
                            patient_id=corpus.cx(corpus.PATIENT_INS))
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    assert plan.documents == ()
    assert [p.kind for p in plan.problems] == [ProblemKind.UNSAFE_DOCUMENT]


def test_xdm_pdf_document_with_our_ins_is_deposited_by_its_keywords() -> None:
    spec = corpus.pdf_entry(uri="IRM.PDF", title="IRM du genou")
    plan = extract_documents(corpus.xdm_message(corpus.xdm_archive([spec])), corpus.PATIENT_INS)
    (document,) = plan.documents
    assert (document.content_type, document.space, document.reason) == (
        "application/pdf", PatientSpace.IMAGERIE_MEDICALE, "file name keyword irm"
    )


def test_lone_cda_is_read_checked_and_classified_by_its_code() -> None:
    message = corpus.patient_message([AttachmentSpec(
        "resultats.xml", corpus.cda_document("11502-2", "Hémogramme"), "application/hl7-v3+xml")])
    plan = extract_documents(message, corpus.PATIENT_INS)
    (document,) = plan.documents
    assert (document.space, document.reason) == (PatientSpace.BIOLOGIE, "CDA code 11502-2")
    assert (document.origin, document.content_type) == (DocumentOrigin.CDA, "text/xml")
    assert document.title == "Hémogramme" and document.patient_id == corpus.PATIENT_INS
    assert plan.problems == ()


def test_lone_cda_of_another_patient_or_with_a_dtd_or_not_a_cda_is_refused() -> None:
    dtd = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><ClinicalDocument/>'
    message = corpus.patient_message([
        AttachmentSpec("autre.xml", corpus.cda_document("11502-2", "B",
                                                        corpus.OTHER_PATIENT_INS), "text/xml"),
        AttachmentSpec("dtd.xml", dtd, "text/xml"),
        AttachmentSpec("facture.xml", b"<facture><total>3</total></facture>", "text/xml"),
    ])
    plan = extract_documents(message, corpus.PATIENT_INS)
    assert plan.documents == ()
    assert [(p.file_name, p.kind) for p in plan.problems] == [
        ("autre.xml", ProblemKind.INS_MISMATCH), ("dtd.xml", ProblemKind.UNSAFE_DOCUMENT),
        ("facture.xml", ProblemKind.UNSUPPORTED_TYPE)]
    assert plan.processing_error is ProcessingErrorCode.INS_MISMATCH


def test_pdf_with_the_content_of_a_cda_n1_body_is_its_copy() -> None:
    embedded = corpus.pdf_bytes("n1")
    archive = corpus.xdm_archive([corpus.lettre_de_liaison(
        content=corpus.cda_n1_document("11490-0", "Lettre", embedded))])
    plan = extract_documents(corpus.xdm_message(archive, pdf_copy=("lettre.pdf", embedded)),
                             corpus.PATIENT_INS)
    lettre, copy = plan.documents
    assert copy.copy_of == lettre.sha256 and plan.listed_documents == (lettre,)
