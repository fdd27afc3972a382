"""Typed IMAP commands, as `mss.imap.parser` returns them.

Every command has its `tag` and its upper-case `name` (``UID FETCH`` is `FetchCommand`
with ``uid=True``). Mailbox names are already decoded from modified UTF-7
(RFC 3501 §5.1.3), ``INBOX`` in any case is ``"INBOX"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mss.imap.fetch_attributes import FetchAttribute
from mss.imap.search_keys import SearchKey
from mss.imap.sequence_set import SequenceSet


@dataclass(frozen=True)
class Command:
    """A command without arguments: CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK, CLOSE,
    EXPUNGE, UNSELECT (RFC 3691), NAMESPACE (RFC 2342), IDLE (RFC 2177)."""

    tag: str
    name: str


@dataclass(frozen=True)
class LoginCommand(Command):
    """LOGIN userid password (RFC 3501 §6.2.3)."""

    username: str
    password: str


@dataclass(frozen=True)
class AuthenticateCommand(Command):
    """AUTHENTICATE mechanism [initial-response] (RFC 3501 §6.2.2, RFC 4959 SASL-IR)."""

    mechanism: str
    initial_response: str | None = None


@dataclass(frozen=True)
class QresyncParameters:
    """``QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])`` (RFC 7162 §3.2.5).

    The sequence-match data only helps a server that forgets expunged UIDs; MSS keeps
    them, so it is parsed and not used."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None


@dataclass(frozen=True)
class SelectCommand(Command):
    """SELECT / EXAMINE mailbox [(CONDSTORE | QRESYNC (...))] (RFC 3501 §6.3.1,
    RFC 7162 §3.1.8, §3.2.5)."""

    mailbox: str
    condstore: bool = False
    qresync: QresyncParameters | None = None

    @property
    def read_only(self) -> bool:
        return self.name == "EXAMINE"


@dataclass(frozen=True)
class MailboxCommand(Command):
    """A command on one mailbox: CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE,
    GETQUOTAROOT (RFC 9208), GETACL and MYRIGHTS (RFC 4314)."""

    mailbox: str


@dataclass(frozen=True)
class RenameCommand(Command):
    """RENAME existing new (RFC 3501 §6.3.5)."""

    mailbox: str
    new_name: str


@dataclass(frozen=True)
class ListCommand(Command):
    """LIST / LSUB with RFC 5258 selection and return options.

    `patterns` are decoded like mailbox names; `lsub` marks the old LSUB command.
    """

    reference: str
    patterns: tuple[str, ...]
    selection_options: tuple[str, ...] = ()
    return_options: tuple[str, ...] = ()
    status_items: tuple[str, ...] = ()

    @property
    def lsub(self) -> bool:
        return self.name == "LSUB"


@dataclass(frozen=True)
class StatusCommand(Command):
    """STATUS mailbox (items) (RFC 3501 §6.3.10, RFC 7162 HIGHESTMODSEQ)."""

    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class CatenatePart:
    """One part of ``CATENATE (...)`` (RFC 4469 §5): ``TEXT`` literal bytes, or the
    ``URL`` of a message or section of the user's own mailboxes."""

    text: bytes | None = None
    url: str | None = None


@dataclass(frozen=True)
class AppendedMessage:
    """One message of an APPEND: its flags, date and content (or, with CATENATE, the
    parts to join into it, RFC 4469)."""

    message: bytes
    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None
    binary: bool = False
    parts: tuple[CatenatePart, ...] | None = None


@dataclass(frozen=True)
class AppendCommand(Command):
    """APPEND mailbox [flags] [date-time] message (RFC 3501 §6.3.11, RFC 3516 literal8),
    then more messages for MULTIAPPEND (RFC 3502 §6.3.11) in `more`."""

    mailbox: str
    message: bytes
    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None
    binary: bool = False
    more: tuple[AppendedMessage, ...] = ()
    parts: tuple[CatenatePart, ...] | None = None

    @property
    def messages(self) -> tuple[AppendedMessage, ...]:
        first = AppendedMessage(self.message, self.flags, self.internal_date, self.binary,
                                self.parts)
        return (first, *self.more)


