"""Rendering of server responses (RFC 3501 §7 and §9 ``response``).

Values are bytes ready for the wire. Strings choose their own form: quoted when they
are short 7-bit text, literal otherwise (RFC 3501 §4.3: 8-bit, CR, LF). Errors that
render their own reply (docs/architecture.md §8.3) are `ImapNo` and `ImapBad`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from mss.imap.mutf7 import encode_mailbox_name
from mss.imap.sequence_set import SequenceSet, compact_sequence_set
from mss.imap.wire_cursor import MONTHS

NIL = b"NIL"
CRLF = b"\r\n"
MAX_QUOTED_LENGTH = 1000
"""Longer strings go as literals, which clients never have to unescape."""


class ResponseCode(StrEnum):
    """Response codes without arguments (RFC 3501 §7.1, RFC 5530, RFC 4315, RFC 7162)."""

    ALERT = "ALERT"
    PARSE = "PARSE"
    READ_ONLY = "READ-ONLY"
    READ_WRITE = "READ-WRITE"
    TRYCREATE = "TRYCREATE"
    UIDNOTSTICKY = "UIDNOTSTICKY"  # RFC 4315 §3
    NOMODSEQ = "NOMODSEQ"  # RFC 7162 §3.1.2
    CLOSED = "CLOSED"  # RFC 7162 §3.2.11
    TOOBIG = "TOOBIG"  # RFC 4469 §5
    UNAVAILABLE = "UNAVAILABLE"  # RFC 5530 §3
    AUTHENTICATIONFAILED = "AUTHENTICATIONFAILED"
    AUTHORIZATIONFAILED = "AUTHORIZATIONFAILED"
    EXPIRED = "EXPIRED"
    PRIVACYREQUIRED = "PRIVACYREQUIRED"
    CONTACTADMIN = "CONTACTADMIN"
    NOPERM = "NOPERM"
    INUSE = "INUSE"
    EXPUNGEISSUED = "EXPUNGEISSUED"
    CORRUPTION = "CORRUPTION"
    SERVERBUG = "SERVERBUG"
    CLIENTBUG = "CLIENTBUG"
    CANNOT = "CANNOT"
    LIMIT = "LIMIT"
    OVERQUOTA = "OVERQUOTA"
    ALREADYEXISTS = "ALREADYEXISTS"
    NONEXISTENT = "NONEXISTENT"
    HASCHILDREN = "HASCHILDREN"  # RFC 9051 §7.1
    COMPRESSIONACTIVE = "COMPRESSIONACTIVE"  # RFC 4978 §3


# -- values -------------------------------------------------------------------


def render_string(value: bytes | str) -> bytes:
    """A quoted string, or a literal for 8-bit, CR/LF/NUL or long values (RFC 3501 §4.3)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    needs_literal = (
        len(data) > MAX_QUOTED_LENGTH
        or not data.isascii()
        or b"\r" in data
        or b"\n" in data
        or b"\x00" in data
    )
    if needs_literal:
        return b"{%d}\r\n" % len(data) + data
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def render_nstring(value: bytes | str | None) -> bytes:
    """``NIL`` or a string (RFC 3501 §9 ``nstring``)."""
    return NIL if value is None else render_string(value)


def render_literal(value: bytes, binary: bool = False) -> bytes:
    """Always a literal; ``~{n}`` for RFC 3516 BINARY content that may hold NUL."""
    prefix = b"~" if binary else b""
    return prefix + b"{%d}\r\n" % len(value) + value


def render_list(items: Iterable[bytes]) -> bytes:
    """``(a b c)`` (RFC 3501 §4.4)."""
    return b"(" + b" ".join(items) + b")"


def render_mailbox(name: str, utf8: bool = False) -> bytes:
    """A mailbox name in modified UTF-7 (RFC 3501 §5.1.3), or in UTF-8 once IMAP4rev2
    is enabled (RFC 9051 §5.1), quoted as needed."""
    return render_string(name if utf8 else encode_mailbox_name(name))


def render_flags(flags: Iterable[str]) -> bytes:
    return render_list(flag.encode("ascii") for flag in flags)


_MONTH_BYTES = tuple(month.encode("ascii") for month in MONTHS)


