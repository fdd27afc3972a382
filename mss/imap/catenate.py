"""CATENATE (RFC 4469): an APPEND whose message is joined from literal text and IMAP
URLs of messages or sections in the user's own mailboxes.

Invariants:
- a URL resolves only through the session's mailbox names, so it reaches exactly the
  mailboxes the principal may read (``r`` right); no URLAUTH (RFC 4467), so another
  user's URL, another server's, a wrong UIDVALIDITY, a missing UID or an empty
  section is ``NO [BADURL "url"]`` (RFC 4469 §5) and nothing is appended;
- the joined message is checked like any APPEND afterwards (size, quota, empty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mss.imap.body_section import body_section
from mss.imap.commands import AppendedMessage, CatenatePart
from mss.imap.imap_urls import InvalidImapUrl, parse_imap_url
from mss.imap.responses import ImapNo, ImapResponseError, ResponseCode
from mss.store.folder_reads import folder_entries, folder_id_of

if TYPE_CHECKING:
    from mss.imap.session import ImapSession


def _bad_url(url: str) -> ImapNo:
    return ImapNo('BADURL "' + url.replace("\\", "\\\\").replace('"', '\\"') + '"',
                  "Cannot use this URL")


async def joined(session: ImapSession, item: AppendedMessage) -> AppendedMessage:
    """The message with its CATENATE parts joined (unchanged without parts)."""
    if item.parts is None:
        return item
    limit = session.store.settings.limits.max_message_bytes
    pieces: list[bytes] = []
    size = 0
    for part in item.parts:
        data = part.text if part.text is not None else await _url_content(session, part)
        size += len(data)
        if size > limit:
            raise ImapNo(ResponseCode.TOOBIG, "Message too large")
        pieces.append(data)
    return AppendedMessage(b"".join(pieces), item.flags, item.internal_date, item.binary)


async def _url_content(session: ImapSession, part: CatenatePart) -> bytes:
    from mss.imap.message_commands import read_contents

    url = part.url or ""
    try:
        parsed = parse_imap_url(url)
    except InvalidImapUrl:
        raise _bad_url(url) from None
    principal = session.principal
    assert principal is not None and session.names is not None
    if parsed.host is not None and parsed.host != session.hostname.lower():
        raise _bad_url(url)
    if parsed.user is not None and parsed.user.lower() != (principal.mailbox or "").lower():
        raise _bad_url(url)
    try:
        resolved = session.names.resolve(parsed.mailbox)
    except ImapResponseError:
        raise _bad_url(url) from None
    access = resolved.access
    if not access.may("r"):
        raise _bad_url(url)
    store = session.store
    async with store.reading() as db:
        folder_id = await folder_id_of(db, access.mailbox_id, resolved.folder)
        if folder_id is None:
            raise _bad_url(url)
        folder = await store.mail.folders.named(db, access.mailbox_id, resolved.folder)
        entries = await folder_entries(db, folder_id, access.reader, uids=[parsed.uid])
    if not entries or (parsed.uidvalidity is not None
                       and parsed.uidvalidity != folder.uidvalidity):
        raise _bad_url(url)
    [raw] = await read_contents(session, entries)
    data = body_section(raw, parsed.section)
    if parsed.partial is not None:
        origin, length = parsed.partial
        data = data[origin : None if length is None else origin + length]
    if not data:
        raise _bad_url(url)  # RFC 4469 §5: a URL that yields nothing is refused
    return data
