"""Test messages and IHE XDM archives for the vault, built in memory (reusable by other tests).

Everything here is synthetic: INS numbers have valid keys but name no one.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from xml.sax.saxutils import escape, quoteattr

PATIENT_INS = "279035121518989"
OTHER_PATIENT_INS = "185077512345608"
INS_OID = "1.2.250.1.213.1.4.8"
PATIENT_ADDRESS = f"{PATIENT_INS}@patient.mssante.test"
DOCTOR_ADDRESS = "jean.dupont@hopital.mssante.test"

CLASS_SCHEME = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
TYPE_SCHEME = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
CONFIDENTIALITY_SCHEME = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
AUTHOR_SCHEME = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
PATIENT_ID_SCHEME = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
UNIQUE_ID_SCHEME = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DOCUMENT_ENTRY_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"


def cx(ins: str, oid: str = INS_OID) -> str:
    """An XDS patientId value: `279035121518989^^^&1.2.250.1.213.1.4.8&ISO`."""
    return f"{ins}^^^&{oid}&ISO"


def pdf_bytes(text: str = "document") -> bytes:
    """A tiny PDF (enough for content sniffing; not meant to be rendered)."""
    return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n"


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def cda_document(code: str, title: str, ins: str = PATIENT_INS,
                 confidentiality: str = "N") -> bytes:
    """A minimal CDA R2 header (urn:hl7-org:v3 ClinicalDocument) with a structured body stub."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.999.1" extension="{code}-{ins}"/>
  <code code="{code}" codeSystem="2.16.840.1.113883.6.1"/>
  <title>{escape(title)}</title>
  <effectiveTime value="20240115103000+0100"/>
  <confidentialityCode code="{confidentiality}" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole><id root="{INS_OID}" extension="{ins}"/></patientRole></recordTarget>
  <component><structuredBody/></component>
</ClinicalDocument>
""".encode()


@dataclass
class EntrySpec:
    """One document of an XDM subset and what its metadata claims (claims may lie)."""

    uri: str
    content: bytes
    mime_type: str = "text/xml"
    type_code: str | None = None
    class_code: str | None = None
    confidentiality_codes: tuple[str, ...] = ("N",)
    title: str | None = None
    patient_id: str | None = field(default_factory=lambda: cx(PATIENT_INS))
    sha1: str | None = None
    """Overrides the real SHA-1 when set; '' leaves the slot out."""
    size: int | None = None
    author_person: str = "810001234567^DUPONT^Jean^^^^^^&1.2.250.1.71.4.2.1&ISO"
    creation_time: str = "20240115093000"


def _slot(name: str, value: str) -> str:
    return (f'<rim:Slot name="{name}"><rim:ValueList><rim:Value>{escape(value)}</rim:Value>'
            f"</rim:ValueList></rim:Slot>")


def _classification(scheme: str, code: str, object_id: str, n: int, body: str = "") -> str:
    return (f'<rim:Classification id="urn:uuid:c{n}-{object_id[-8:]}" '
            f'classificationScheme="{scheme}" classifiedObject="{object_id}" '
            f'nodeRepresentation={quoteattr(code)}>{body}</rim:Classification>')


def extrinsic_object(spec: EntrySpec, index: int) -> str:
    object_id = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
    sha1 = hashlib.sha1(spec.content).hexdigest() if spec.sha1 is None else spec.sha1
    size = len(spec.content) if spec.size is None else spec.size
    parts = [_slot("creationTime", spec.creation_time)]
    if sha1:
        parts.append(_slot("hash", sha1))
    parts += [_slot("size", str(size)), _slot("URI", spec.uri),
              _slot("sourcePatientId", "IPP123^^^&1.2.250.1.999.2&ISO")]
    if spec.title:
        parts.append(f"<rim:Name><rim:LocalizedString value={quoteattr(spec.title)}/></rim:Name>")
    parts.append(_classification(AUTHOR_SCHEME, "", object_id, 0,
                                 _slot("authorPerson", spec.author_person)))
    if spec.class_code:
        parts.append(_classification(CLASS_SCHEME, spec.class_code, object_id, 1,
                                     _slot("codingScheme", "1.2.250.1.213.1.1.4.1")))
    if spec.type_code:
        parts.append(_classification(TYPE_SCHEME, spec.type_code, object_id, 2,
                                     _slot("codingScheme", "2.16.840.1.113883.6.1")))
    for n, code in enumerate(spec.confidentiality_codes, start=3):
        parts.append(_classification(CONFIDENTIALITY_SCHEME, code, object_id, n))
    if spec.patient_id is not None:
        parts.append(f'<rim:ExternalIdentifier id="urn:uuid:p{index}" '
                     f'identificationScheme="{PATIENT_ID_SCHEME}" '
                     f'value={quoteattr(spec.patient_id)} registryObject="{object_id}"/>')
    parts.append(f'<rim:ExternalIdentifier id="urn:uuid:u{index}" '
                 f'identificationScheme="{UNIQUE_ID_SCHEME}" '
                 f'value="1.2.250.1.999.3.{index}" registryObject="{object_id}"/>')
    return (f'<rim:ExtrinsicObject id="{object_id}" mimeType="{spec.mime_type}" '
            f'objectType="{DOCUMENT_ENTRY_TYPE}">{"".join(parts)}</rim:ExtrinsicObject>')


def metadata_xml(specs: list[EntrySpec]) -> bytes:
    """METADATA.XML: an ebRIM 3.0 SubmitObjectsRequest with one ExtrinsicObject per spec."""
    objects = "".join(extrinsic_object(spec, i) for i, spec in enumerate(specs, start=1))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
    xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
    xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0">
  <rim:RegistryObjectList>
    <rim:RegistryPackage id="urn:uuid:submission-set"/>
    {objects}
  </rim:RegistryObjectList>
</lcm:SubmitObjectsRequest>
""".encode()


