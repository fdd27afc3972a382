"""The header of an HL7 CDA R2 document: what classifies it when the metadata is thin.

Only `ClinicalDocument` in the `urn:hl7-org:v3` namespace is read; `code/@code` is a type
code of the same vocabulary as XDS typeCode (ANS CI-SIS), `title` its title.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits
from mss.vault.patient_id import INS_OIDS, PatientIdentifier
from mss.vault.safe_xml import parse_xml_safely

HL7_V3_NS = "urn:hl7-org:v3"


@dataclass(frozen=True, slots=True)
class CdaHeader:
    code: str | None
    title: str | None
    effective_time: str | None
    patient_ins: PatientIdentifier | None
    confidentiality_code: str | None


def _v3(path: str) -> str:
    return "/".join(f"{{{HL7_V3_NS}}}{step}" for step in path.split("/"))


def looks_like_xml(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def read_cda_header(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> CdaHeader | None:
    """The CDA header, None for XML that is not a CDA; VaultExtractionError if unsafe."""
    root = parse_xml_safely(data, what="CDA document", max_bytes=limits.max_entry_bytes)
    if root.tag != _v3("ClinicalDocument"):
        return None
    code = root.find(_v3("code"))
    title = root.find(_v3("title"))
    effective = root.find(_v3("effectiveTime"))
    confidentiality = root.find(_v3("confidentialityCode"))
    return CdaHeader(
        code=_attribute(code, "code"),
        title=_text(title),
        effective_time=_attribute(effective, "value"),
        patient_ins=_patient_ins(root),
        confidentiality_code=_attribute(confidentiality, "code"),
    )


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None


def _attribute(element: Element | None, name: str) -> str | None:
    if element is None:
        return None
    value = element.get(name)
    return value.strip() if value and value.strip() else None


def _patient_ins(root: Element) -> PatientIdentifier | None:
    """`recordTarget/patientRole/id` whose root is an INS OID (CI-SIS volet structuration)."""
    for ident in root.findall(_v3("recordTarget/patientRole/id")):
        oid = (ident.get("root") or "").strip()
        extension = (ident.get("extension") or "").strip()
        if oid in INS_OIDS and extension:
            return PatientIdentifier(extension, oid)
    return None
