"""An HL7 CDA R2 document as a page a patient can read: its header and its narrative.

The header gives the title, date, author and their organisation, the patient, the
custodian and the confidentiality. The body is the narrative block of each section of a
`structuredBody` (HL7 CDA R2 §4.3.5): `paragraph`, `list`/`item`, `table` and its parts,
`content` with `styleCode` (Bold, Italics, Underline, Emphasis), `br`, `sub`/`sup`,
`caption`, `footnote`; `linkHtml` shows as its plain text (a document never links out);
`renderMultiMedia` shows the image its `referencedObject` names when that is an
`observationMedia` carrying PNG, JPEG or GIF in base64. Anything else shows as its text.
A `nonXMLBody` (CI-SIS "N1") is not rendered here: the caller offers its content.

The HTML is built escaped, then cleaned again with nh3 (tags and attributes listed
here; image sources only `data:image/...;base64`), and the page is served with a CSP
that runs no script. Pure: bytes in, a view out.
"""

from __future__ import annotations

import base64
import binascii
import html
from dataclasses import dataclass
from datetime import datetime

import nh3
from lxml import etree  # type: ignore[import-untyped]

from mss.vault.cda import (
    NS,
    EmbeddedBody,
    attribute,
    first,
    header_of,
    is_clinical_document,
    parse_cda,
    person_name,
    text_of,
)
from mss.vault.errors import VaultExtractionError
from mss.vault.hl7_time import parse_hl7_time
from mss.vault.limits import DEFAULT_LIMITS, ExtractionLimits

V3 = "{urn:hl7-org:v3}"
CONFIDENTIALITY = {"N": ("Normale", "Normal"), "R": ("Restreinte", "Restricted"),
                   "V": ("Très restreinte", "Very restricted")}
"""HL7 Confidentiality codes (2.16.840.1.113883.5.25), French then English."""

_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
_STYLES = {"bold": "strong", "italics": "em", "underline": "u", "emphasis": "em"}
_TAGS = {"section", "h2", "h3", "h4", "p", "ul", "ol", "li", "table", "caption", "thead",
         "tbody", "tfoot", "tr", "th", "td", "strong", "em", "u", "sub", "sup", "br", "img",
         "span", "small", "figure"}
_ATTRIBUTES = {"td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
               "img": {"src", "alt"}, "span": {"class"}}
_SIMPLE = {"paragraph": "p", "item": "li", "caption": "caption", "thead": "thead",
           "tbody": "tbody", "tfoot": "tfoot", "tr": "tr", "th": "th", "td": "td",
           "sub": "sub", "sup": "sup"}
MAX_DEPTH = 8
"""Nested sections shown as headings h2 to h4; deeper ones stay h4."""


@dataclass(frozen=True, slots=True)
class CdaView:
    title: str
    date: datetime | None
    author: str | None
    organisation: str | None
    patient: str | None
    patient_birth: datetime | None
    custodian: str | None
    confidentiality: tuple[str, str] | None
    """(French, English) label, None when the header states none."""
    body_html: str
    """Sanitised HTML of the narrative ('' for a nonXMLBody document)."""
    embedded: EmbeddedBody | None


def render_cda(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> CdaView:
    """The view of a CDA document; VaultExtractionError when it is not one or unsafe."""
    root = parse_cda(data, limits)
    if not is_clinical_document(root):
        raise VaultExtractionError("not a CDA R2 ClinicalDocument")
    header = header_of(root)
    author = first(root, "h:author/h:assignedAuthor")
    patient = first(root, "h:recordTarget/h:patientRole/h:patient")
    code = header.confidentiality_code
    media = _observation_media(root)
    sections = root.findall("h:component/h:structuredBody/h:component/h:section", NS)
    body = "".join(_section(s, 0, media) for s in sections)
    return CdaView(
        title=header.title or "Document",
        date=parse_hl7_time(header.effective_time),
        author=header.author,
        organisation=(text_of(author, "h:representedOrganization/h:name")
                      if author is not None else None),
        patient=person_name(first(patient, "h:name")) if patient is not None else None,
        patient_birth=(parse_hl7_time(attribute(patient, "h:birthTime", "value"))
                       if patient is not None else None),
        custodian=text_of(root, "h:custodian/h:assignedCustodian/"
                                "h:representedCustodianOrganization/h:name"),
        confidentiality=CONFIDENTIALITY.get(code.upper(), (code, code)) if code else None,
        body_html=_clean(body),
        embedded=header.embedded,
    )


def _observation_media(root: etree._Element) -> dict[str, str]:
    """`ID` → `data:` URI of each observationMedia that is a PNG, JPEG or GIF."""
    found: dict[str, str] = {}
    for media in root.iter(f"{V3}observationMedia"):
        ident = media.get("ID")
        value = media.find("h:value", NS)
        if not ident or value is None:
            continue
        media_type = (value.get("mediaType") or "").strip().lower()
        if media_type not in _IMAGE_TYPES or (value.get("representation") or "") != "B64":
            continue
        try:
            raw = base64.b64decode("".join((value.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        found[ident] = f"data:{media_type};base64,{base64.b64encode(raw).decode()}"
    return found


def _section(section: etree._Element, depth: int, media: dict[str, str]) -> str:
    level = min(2 + depth, 4)
    parts = ["<section>"]
    title = text_of(section, "h:title")
    if title:
        parts.append(f"<h{level}>{html.escape(title)}</h{level}>")
    text = section.find("h:text", NS)
    if text is not None:
        parts.append(_children(text, media))
    if depth < MAX_DEPTH:
        for child in section.findall("h:component/h:section", NS):
            parts.append(_section(child, depth + 1, media))
    parts.append("</section>")
    return "".join(parts)


def _children(element: etree._Element, media: dict[str, str]) -> str:
    """The element's text and its children's narrative, in document order."""
    parts = [html.escape(element.text or "")]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(_narrative(child, media))
        parts.append(html.escape(child.tail or ""))
    return "".join(parts)


def _narrative(element: etree._Element, media: dict[str, str]) -> str:
    name = etree.QName(element).localname if isinstance(element.tag, str) else ""
    inner = _children(element, media)
    if name in _SIMPLE:
        tag = _SIMPLE[name]
        spans = "".join(f' {a}="{html.escape(v)}"' for a in ("colspan", "rowspan")
                        if tag in ("td", "th") and (v := element.get(a) or "").isdigit())
        return f"<{tag}{spans}>{inner}</{tag}>"
    if name == "list":
        tag = "ol" if (element.get("listType") or "").lower() == "ordered" else "ul"
        return f"<{tag}>{inner}</{tag}>"
    if name == "table":
        return f"<table>{inner}</table>"
    if name == "br":
        return "<br>"
    if name == "content":
        for style in (element.get("styleCode") or "").lower().split():
            if style in _STYLES:
                inner = f"<{_STYLES[style]}>{inner}</{_STYLES[style]}>"
        return inner
    if name == "footnote":
        return f"<small>{inner}</small>"
    if name == "renderMultiMedia":
        images = [media[ref] for ref in (element.get("referencedObject") or "").split()
                  if ref in media]
        caption = text_of(element, "h:caption") or ""
        return "".join(f'<img src="{src}" alt="{html.escape(caption)}">' for src in images)
    return inner  # linkHtml, footnoteRef, unknown elements: their text only


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        media_type = value[5:].split(";", 1)[0] if value.startswith("data:") else ""
        return value if media_type in _IMAGE_TYPES and ";base64," in value else None
    return value


def _clean(fragment: str) -> str:
    return nh3.clean(fragment, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"data"},
                     attribute_filter=_keep_attribute, strip_comments=True)
