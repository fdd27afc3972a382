"""Reading METADATA.XML of an XDM subset: ebRIM 3.0 SubmitObjectsRequest (IHE ITI-32, ITI-41).

Each `rim:ExtrinsicObject` is one document entry; the scheme UUIDs below are those of
IHE ITI TF-3 §4.2.5 (XDSDocumentEntry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from mss.vault.errors import VaultExtractionError
from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits
from mss.vault.patient_id import PatientIdentifier, parse_cx
from mss.vault.safe_xml import local_name, parse_xml_safely

RIM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"

CLASS_CODE_SCHEME = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
TYPE_CODE_SCHEME = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
CONFIDENTIALITY_CODE_SCHEME = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
AUTHOR_SCHEME = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
PATIENT_ID_SCHEME = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
UNIQUE_ID_SCHEME = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"

_MAX_VALUES = 64


@dataclass(frozen=True, slots=True)
class XdmDocumentEntry:
    """What the metadata says of one document; every field is optional in hostile input."""

    entry_id: str
    uri: str | None
    mime_type: str
    sha1: str | None
    size: int | None
    creation_time: str | None
    source_patient_id: str | None
    patient_id: PatientIdentifier | None
    class_code: str | None
    type_code: str | None
    confidentiality_codes: tuple[str, ...] = field(default=())
    title: str | None = None
    author: str | None = None
    unique_id: str | None = None


def _rim(name: str) -> str:
    return f"{{{RIM_NS}}}{name}"


def slot_values(element: Element, name: str) -> list[str]:
    """Values of the child `rim:Slot` called `name` (ebRIM 3.0 §4.3)."""
    for slot in element.findall(_rim("Slot")):
        if slot.get("name") == name:
            values = slot.findall(f"{_rim('ValueList')}/{_rim('Value')}")
            return [(v.text or "").strip() for v in values[:_MAX_VALUES]]
    return []


def first_slot_value(element: Element, name: str) -> str | None:
    values = [v for v in slot_values(element, name) if v]
    return values[0] if values else None


def localized_name(element: Element) -> str | None:
    string = element.find(f"{_rim('Name')}/{_rim('LocalizedString')}")
    value = string.get("value") if string is not None else None
    return value.strip() if value and value.strip() else None


def joined_uri(values: list[str]) -> str | None:
    """URI slot, possibly split as `1|part`, `2|part` when longer than a slot value (ITI-41)."""
    values = [v for v in values if v]
    if not values:
        return None
    if all("|" in v and v.split("|", 1)[0].isdigit() for v in values):
        ordered = sorted(values, key=lambda v: int(v.split("|", 1)[0]))
        return "".join(v.split("|", 1)[1] for v in ordered)
    return values[0]


def author_display(classification: Element) -> str | None:
    """`id^FAMILY^Given^...` (XCN) → `Given FAMILY`; else the institution (XON) name."""
    person = first_slot_value(classification, "authorPerson")
    if person:
        parts = person.split("^")
        family = parts[1].strip() if len(parts) > 1 else ""
        given = parts[2].strip() if len(parts) > 2 else ""
        name = f"{given} {family}".strip()
        if name:
            return name
    institution = first_slot_value(classification, "authorInstitution")
    if institution:
        return institution.split("^")[0].strip() or None
    return None


def parse_int(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def read_entry(element: Element) -> XdmDocumentEntry:
    class_code = type_code = author = unique_id = None
    patient_id = None
    confidentiality: list[str] = []
    for classification in element.findall(_rim("Classification"))[:_MAX_VALUES]:
        scheme = classification.get("classificationScheme")
        code = (classification.get("nodeRepresentation") or "").strip()
        if scheme == CLASS_CODE_SCHEME and code:
            class_code = code
        elif scheme == TYPE_CODE_SCHEME and code:
            type_code = code
        elif scheme == CONFIDENTIALITY_CODE_SCHEME and code:
            confidentiality.append(code)
        elif scheme == AUTHOR_SCHEME and author is None:
            author = author_display(classification)
    for identifier in element.findall(_rim("ExternalIdentifier"))[:_MAX_VALUES]:
        scheme = identifier.get("identificationScheme")
        if scheme == PATIENT_ID_SCHEME:
            patient_id = parse_cx(identifier.get("value") or "")
        elif scheme == UNIQUE_ID_SCHEME:
            unique_id = (identifier.get("value") or "").strip() or None
    sha1 = first_slot_value(element, "hash")
    return XdmDocumentEntry(
        entry_id=element.get("id") or "",
        uri=joined_uri(slot_values(element, "URI")),
        mime_type=(element.get("mimeType") or "application/octet-stream").strip().lower(),
        sha1=sha1.lower() if sha1 else None,
        size=parse_int(first_slot_value(element, "size")),
        creation_time=first_slot_value(element, "creationTime"),
        source_patient_id=first_slot_value(element, "sourcePatientId"),
        patient_id=patient_id,
        class_code=class_code,
        type_code=type_code,
        confidentiality_codes=tuple(dict.fromkeys(confidentiality)),
        title=localized_name(element),
        author=author,
        unique_id=unique_id,
    )


def parse_xdm_metadata(
    data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS
) -> tuple[XdmDocumentEntry, ...]:
    """The document entries of one METADATA.XML, or VaultExtractionError."""
    root = parse_xml_safely(data, what="METADATA.XML", max_bytes=limits.max_metadata_bytes)
    if local_name(root.tag) != "SubmitObjectsRequest":
        raise VaultExtractionError("METADATA.XML: root is not a SubmitObjectsRequest")
    entries: list[XdmDocumentEntry] = []
    for element in root.iter(_rim("ExtrinsicObject")):
        if len(entries) >= limits.max_documents:
            raise VaultExtractionError("METADATA.XML: too many documents")
        entries.append(read_entry(element))
    return tuple(entries)
