"""Reading an HL7 CDA R2 document safely (lxml, defused) and its header.

Only `ClinicalDocument` in the `urn:hl7-org:v3` namespace is a CDA; `code/@code` is a
type code of the same vocabulary as XDS typeCode (ANS CI-SIS), `title` its title. The
parser never touches the network, never resolves entities, never loads a DTD, and a
document that carries a DOCTYPE at all is refused (no entity declarations can hide in it).
A CDA "N1" document (`component/nonXMLBody`, CI-SIS) carries a PDF or image in base64:
its decoded bytes are kept so that a PDF copy beside it can be recognised.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped]

from mss.vault.errors import VaultExtractionError
from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits
from mss.vault.patient_id import INS_OIDS, PatientIdentifier

HL7_V3_NS = "urn:hl7-org:v3"
NS = {"h": HL7_V3_NS}
CDA_CONTENT_TYPE = "text/xml"
"""Content type the vault keeps CDA documents under (as XDM metadata declares them)."""

CDA_DECLARED_TYPES = frozenset({"text/xml", "application/xml", "application/hl7-v3+xml"})


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_pis=True,
                           collect_ids=False)


@dataclass(frozen=True, slots=True)
class EmbeddedBody:
    """The decoded content of a `nonXMLBody/text` (CDA N1)."""

    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class CdaHeader:
    code: str | None
    title: str | None
    effective_time: str | None
    patient_ins: PatientIdentifier | None
    confidentiality_code: str | None
    author: str | None = None
    embedded: EmbeddedBody | None = None


def looks_like_xml(data: bytes) -> bool:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def parse_cda(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> etree._Element:
    """The root element of well-formed XML without DOCTYPE; VaultExtractionError else."""
    if len(data) > limits.max_entry_bytes:
        raise VaultExtractionError(f"CDA document: larger than {limits.max_entry_bytes} bytes")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise VaultExtractionError("CDA document: not well-formed XML") from exc
    if root is None:
        raise VaultExtractionError("CDA document: not well-formed XML")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise VaultExtractionError("CDA document: forbidden XML construct (DTD)")
    return root


def is_clinical_document(root: etree._Element) -> bool:
    return root.tag == f"{{{HL7_V3_NS}}}ClinicalDocument"


def read_cda_header(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> CdaHeader | None:
    """The CDA header, None for XML that is not a CDA; VaultExtractionError if unsafe."""
    root = parse_cda(data, limits)
    if not is_clinical_document(root):
        return None
    return header_of(root)


def header_of(root: etree._Element) -> CdaHeader:
    return CdaHeader(
        code=attribute(root, "h:code", "code"),
        title=text_of(root, "h:title"),
        effective_time=attribute(root, "h:effectiveTime", "value"),
        patient_ins=_patient_ins(root),
        confidentiality_code=attribute(root, "h:confidentialityCode", "code"),
        author=person_name(first(root, "h:author/h:assignedAuthor/h:assignedPerson/h:name")),
        embedded=_embedded_body(root),
    )


def first(element: etree._Element, path: str) -> etree._Element | None:
    found = element.find(path, NS)
    return found


def text_of(element: etree._Element, path: str) -> str | None:
    found = first(element, path)
    if found is None:
        return None
    return " ".join("".join(found.itertext()).split()) or None


def attribute(element: etree._Element, path: str, name: str) -> str | None:
    found = first(element, path)
    if found is None:
        return None
    value = found.get(name)
    return value.strip() if value and value.strip() else None


def person_name(name: etree._Element | None) -> str | None:
    """`prefix given family` of an HL7 PN, or its plain text."""
    if name is None:
        return None
    parts = [" ".join("".join(part.itertext()).split())
             for tag in ("prefix", "given", "family")
             for part in name.findall(f"h:{tag}", NS)]
    shown = " ".join(p for p in parts if p)
    return shown or " ".join("".join(name.itertext()).split()) or None


def _patient_ins(root: etree._Element) -> PatientIdentifier | None:
    """`recordTarget/patientRole/id` whose root is an INS OID (CI-SIS volet structuration)."""
    for ident in root.findall("h:recordTarget/h:patientRole/h:id", NS):
        oid = (ident.get("root") or "").strip()
        extension = (ident.get("extension") or "").strip()
        if oid in INS_OIDS and extension:
            return PatientIdentifier(extension, oid)
    return None


def _embedded_body(root: etree._Element) -> EmbeddedBody | None:
    text = first(root, "h:component/h:nonXMLBody/h:text")
    if text is None or (text.get("representation") or "").upper() != "B64":
        return None
    try:
        content = base64.b64decode("".join((text.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return EmbeddedBody((text.get("mediaType") or "").strip().lower(), content)
