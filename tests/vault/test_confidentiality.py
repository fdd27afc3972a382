"""has_invisible_patient: the fact the policy needs for rule S3 (DESIGN §4)."""

from __future__ import annotations

import pytest

from mss.vault.confidentiality import has_invisible_patient
from mss.vault.errors import VaultExtractionError

from . import corpus
from .corpus import AttachmentSpec


def test_invisible_patient_in_any_metadata_entry_is_seen() -> None:
    message = corpus.xdm_message(corpus.xdm_with_confidentiality("INVISIBLE_PATIENT"))
    assert has_invisible_patient(message)


def test_archive_name_in_another_case_is_inspected_too() -> None:
    archive = corpus.xdm_with_confidentiality("INVISIBLE_PATIENT")
    message = corpus.patient_message([AttachmentSpec("ihe_xdm.ZIP", archive, "application/zip")])
    assert has_invisible_patient(message)


def test_masque_ps_alone_is_not_invisible_patient() -> None:
    assert not has_invisible_patient(
        corpus.xdm_message(corpus.xdm_with_confidentiality("MASQUE_PS"))
    )


def test_ordinary_messages_have_no_invisible_document() -> None:
    assert not has_invisible_patient(corpus.xdm_message(corpus.valid_xdm()))
    plain = corpus.patient_message(
        [AttachmentSpec("ordonnance.pdf", corpus.pdf_bytes(), "application/pdf")]
    )
    assert not has_invisible_patient(plain)


def test_unreadable_archive_fails_closed_with_our_error() -> None:
    with pytest.raises(VaultExtractionError):
        has_invisible_patient(corpus.xdm_message(corpus.xdm_with_metadata(corpus.XXE_METADATA)))
