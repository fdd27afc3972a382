"""Header fields of a parsed message read without ever raising (RFC 5322 §3, RFC 2047).

The standard library's `policy.default` parses a field when it is read, and some hostile
values make that parse raise (`Message-ID: <`, `To: ): a@b;`: IndexError,
HeaderParseError). A field MSS cannot parse is kept in the message as it came and read
here as its raw text, never as an error (docs/rfc-index.md, RFC 5322).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import Message
from email.utils import getaddresses

from mss.store.text_memo import kept_readings, total_length


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
    """(display name, address) of every mailbox in `values`; none when unreadable.

    Kept for short values (one reading per text, shared by the pipeline's facts, the
    header summary and the sort keys: a correspondent's From and To repeat from message
    to message, and `getaddresses` is a pure function of the text)."""
    return list(_pairs(tuple(str(value) for value in values)))  # what getaddresses reads


def _pairs_read(texts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(getaddresses(texts))
    except Exception:  # getaddresses has raised on crafted input in some Python versions
        return ()


_pairs = kept_readings(_pairs_read, size=total_length)


def plain_addresses(values: list[str]) -> list[str]:
    """The addresses of `values` that are whole addr-specs (RFC 5322 §3.4.1), the only
    ones MSS writes back into a header it builds (an MDN's To): `getaddresses` also
    returns leftovers of hostile fields (`"unterminated, a@b`, a group's name), which
    the header parser would refuse when the field is set."""
    plain = []
    for _, address in address_pairs(values):
        local, at, domain = address.rpartition("@")
        if not (at and local and domain) or not address.isprintable():
            continue
        if len(local) > 1 and local[0] == local[-1] == '"':
            local = local[1:-1]
        try:  # quoted again where it must be ("a b"@x), then read back as one addr-spec
            spec = Address(username=local, domain=domain).addr_spec
            if Address(addr_spec=spec).addr_spec != spec:
                continue
        except Exception:  # the parser's refusal of what is not one addr-spec
            continue
        plain.append(spec)
    return plain
