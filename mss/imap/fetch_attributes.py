"""FETCH attributes (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ).

Macros are expanded by the parser; a `FetchAttribute` knows how to name itself in the
FETCH response (RFC 3501 §7.4.2: ``BODY[...]<origin>``, never ``.PEEK``).
"""

from __future__ import annotations

from dataclasses import dataclass

SIMPLE_ATTRIBUTES = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "SAVEDATE",  # RFC 8514 §4.1
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
        "EMAILID",  # RFC 8474 §5.1
        "THREADID",  # RFC 8474 §5.2
    }
)
"""Attributes that take no section (RFC 3501 §9 ``fetch-att``, RFC 7162 §3.1.4.1)."""

MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
"""RFC 3501 §6.4.5 macros."""

SECTION_TEXTS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME")


@dataclass(frozen=True)
class Section:
    """``1.2.HEADER.FIELDS (From To)``: part path, text specifier, header names.

    An empty `parts` and no `text` is the whole message (``BODY[]``).
    """

    parts: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[str, ...] = ()

    def render(self) -> str:
        """The section as written in a FETCH response (RFC 3501 §7.4.2)."""
        pieces = [".".join(str(part) for part in self.parts)] if self.parts else []
        if self.text:
            pieces.append(self.text)
        rendered = ".".join(pieces)
        if self.fields:
            rendered += " (" + " ".join(self.fields) + ")"
        return rendered


@dataclass(frozen=True)
class FetchAttribute:
    """One FETCH item: `name` is ``BODY``, ``BINARY``, ``BINARY.SIZE`` when a section
    is given, else one of `SIMPLE_ATTRIBUTES`; `partial` is (origin, length)."""

    name: str
    section: Section | None = None
    partial: tuple[int, int] | None = None
    peek: bool = False

    @property
    def sets_seen(self) -> bool:
        """RFC 3501 §6.4.5: BODY[...], RFC822 and RFC822.TEXT set ``\\Seen``; PEEK does not."""
        if self.peek:
            return False
        if self.section is not None:
            return self.name in ("BODY", "BINARY")
        return self.name in ("RFC822", "RFC822.TEXT")

    def response_name(self) -> str:
        """Name in the FETCH response: ``BODY[1.MIME]<0>`` (RFC 3501 §7.4.2)."""
        if self.section is None:
            return self.name
        rendered = f"{self.name}[{self.section.render()}]"
        if self.partial is not None:
            rendered += f"<{self.partial[0]}>"
        return rendered
