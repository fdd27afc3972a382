"""METADATA.XML (ebRIM 3.0 SubmitObjectsRequest, IHE ITI-32): fields read and XML refused."""

from __future__ import annotations

import hashlib

import pytest

from mss.vault.errors import VaultExtractionError
from mss.vault.limits import ExtractionLimits
from mss.vault.patient_id import INS_NIR_OID
from mss.vault.xdm_metadata import parse_xdm_metadata

from . import corpus


def test_each_extrinsic_object_gives_slots_classifications_and_patient_id() -> None:
    spec = corpus.lettre_de_liaison(confidentiality_codes=("N", "MASQUE_PS"))
    (entry,) = parse_xdm_metadata(corpus.metadata_xml([spec]))
    assert entry.uri == "DOC0001.XML"
    assert entry.sha1 == hashlib.sha1(spec.content).hexdigest()
    assert entry.size == len(spec.content)
    assert entry.creation_time == "20240115093000"
    assert entry.source_patient_id == "IPP123^^^&1.2.250.1.999.2&ISO"
    assert (entry.class_code, entry.type_code) == ("10", "11490-0")
    assert entry.confidentiality_codes == ("N", "MASQUE_PS")
    assert entry.title == "Lettre de liaison à la sortie"
    assert entry.author == "Jean DUPONT"
    assert entry.mime_type == "text/xml"
    assert entry.unique_id == "1.2.250.1.999.3.1"
    assert entry.patient_id is not None
    assert (entry.patient_id.value, entry.patient_id.authority_oid) == (
        corpus.PATIENT_INS, INS_NIR_OID
    )


def test_missing_fields_are_none_not_errors() -> None:
    spec = corpus.EntrySpec(uri="DOC0001.PDF", content=b"%PDF-", patient_id=None, sha1="",
                            confidentiality_codes=())
    (entry,) = parse_xdm_metadata(corpus.metadata_xml([spec]))
    assert (entry.sha1, entry.patient_id, entry.type_code, entry.class_code) == (
        None, None, None, None
    )


def test_split_uri_slot_is_joined_in_order() -> None:
    metadata = corpus.metadata_xml([corpus.lettre_de_liaison()]).replace(
        b"<rim:Value>DOC0001.XML</rim:Value>",
        b"<rim:Value>2|01.XML</rim:Value><rim:Value>1|DOC00</rim:Value>",
    )
    (entry,) = parse_xdm_metadata(metadata)
    assert entry.uri == "DOC0001.XML"


def test_external_entity_is_refused() -> None:
    with pytest.raises(VaultExtractionError, match="forbidden XML"):
        parse_xdm_metadata(corpus.XXE_METADATA)


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(VaultExtractionError, match="forbidden XML"):
        parse_xdm_metadata(corpus.BILLION_LAUGHS_METADATA)


def test_other_root_is_refused() -> None:
    with pytest.raises(VaultExtractionError, match="SubmitObjectsRequest"):
        parse_xdm_metadata(b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>")


def test_broken_xml_is_our_error() -> None:
    with pytest.raises(VaultExtractionError, match="well-formed"):
        parse_xdm_metadata(b"<lcm:SubmitObjectsRequest")


def test_document_count_is_bounded() -> None:
    specs = [corpus.lettre_de_liaison(uri=f"DOC{i:04d}.XML") for i in range(5)]
    with pytest.raises(VaultExtractionError, match="too many documents"):
        parse_xdm_metadata(corpus.metadata_xml(specs), ExtractionLimits(max_documents=3))