def zip_bytes(files: dict[str, bytes], *, level: int = 6) -> bytes:
    """A zip holding `files` under exactly the names given (hostile names included)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 15, 9, 30, 0)), content,
                             compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def xdm_archive(specs: list[EntrySpec], *, metadata: bytes | None = None,
                extra: dict[str, bytes] | None = None) -> bytes:
    """An IHE_XDM.zip (ITI-32 layout): README.TXT, INDEX.HTM, SUBSET01 with metadata."""
    files = {
        "README.TXT": b"Archive XDM de test MSS\r\n",
        "INDEX.HTM": b"<html><body>Documents</body></html>",
        "IHE_XDM/SUBSET01/METADATA.XML": metadata if metadata is not None else metadata_xml(specs),
    }
    for spec in specs:
        files.setdefault(f"IHE_XDM/SUBSET01/{spec.uri}", spec.content)
    files.update(extra or {})
    return zip_bytes(files)


def lettre_de_liaison(**overrides: object) -> EntrySpec:
    values: dict[str, object] = dict(
        uri="DOC0001.XML", content=cda_document("11490-0", "Lettre de liaison à la sortie"),
        type_code="11490-0", class_code="10", title="Lettre de liaison à la sortie",
    )
    values.update(overrides)
    return EntrySpec(**values)  # type: ignore[arg-type]


def cr_biologie(**overrides: object) -> EntrySpec:
    values: dict[str, object] = dict(
        uri="DOC0002.XML", content=cda_document("11502-2", "Compte rendu de biologie"),
        type_code="11502-2", class_code="10", title="Compte rendu de biologie",
    )
    values.update(overrides)
    return EntrySpec(**values)  # type: ignore[arg-type]


def valid_xdm() -> bytes:
    """Two CDA documents: a lettre de liaison (11490-0) and a CR de biologie (11502-2)."""
    return xdm_archive([lettre_de_liaison(), cr_biologie()])


def xdm_with_wrong_sha1() -> bytes:
    """The lettre de liaison's hash is wrong; the CR de biologie is intact."""
    return xdm_archive([lettre_de_liaison(sha1="0" * 40), cr_biologie()])


def xdm_with_path_escape() -> bytes:
    return xdm_archive([lettre_de_liaison()], extra={"../../etc/passwd": b"root:x:0:0\n"})


def xdm_with_symlink() -> bytes:
    buffer = io.BytesIO(xdm_archive([lettre_de_liaison()]))
    with zipfile.ZipFile(buffer, "a") as archive:
        link = zipfile.ZipInfo("IHE_XDM/SUBSET01/LINK")
        link.create_system = 3
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, b"/etc/passwd")
    return buffer.getvalue()


