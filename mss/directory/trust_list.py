"""The trust list ("liste blanche") of the MSSanté space, read safely as published.

`<ListeBlancheMSSante xmlns="https://listeblanche.mssante.fr/schema">` holds
`<DateDeGeneration>` and `<ListeDomaines>` of `<Domaine>` entries (Nom, Description,
DNCertificatOperateur, ResponsableContact, SupportContact, DateMAJ); docs/architecture.md §9.

Rules of this reader:
- defusedxml, no DTD, no entities, no external references;
- streamed: each entry is read then dropped from the tree;
- the published file lacks its closing `</ListeBlancheMSSante>`: a document that ends
  after a complete `</Domaine>` or `</ListeDomaines>` (whitespace and the start of the
  closing tags aside) is read as published; one cut inside an entry is refused;
- a wrong root or namespace, an entry without Nom or DN, no entry at all, or a SHA-256
  other than the one expected, are refused.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from mss.distinguished_names import dn_lookup_key

NAMESPACE = "https://listeblanche.mssante.fr/schema"
ROOT = f"{{{NAMESPACE}}}ListeBlancheMSSante"
DOMAINS = f"{{{NAMESPACE}}}ListeDomaines"
ENTRY = f"{{{NAMESPACE}}}Domaine"
GENERATED = f"{{{NAMESPACE}}}DateDeGeneration"
# expat: "no element found", "unclosed token", "partial character": the input ended early
_TRUNCATION_CODES = frozenset({3, 5, 6})
_CLOSING_TAIL = b"</ListeDomaines></ListeBlancheMSSante>"


class TrustListError(Exception):
    """A trust list refused; the message says why (and where, when it can)."""


@dataclass(frozen=True, slots=True)
class TrustedEntry:
    domain: str
    subject_dn: str  # normalised (see distinguished_names)
    published_dn: str = ""  # as written in the file
    description: str = ""
    updated: str = ""  # DateMAJ as published


@dataclass(frozen=True)
class TrustList:
    generated_at: str
    sha256: str
    entries: tuple[TrustedEntry, ...]
    complete: bool  # False when read without its closing root tag, as published
    _by_domain: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, set[str]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.domain, set()).add(entry.subject_dn)
        self._by_domain.update({d: frozenset(dns) for d, dns in grouped.items()})

    @property
    def by_domain(self) -> dict[str, frozenset[str]]:
        """Domain → set of operator certificate DNs allowed for it."""
        return self._by_domain

    @property
    def entry_count(self) -> int:
        return len(self.entries)

    @property
    def domain_count(self) -> int:
        return len(self._by_domain)

    @property
    def dn_count(self) -> int:
        """Distinct operator DNs once normalised (`O=A, C=FR` and `O=A,C=FR` are one)."""
        return len({entry.subject_dn for entry in self.entries})

    @property
    def published_dn_count(self) -> int:
        """Distinct DNs as spelled in the file."""
        return len({entry.published_dn for entry in self.entries})


def _child_text(element: Element, name: str) -> str:
    child = element.find(f"{{{NAMESPACE}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _entry(element: Element, number: int) -> TrustedEntry:
    domain = _child_text(element, "Nom").lower().rstrip(".")
    dn = _child_text(element, "DNCertificatOperateur")
    if not domain:
        raise TrustListError(f"entry {number} has no <Nom>")
    if not dn.strip(", \t\r\n"):  # "," or blanks: no certificate has an empty subject
        raise TrustListError(f"entry {number} ({domain}) has no <DNCertificatOperateur>")
    return TrustedEntry(domain, dn_lookup_key(dn), dn, _child_text(element, "Description"),
                        _child_text(element, "DateMAJ"))


def _ends_between_entries(data: bytes) -> bool:
    """True when nothing but whitespace and the start of the closing tags follows the
    last complete `</Domaine>` or `</ListeDomaines>`."""
    last_entry = data.rfind(b"</Domaine>")
    last_list = data.rfind(b"</ListeDomaines>")
    if last_entry < 0 and last_list < 0:
        return False
    start = last_list if last_list > last_entry else last_entry + len(b"</Domaine>")
    tail = data[start:]
    return _CLOSING_TAIL.startswith(b"".join(tail.split()))


def _events(data: bytes) -> Iterator[tuple[str, Element]]:
    return iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True,
                     forbid_entities=True, forbid_external=True)


def parse_trust_list(data: bytes, expected_sha256: str | None = None) -> TrustList:
    """Read a published trust list, or raise TrustListError saying why it is refused."""
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.strip().lower():
        raise TrustListError(f"checksum mismatch: file SHA-256 is {digest}")
    entries: list[TrustedEntry] = []
    generated = ""
    stack: list[Element] = []
    inside_entry = False
    complete = False
    try:
        for event, element in _events(data):
            if event == "start":
                if not stack and element.tag != ROOT:
                    raise TrustListError(
                        f"not a trust list: root is {element.tag}, expected {ROOT}"
                    )
                if element.tag == ENTRY and len(stack) == 2 and stack[1].tag == DOMAINS:
                    inside_entry = True
                stack.append(element)
                continue
            stack.pop()
            if element.tag == GENERATED and len(stack) == 1:
                generated = (element.text or "").strip()
            elif element.tag == ENTRY and inside_entry and len(stack) == 2:
                entries.append(_entry(element, len(entries) + 1))
                inside_entry = False
                stack[-1].remove(element)  # constant memory: drop what was read
            elif element.tag == ROOT:
                complete = True
    except (DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: encoding=
        raise TrustListError(f"unsafe or invalid XML refused: {exc}") from None
    except ParseError as exc:
        truncated = exc.code in _TRUNCATION_CODES
        if not truncated or inside_entry or not stack or not _ends_between_entries(data):
            where = "inside an entry" if truncated and inside_entry else "in the document"
            raise TrustListError(f"malformed trust list {where}: {exc}") from None
    if not entries:
        raise TrustListError("the trust list has no <Domaine> entry")
    return TrustList(generated, digest, tuple(entries), complete)


def trust_list_document(entries: list[tuple[str, str, str]], generated_at: str) -> bytes:
    """A trust list in the published format, one <Domaine> per (domain, operator DN,
    description): what the demo installs, and the format docs/trust-list.md describes."""
    from xml.sax.saxutils import escape

    domains = "".join(
        f"\n    <Domaine><Nom>{escape(domain)}</Nom>"
        f"<Description>{escape(description)}</Description>"
        f"<DNCertificatOperateur>{escape(dn)}</DNCertificatOperateur>"
        "<ResponsableContact></ResponsableContact><SupportContact></SupportContact>"
        f"<DateMAJ>{escape(generated_at)}</DateMAJ></Domaine>"
        for domain, dn, description in entries
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListeBlancheMSSante xmlns="{NAMESPACE}">'
            f"\n  <DateDeGeneration>{escape(generated_at)}</DateDeGeneration>\n"
            f"  <ListeDomaines>{domains}\n  </ListeDomaines>\n</ListeBlancheMSSante>\n"
            ).encode()
