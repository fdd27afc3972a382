"""Header fields of a parsed message read without ever raising (RFC 5322 §3, RFC 2047).

The standard library's `policy.default` parses a field when it is read, and some hostile
values make that parse raise (`Message-ID: <`, `To: ): a@b;`: IndexError,
HeaderParseError). A field MSS cannot parse is kept in the message as it came and read
here as its raw text, never as an error (docs/rfc-index.md, RFC 5322).
"""

from __future__ import annotations

from email.message import Message
from email.utils import getaddresses


def field_values(message: Message, name: str) -> list[str]:
    """Every value of field `name`, decoded where the parser can, else as sent."""
    wanted = name.lower()
    values: list[str] = []
    for field, raw in message.raw_items():
        if field.lower() != wanted:
            continue
        try:
            values.append(str(message.policy.header_fetch_parse(field, raw)))
        except Exception:  # the parser's own failure on a hostile value: the raw text
            values.append(str(raw))
    return values


def field_text(message: Message, name: str) -> str:
    """The first value of `name` on one line, '' when absent."""
    values = field_values(message, name)
    return " ".join(values[0].split()) if values else ""


def address_pairs(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) of every mailbox in `values`; none when unreadable."""
    try:
        return getaddresses(values)
    except Exception:  # getaddresses has raised on crafted input in some Python versions
        return []
