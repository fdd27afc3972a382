"""IMAP URLs naming one message or one of its sections (RFC 5092 §3, §6), for CATENATE
(RFC 4469 §4). Sans-IO: parsing only; the session resolves them against the user's
own mailboxes (no URLAUTH, RFC 4467, so never another user's data).

Accepted: ``imap://user@host/mailbox;UIDVALIDITY=n/;UID=n[/;SECTION=s][/;PARTIAL=o.l]``
and the same from ``/mailbox`` (an absolute path on the connection's server). The
mailbox is %-encoded modified UTF-7 (RFC 5092 §3 ``enc-mailbox``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, unquote_to_bytes

from mss.imap.fetch_attributes import Section
from mss.imap.fetch_parser import parse_fetch_items
from mss.imap.mutf7 import InvalidModifiedUtf7, decode_mailbox_name
from mss.imap.wire_cursor import WireCursor, WireSyntaxError

_URL = re.compile(
    r"(?:imap://(?:(?P<user>[^@/;]+)(?:;[^@/]*)?@)?(?P<host>[^/:]+)(?::\d+)?)?"
    r"/(?P<mailbox>[^;]+)(?:;UIDVALIDITY=(?P<uidvalidity>[1-9][0-9]*))?"
    r"/;UID=(?P<uid>[1-9][0-9]*)"
    r"(?:/;SECTION=(?P<section>[^/]+))?"
    r"(?:/;PARTIAL=(?P<origin>[0-9]+)(?:\.(?P<length>[1-9][0-9]*))?)?",
    re.IGNORECASE,
)


class InvalidImapUrl(ValueError):
    """Not an IMAP URL naming one message (``NO [BADURL]``, RFC 4469 §5)."""


@dataclass(frozen=True, slots=True)
class ImapUrl:
    user: str | None
    host: str | None
    mailbox: str
    uidvalidity: int | None
    uid: int
    section: Section
    partial: tuple[int, int | None] | None


def parse_imap_url(text: str) -> ImapUrl:
    match = _URL.fullmatch(text)
    if match is None:
        raise InvalidImapUrl(text)
    try:
        raw_mailbox = unquote_to_bytes(match["mailbox"])
        mailbox = "INBOX" if raw_mailbox.upper() == b"INBOX" else decode_mailbox_name(raw_mailbox)
        section = Section()
        if match["section"]:
            cursor = WireCursor(b"BODY[" + unquote_to_bytes(match["section"]) + b"]")
            [attribute] = parse_fetch_items(cursor)
            if cursor.pos != len(cursor.data) or attribute.section is None:
                raise InvalidImapUrl(text)
            section = attribute.section
    except (InvalidModifiedUtf7, WireSyntaxError, ValueError) as exc:
        raise InvalidImapUrl(text) from exc
    partial = None
    if match["origin"] is not None:
        partial = (int(match["origin"]),
                   int(match["length"]) if match["length"] is not None else None)
    return ImapUrl(
        user=unquote(match["user"]) if match["user"] else None,
        host=match["host"].lower() if match["host"] else None,
        mailbox=mailbox,
        uidvalidity=int(match["uidvalidity"]) if match["uidvalidity"] else None,
        uid=int(match["uid"]),
        section=section,
        partial=partial,
    )
