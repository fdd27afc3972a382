"""ENVELOPE (RFC 3501 §7.4.2), from the raw header bytes.

Values are the unfolded header values as sent; clients decode RFC 2047 themselves.
Sender and Reply-To default to From when absent or empty (RFC 3501 §7.4.2).
"""

from __future__ import annotations

from mss.imap.addresses import EnvelopeAddress, parse_address_list
from mss.imap.mime_tree import MimePart, parse_header_only
from mss.imap.responses import NIL, render_list, render_nstring


def envelope(raw: bytes) -> bytes:
    """The ENVELOPE of a message given as raw bytes."""
    return envelope_of(parse_header_only(raw))


def envelope_of(part: MimePart) -> bytes:
    """The ENVELOPE of an entity already parsed (also used for message/rfc822 parts)."""
    from_ = _addresses(part.field_value("from"))
    sender = _addresses(part.field_value("sender")) or from_
    reply_to = _addresses(part.field_value("reply-to")) or from_
    items = [
        render_nstring(part.field_value("date")),
        render_nstring(part.field_value("subject")),
        _render_addresses(from_),
        _render_addresses(sender),
        _render_addresses(reply_to),
        _render_addresses(_addresses(part.field_value("to"))),
        _render_addresses(_addresses(part.field_value("cc"))),
        _render_addresses(_addresses(part.field_value("bcc"))),
        render_nstring(part.field_value("in-reply-to")),
        render_nstring(part.field_value("message-id")),
    ]
    return render_list(items)


def _addresses(value: bytes | None) -> list[EnvelopeAddress]:
    return [] if value is None else parse_address_list(value)


def _render_addresses(addresses: list[EnvelopeAddress]) -> bytes:
    """``NIL`` when empty, else ``((name adl mailbox host) ...)`` (RFC 3501 §9 ``env-from``)."""
    if not addresses:
        return NIL
    return render_list(
        render_list(
            [
                render_nstring(address.name),
                render_nstring(address.adl),
                render_nstring(address.mailbox),
                render_nstring(address.host),
            ]
        )
        for address in addresses
    )
