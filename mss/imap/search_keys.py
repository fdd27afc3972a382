"""The SEARCH key tree (RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ).

Parsing builds it (`mss.imap.parser`); matching walks it (`mss.imap.search_match`).
Each key keeps the RFC name it came from, so that a session can log or re-render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mss.imap.sequence_set import SequenceSet


@dataclass(frozen=True)
class AllKey:
    """ALL: every message."""


@dataclass(frozen=True)
class FlagKey:
    """ANSWERED, SEEN, KEYWORD x... (`present`) and UNANSWERED, UNKEYWORD x... (not)."""

    flag: str
    present: bool


@dataclass(frozen=True)
class RecencyKey:
    """NEW (recent and unseen), OLD (not recent) and RECENT, by name."""

    name: str


@dataclass(frozen=True)
class HeaderKey:
    """BCC, CC, FROM, SUBJECT, TO and HEADER field: a substring of a decoded header."""

    field: str
    value: str


@dataclass(frozen=True)
class TextKey:
    """BODY (body only) or TEXT (header and body): a substring of the decoded text."""

    name: str
    value: str


@dataclass(frozen=True)
class DateKey:
    """BEFORE/ON/SINCE (internal date) and SENTBEFORE/SENTON/SENTSINCE (Date header)."""

    name: str
    day: date


@dataclass(frozen=True)
class SizeKey:
    """LARGER n or SMALLER n (RFC822.SIZE)."""

    larger: bool
    size: int


@dataclass(frozen=True)
class SequenceKey:
    """A bare sequence set (sequence numbers) or UID set."""

    sequence_set: SequenceSet
    uid: bool


@dataclass(frozen=True)
class ObjectIdKey:
    """EMAILID or THREADID objectid (RFC 8474 §5.1-5.2)."""

    name: str
    value: str


@dataclass(frozen=True)
class ModSeqKey:
    """MODSEQ [entry-name entry-type] n: modseq at least n (RFC 7162 §3.1.5)."""

    modseq: int
    entry_name: str | None = None
    entry_type: str | None = None


@dataclass(frozen=True)
class NotKey:
    """NOT key."""

    key: SearchKey


@dataclass(frozen=True)
class OrKey:
    """OR key1 key2."""

    left: SearchKey
    right: SearchKey


@dataclass(frozen=True)
class AndKey:
    """Keys side by side, or in parentheses: all must match."""

    keys: tuple[SearchKey, ...]


SearchKey = (
    AllKey
    | ObjectIdKey
    | FlagKey
    | RecencyKey
    | HeaderKey
    | TextKey
    | DateKey
    | SizeKey
    | SequenceKey
    | ModSeqKey
    | NotKey
    | OrKey
    | AndKey
)
