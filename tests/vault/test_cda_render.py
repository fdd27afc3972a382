"""render_cda: the header and the narrative of a CDA R2, sanitised (HL7 CDA R2 §4.3.5)."""

from __future__ import annotations

import pytest

from mss.vault.cda_render import render_cda
from mss.vault.errors import VaultExtractionError

from . import corpus
from .cda_samples import lettre_de_liaison_cda


def test_header_of_a_lettre_de_liaison() -> None:
    view = render_cda(lettre_de_liaison_cda())
    assert view.title == "Lettre de liaison à la sortie"
    assert view.date is not None and view.date.isoformat() == "2024-01-15T10:30:00+01:00"
    assert (view.author, view.organisation) == (
        "Dr Alice MARTIN", "Hôpital de démonstration — Cardiologie")
    assert view.patient == "Jeanne DUPONT"
    assert view.patient_birth is not None and view.patient_birth.year == 1985
    assert view.custodian == "Hôpital de démonstration"
    assert view.confidentiality == ("Normale", "Normal")
    assert view.embedded is None


def test_narrative_blocks_become_html() -> None:
    body = render_cda(lettre_de_liaison_cda()).body_html
    assert "<h2>Traitements à la sortie</h2>" in body
    assert "<strong>aiguë</strong>" in body and "<em>sans</em>" in body
    assert "<ol><li>Bisoprolol 2,5 mg : 1 comprimé le matin</li>" in body
    assert "<th>Examen</th>" in body and "<td><strong>12 ng/L</strong></td>" in body
    assert "<h3>Commentaire</h3>" in body and "Contrôle dans un mois.<br>" in body
    assert '<img src="data:image/png;base64,' in body and 'alt="ECG de sortie"' in body
    # linkHtml is its text; no link, no script, escaped text stays text
    assert "les recommandations" in body and "href" not in body and "javascript" not in body
    assert "<script" not in body and "&lt;script&gt;" in body


def test_nonxml_body_is_offered_not_rendered() -> None:
    view = render_cda(corpus.cda_n1_document("11488-4", "CR", corpus.pdf_bytes("n1")))
    assert view.body_html == "" and view.embedded is not None
    assert view.embedded.media_type == "application/pdf"


@pytest.mark.parametrize("data", [
    b"<facture/>", b"not xml",
    b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument SYSTEM "http://x/y.dtd">'
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>',
])
def test_what_is_not_a_safe_cda_is_refused(data: bytes) -> None:
    with pytest.raises(VaultExtractionError):
        render_cda(data)


def test_an_image_source_other_than_data_image_is_dropped() -> None:
    hostile = lettre_de_liaison_cda().replace(b'mediaType="image/png"', b'mediaType="text/html"')
    assert "<img" not in render_cda(hostile).body_html
