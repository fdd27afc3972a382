"""Classification table of mssante-facts (vault categories): each row names its source."""

from __future__ import annotations

import pytest

from mss.vault.classification import ClassificationBasis, classify, find_keyword
from mss.vault.spaces import PatientSpace as S
from mss.vault.subject import has_xdm_prefix, strip_xdm_prefix

TYPE_CODE_ROWS = [
    ("60591-5", S.SYNTHESES), ("SYNTH", S.SYNTHESES), ("34133-9", S.SYNTHESES),
    ("18761-7", S.SYNTHESES),
    ("11490-0", S.COMPTES_RENDUS), ("34112-3", S.COMPTES_RENDUS), ("34874-8", S.COMPTES_RENDUS),
    ("11488-4", S.COMPTES_RENDUS), ("15507-7", S.COMPTES_RENDUS), ("15508-5", S.COMPTES_RENDUS),
    ("34794-8", S.COMPTES_RENDUS),
    ("11502-2", S.BIOLOGIE), ("60568-3", S.BIOLOGIE),
    ("18748-4", S.IMAGERIE_MEDICALE), ("52040-3", S.IMAGERIE_MEDICALE),
    ("IMG-KOS", S.IMAGERIE_MEDICALE),
    ("57833-6", S.TRAITEMENTS_ET_SOINS), ("57832-8", S.TRAITEMENTS_ET_SOINS),
    ("57828-6", S.TRAITEMENTS_ET_SOINS), ("PRESC-BIO", S.TRAITEMENTS_ET_SOINS),
    ("PRESC-KINE", S.TRAITEMENTS_ET_SOINS),
    ("60593-1", S.TRAITEMENTS_ET_SOINS), ("18776-5", S.TRAITEMENTS_ET_SOINS),
    ("80565-5", S.TRAITEMENTS_ET_SOINS),
    ("87273-9", S.PREVENTION), ("11369-6", S.PREVENTION), ("75492-9", S.PREVENTION),
    ("75482-0", S.PREVENTION),
    ("89601-9", S.CERTIFICATS), ("CERT_DECL", S.CERTIFICATS), ("96874-3", S.CERTIFICATS),
    ("REMB", S.DONNEES_DE_REMBOURSEMENT),
    ("DOCPAT01", S.ESPACE_PERSONNEL), ("EXPPAT_1", S.ESPACE_PERSONNEL),
]


@pytest.mark.parametrize(("type_code", "space"), TYPE_CODE_ROWS)
def test_type_code_gives_the_space_of_the_facts_table(type_code: str, space: S) -> None:
    result = classify(type_code=type_code, class_code="10", file_name="x.pdf")
    assert result.space is space
    assert result.basis is ClassificationBasis.METADATA_TYPE_CODE
    assert result.evidence == type_code


CLASS_CODE_ROWS = [
    ("10", S.COMPTES_RENDUS), ("11", S.SYNTHESES), ("31", S.IMAGERIE_MEDICALE),
    ("42", S.TRAITEMENTS_ET_SOINS), ("43", S.TRAITEMENTS_ET_SOINS),
    ("44", S.TRAITEMENTS_ET_SOINS), ("45", S.TRAITEMENTS_ET_SOINS),
    ("52", S.CERTIFICATS), ("60", S.DONNEES_DE_REMBOURSEMENT), ("90", S.ESPACE_PERSONNEL),
    ("95", S.COMPTES_RENDUS),  # MSS choice: documents de gestion in the default space
]


@pytest.mark.parametrize(("class_code", "space"), CLASS_CODE_ROWS)
def test_class_code_decides_when_type_code_is_unknown(class_code: str, space: S) -> None:
    result = classify(type_code="99999-9", class_code=class_code, file_name="vaccin.pdf")
    assert result.space is space
    assert result.basis is ClassificationBasis.METADATA_CLASS_CODE


def test_cda_code_comes_before_class_code_so_biology_is_not_lost() -> None:
    result = classify(type_code=None, cda_code="11502-2", class_code="10")
    assert (result.space, result.basis) == (S.BIOLOGIE, ClassificationBasis.CDA_CODE)


KEYWORD_ROWS = [
    ("ordonnance.pdf", S.TRAITEMENTS_ET_SOINS, "ordonnance"),
    ("Ordonnances_2024.PDF", S.TRAITEMENTS_ET_SOINS, "ordonnance"),
    ("resultats-BIOLOGIE.pdf", S.BIOLOGIE, "biolog"),
    ("Analyses sanguines.pdf", S.BIOLOGIE, "analyse"),
    ("imagerie.pdf", S.IMAGERIE_MEDICALE, "imagerie"),
    ("Radiographie genou.jpg", S.IMAGERIE_MEDICALE, "radio"),
    ("IRM_lombaire.pdf", S.IMAGERIE_MEDICALE, "irm"),
    ("scanner thorax.pdf", S.IMAGERIE_MEDICALE, "scanner"),
    ("ÉCHOGRAPHIE.pdf", S.IMAGERIE_MEDICALE, "echograph"),
    ("Certificat médical.pdf", S.CERTIFICATS, "certificat"),
    ("carnet-vaccination.pdf", S.PREVENTION, "vaccin"),
]


@pytest.mark.parametrize(("file_name", "space", "keyword"), KEYWORD_ROWS)
def test_file_name_keywords_ignore_accents_and_case(
    file_name: str, space: S, keyword: str
) -> None:
    result = classify(file_name=file_name, subject="Résultats")
    assert (result.space, result.basis, result.evidence) == (
        space, ClassificationBasis.FILE_NAME_KEYWORD, keyword
    )


def test_subject_keyword_when_the_file_name_says_nothing() -> None:
    result = classify(file_name="IMG_0042.jpg", subject="Radio du thorax")
    assert (result.space, result.basis, result.evidence) == (
        S.IMAGERIE_MEDICALE, ClassificationBasis.SUBJECT_KEYWORD, "radio"
    )


def test_irm_is_a_word_not_a_substring_of_infirmier() -> None:
    assert find_keyword("Courrier de l'infirmier") is None
    assert classify(file_name="infirmier.pdf").space is S.COMPTES_RENDUS


def test_nothing_found_lands_in_comptes_rendus_by_default() -> None:
    result = classify(file_name="scan0001.pdf", subject="Votre courrier")
    assert (result.space, result.basis) == (S.COMPTES_RENDUS, ClassificationBasis.DEFAULT)


def test_strip_xdm_prefix_for_display() -> None:
    subject = "XDM/1.0/DDM+CR de biologie MARTIN Claire 03/03/1979"
    assert has_xdm_prefix(subject)
    assert strip_xdm_prefix(subject) == "CR de biologie MARTIN Claire 03/03/1979"
    assert strip_xdm_prefix("Résultats") == "Résultats"
    assert not has_xdm_prefix("Re: XDM/1.0/DDM+x")