def zip_bomb(inflated_bytes: int = 20 * 1024 * 1024) -> bytes:
    """An XDM-named archive whose one entry of zeros inflates ~1000 times."""
    return zip_bytes({"IHE_XDM/SUBSET01/DOC0001.XML": bytes(inflated_bytes)}, level=9)


def xdm_with_nested_zip() -> bytes:
    """A valid lettre de liaison, plus an entry that is itself a zip."""
    inner = zip_bytes({"IHE_XDM/SUBSET01/METADATA.XML": b"<x/>"})
    nested = EntrySpec(uri="DOC0003.ZIP", content=inner, mime_type="application/zip",
                       type_code="11488-4", class_code="10", title="Archive imbriquée")
    return xdm_archive([lettre_de_liaison(), nested])


XXE_METADATA = b"""<?xml version="1.0"?>
<!DOCTYPE lcm:SubmitObjectsRequest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0">&xxe;
</lcm:SubmitObjectsRequest>
"""

BILLION_LAUGHS_METADATA = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0">&lol9;
</lcm:SubmitObjectsRequest>
"""


def xdm_with_metadata(metadata: bytes) -> bytes:
    return xdm_archive([lettre_de_liaison()], metadata=metadata)


def xdm_for_other_patient() -> bytes:
    """The CR de biologie names another patient (904); the lettre de liaison is ours."""
    other = cr_biologie(
        content=cda_document("11502-2", "Compte rendu de biologie", ins=OTHER_PATIENT_INS),
        patient_id=cx(OTHER_PATIENT_INS),
    )
    return xdm_archive([lettre_de_liaison(), other])


def xdm_with_confidentiality(code: str) -> bytes:
    return xdm_archive([lettre_de_liaison(confidentiality_codes=("N", code)), cr_biologie()])


@dataclass
class AttachmentSpec:
    file_name: str
    content: bytes
    content_type: str = "application/octet-stream"


def patient_message(
    attachments: list[AttachmentSpec],
    *,
    subject: str = "XDM/1.0/DDM+Lettre de liaison MARTIN Claire 03/03/1979",
    to: str = PATIENT_ADDRESS,
    sender: str = f"Dr Jean Dupont <{DOCTOR_ADDRESS}>",
    receipt_to: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A professional's message to a patient, serialised and parsed back as the pipeline does."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Mon, 15 Jan 2024 10:30:00 +0100"
    message["Message-ID"] = "<corpus-1@hopital.mssante.test>"
    message["X-MSS-NIL"] = "MSS-TEST-1.0"
    if receipt_to:
        message["Disposition-Notification-To"] = receipt_to
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content("Bonjour,\nVeuillez trouver ci-joint vos documents.\n")
    for spec in attachments:
        maintype, subtype = spec.content_type.split("/", 1)
        message.add_attachment(spec.content, maintype=maintype, subtype=subtype,
                               filename=spec.file_name)
    return parse_message(message.as_bytes())


def parse_message(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def xdm_message(archive: bytes, *, pdf_copy: tuple[str, bytes] | None = None,
                **kwargs: object) -> EmailMessage:
    """The conventional message: IHE_XDM.zip plus, optionally, its PDF copy."""
    attachments = [AttachmentSpec("IHE_XDM.zip", archive, "application/zip")]
    if pdf_copy is not None:
        attachments.append(AttachmentSpec(pdf_copy[0], pdf_copy[1], "application/pdf"))
    return patient_message(attachments, **kwargs)  # type: ignore[arg-type]


def pdf_entry(**overrides: object) -> EntrySpec:
    """A PDF document entry of an XDM subset (CR de consultation unless overridden)."""
    values: dict[str, object] = dict(
        uri="DOC0001.PDF", content=pdf_bytes("consultation"), mime_type="application/pdf",
        type_code=None, class_code=None, title="Compte rendu de consultation",
    )
    values.update(overrides)
    return EntrySpec(**values)  # type: ignore[arg-type]


def cda_n1_document(code: str, title: str, embedded: bytes, ins: str = PATIENT_INS,
                    media_type: str = "application/pdf") -> bytes:
    """A CDA "N1" (CI-SIS): the header and a `nonXMLBody` carrying a PDF in base64."""
    import base64

    structured = cda_document(code, title, ins).decode()
    body = (f'<component><nonXMLBody><text mediaType="{media_type}" representation="B64">'
            f"{base64.b64encode(embedded).decode()}</text></nonXMLBody></component>")
    return structured.replace("<component><structuredBody/></component>", body).encode()