def render_internal_date(moment: datetime) -> bytes:
    """RFC 3501 §9 ``date-time``: ``"17-Jul-1996 02:44:25 -0700"``."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    hours, rest = divmod(abs(minutes), 60)
    # %-formatting of the fields: datetime's own strftime costs ten times as much, and
    # FETCH renders one date per message
    return b'"%2d-%s-%04d %02d:%02d:%02d %s%02d%02d"' % (
        moment.day, _MONTH_BYTES[moment.month - 1], moment.year, moment.hour,
        moment.minute, moment.second, b"-" if minutes < 0 else b"+", hours, rest)


# -- response codes ----------------------------------------------------------------


def code_with_number(name: str, number: int) -> str:
    """``UIDNEXT 4392``, ``UIDVALIDITY 3857529045``, ``UNSEEN 12``, ``HIGHESTMODSEQ 7``."""
    return f"{name} {number}"


def code_uidnext(uid: int) -> str:
    return code_with_number("UIDNEXT", uid)  # RFC 3501 §7.1


def code_uidvalidity(uidvalidity: int) -> str:
    return code_with_number("UIDVALIDITY", uidvalidity)  # RFC 3501 §7.1


def code_unseen(sequence_number: int) -> str:
    return code_with_number("UNSEEN", sequence_number)  # RFC 3501 §7.1


def code_highest_modseq(modseq: int) -> str:
    return code_with_number("HIGHESTMODSEQ", modseq)  # RFC 7162 §3.1.2.1


def code_permanent_flags(flags: Iterable[str]) -> str:
    """RFC 3501 §7.1 ``PERMANENTFLAGS (\\Seen \\*)``."""
    return "PERMANENTFLAGS " + render_flags(flags).decode("ascii")


def code_capability(capabilities: Iterable[str]) -> str:
    return "CAPABILITY " + " ".join(capabilities)  # RFC 3501 §7.1


def code_appenduid(uidvalidity: int, uids: Sequence[int]) -> str:
    """RFC 4315 §3 ``APPENDUID 38505 3955``."""
    return f"APPENDUID {uidvalidity} {compact_sequence_set(uids)}"


def code_copyuid(uidvalidity: int, source_uids: Sequence[int], target_uids: Sequence[int]) -> str:
    """RFC 4315 §3 ``COPYUID 38505 304,319:320 3956:3958`` (same order on both sides)."""
    if len(source_uids) != len(target_uids):
        raise ValueError("COPYUID needs as many source as target UIDs")
    source = compact_sequence_set(source_uids)
    target = compact_sequence_set(target_uids)
    return f"COPYUID {uidvalidity} {source} {target}"


def code_modified(sequence_set: SequenceSet) -> str:
    return f"MODIFIED {sequence_set}"  # RFC 7162 §3.1.3


def vanished(uids: Sequence[int], *, earlier: bool = False) -> bytes:
    """RFC 7162 §3.2.10 ``* VANISHED [(EARLIER)] uid-set``; nothing when no UID."""
    if not uids:
        return b""
    flag = b" (EARLIER)" if earlier else b""
    return b"* VANISHED" + flag + b" " + str(compact_sequence_set(sorted(uids))).encode() + b"\r\n"


def code_badcharset(charsets: Iterable[str]) -> str:
    return "BADCHARSET (" + " ".join(charsets) + ")"  # RFC 3501 §7.1


# -- whole responses -----------------------------------------------------------------


def _status_text(status: str, text: str, code: str | None) -> bytes:
    bracket = f"[{code}] " if code else ""
    clean = text.replace("\r", " ").replace("\n", " ")
    return f"{status} {bracket}{clean}".encode()


def tagged(tag: str, status: str, text: str, code: str | None = None) -> bytes:
    """``a1 OK [READ-WRITE] SELECT completed`` (RFC 3501 §7.1)."""
    return tag.encode("ascii") + b" " + _status_text(status, text, code) + CRLF


def untagged_status(status: str, text: str, code: str | None = None) -> bytes:
    """``* OK [UIDNEXT 5] Predicted next UID`` (RFC 3501 §7.1)."""
    return b"* " + _status_text(status, text, code) + CRLF


def untagged(*parts: bytes) -> bytes:
    """``* 3 EXISTS``, ``* FLAGS (...)``: parts joined by spaces (RFC 3501 §7.2-7.4)."""
    return b"* " + b" ".join(parts) + CRLF


def continuation(text: str = "") -> bytes:
    """``+ Ready`` (RFC 3501 §7.5)."""
    return b"+ " + text.encode() + CRLF


def fetch_response(sequence_number: int, items: Sequence[tuple[bytes, bytes]]) -> bytes:
    """``* 12 FETCH (FLAGS (\\Seen) UID 4827)`` (RFC 3501 §7.4.2)."""
    body = b" ".join(name + b" " + value for name, value in items)
    return b"* %d FETCH (" % sequence_number + body + b")" + CRLF


# -- errors that render themselves ------------------------------------------------


class ImapResponseError(Exception):
    """Raised anywhere in a command, caught once at the command boundary (docs/architecture.md
    §8.3)."""

    status = "NO"

    def __init__(self, code: str | None, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text

    def render(self, tag: str) -> bytes:
        return tagged(tag, self.status, self.text, self.code)


class ImapNo(ImapResponseError):
    """``NO``: the command was understood but failed (RFC 3501 §7.1.2)."""


class ImapBad(ImapResponseError):
    """``BAD``: the command was not acceptable (RFC 3501 §7.1.3)."""

    status = "BAD"
