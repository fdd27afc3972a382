"""XML parsing that refuses DTDs, entities and external references (defusedxml).

METADATA.XML and CDA documents come from outside: no XXE, no billion laughs, no network.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import fromstring

from mss.vault.errors import VaultExtractionError


def parse_xml_safely(data: bytes, *, what: str, max_bytes: int) -> Element:
    """Parse `data` or raise VaultExtractionError naming `what` (never the content)."""
    if len(data) > max_bytes:
        raise VaultExtractionError(f"{what}: larger than {max_bytes} bytes")
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        construct = type(exc).__name__
        raise VaultExtractionError(f"{what}: forbidden XML construct ({construct})") from exc
    except (ParseError, ValueError, LookupError, RecursionError) as exc:
        raise VaultExtractionError(f"{what}: not well-formed XML") from exc


def local_name(tag: object) -> str:
    """`{urn:x}Name` → `Name` (comments and processing instructions give '')."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]