@dataclass(frozen=True)
class SearchCommand(Command):
    """[UID] SEARCH [RETURN (...)] [CHARSET c] keys (RFC 3501 §6.4.4, RFC 4731)."""

    key: SearchKey
    uid: bool = False
    charset: str | None = None
    return_options: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SortCommand(Command):
    """[UID] SORT [RETURN (...)] (criteria) charset keys (RFC 5256 §3, RFC 5267 ESORT).

    `criteria` are (key, reverse) pairs: ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO."""

    criteria: tuple[tuple[str, bool], ...]
    key: SearchKey
    uid: bool = False
    charset: str | None = None
    return_options: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ThreadCommand(Command):
    """[UID] THREAD algorithm charset keys (RFC 5256 §3): REFERENCES or ORDEREDSUBJECT."""

    algorithm: str
    key: SearchKey
    uid: bool = False
    charset: str | None = None


@dataclass(frozen=True)
class FetchCommand(Command):
    """[UID] FETCH set items [(CHANGEDSINCE n [VANISHED])] (RFC 3501 §6.4.5, RFC 7162)."""

    sequence_set: SequenceSet
    attributes: tuple[FetchAttribute, ...]
    uid: bool = False
    changed_since: int | None = None
    vanished: bool = False


@dataclass(frozen=True)
class StoreCommand(Command):
    """[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags (RFC 3501 §6.4.6).

    `mode` is ``"replace"``, ``"add"`` or ``"remove"``.
    """

    sequence_set: SequenceSet
    mode: str
    flags: tuple[str, ...]
    silent: bool = False
    uid: bool = False
    unchanged_since: int | None = None


@dataclass(frozen=True)
class CopyCommand(Command):
    """[UID] COPY / MOVE set mailbox (RFC 3501 §6.4.7, RFC 6851)."""

    sequence_set: SequenceSet
    mailbox: str
    uid: bool = False


@dataclass(frozen=True)
class UidExpungeCommand(Command):
    """UID EXPUNGE set (RFC 4315 §2.1)."""

    sequence_set: SequenceSet
    uid: bool = True


@dataclass(frozen=True)
class IdCommand(Command):
    """ID (field value ...) or ID NIL (RFC 2971)."""

    parameters: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True)
class CompressCommand(Command):
    """COMPRESS mechanism (RFC 4978 §3)."""

    mechanism: str


@dataclass(frozen=True)
class EnableCommand(Command):
    """ENABLE capability... (RFC 5161)."""

    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class QuotaRootCommand(Command):
    """GETQUOTA root (RFC 9208 §4.2)."""

    root: str


@dataclass(frozen=True)
class SetQuotaCommand(Command):
    """SETQUOTA root (resource limit ...) (RFC 9208 §4.4)."""

    root: str
    limits: tuple[tuple[str, int], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AclCommand(Command):
    """LISTRIGHTS / DELETEACL mailbox identifier, SETACL ... rights (RFC 4314 §3)."""

    mailbox: str
    identifier: str
    rights: str | None = None


@dataclass(frozen=True)
class CancelUpdateCommand(Command):
    """CANCELUPDATE tag... (RFC 5267 §4.3): stop the updates of those searches."""

    tags: tuple[str, ...]


@dataclass(frozen=True)
class NotifyGroup:
    """One event group of NOTIFY SET (RFC 5465 §3): a mailbox filter (``SELECTED``,
    ``SELECTED-DELAYED``, ``INBOXES``, ``PERSONAL``, ``SUBSCRIBED``, ``SUBTREE``,
    ``MAILBOXES``), the names SUBTREE/MAILBOXES take, the events (upper-case; none for
    ``NONE``) and the fetch attributes of MessageNew."""

    filter: str
    mailboxes: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    fetch_attributes: tuple[FetchAttribute, ...] = ()


@dataclass(frozen=True)
class NotifyCommand(Command):
    """NOTIFY NONE / NOTIFY SET [STATUS] group... (RFC 5465 §3); `groups` is None for
    NONE."""

    groups: tuple[NotifyGroup, ...] | None
    status: bool = False
