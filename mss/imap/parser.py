"""IMAP command parser, sans-IO (RFC 3501 §9 and the extensions listed in `COMMANDS`).

``parse_command(buf)`` returns ``(command, rest)`` or raises `IncompleteCommand` (more
bytes needed, maybe after a ``+`` continuation) or `ImapParseError` (reply ``BAD``).
No other exception escapes for any input.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import ClassVar

from mss.imap.commands import (
    AclCommand,
    AppendCommand,
    AppendedMessage,
    AuthenticateCommand,
    CancelUpdateCommand,
    CatenatePart,
    Command,
    CompressCommand,
    CopyCommand,
    EnableCommand,
    FetchCommand,
    IdCommand,
    ListCommand,
    LoginCommand,
    MailboxCommand,
    NotifyCommand,
    NotifyGroup,
    QresyncParameters,
    QuotaRootCommand,
    RenameCommand,
    SearchCommand,
    SelectCommand,
    SetQuotaCommand,
    SortCommand,
    StatusCommand,
    StoreCommand,
    ThreadCommand,
    UidExpungeCommand,
)
from mss.imap.errors import BadCharset, ImapParseError, InvalidMailboxName
from mss.imap.fetch_attributes import FetchAttribute
from mss.imap.fetch_parser import parse_fetch_items
from mss.imap.mutf7 import InvalidModifiedUtf7, decode_mailbox_name
from mss.imap.search_parser import SearchKeyParser
from mss.imap.wire_cursor import (
    DEFAULT_MAX_LINE,
    DEFAULT_MAX_LITERAL,
    WireCursor,
    WireSyntaxError,
    command_tag,
    frame_command,
)

NO_ARGUMENT_COMMANDS = frozenset(
    {
        "CAPABILITY",
        "NOOP",
        "LOGOUT",
        "STARTTLS",
        "CHECK",
        "CLOSE",
        "EXPUNGE",
        "UNSELECT",  # RFC 3691
        "NAMESPACE",  # RFC 2342
        "IDLE",  # RFC 2177
        "UNAUTHENTICATE",  # RFC 8437
    }
)
ONE_MAILBOX_COMMANDS = frozenset(
    {"CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT", "GETACL", "MYRIGHTS"}
)
STATUS_ITEMS = frozenset(
    {
        "MESSAGES",
        "RECENT",
        "UIDNEXT",
        "UIDVALIDITY",
        "UNSEEN",
        "HIGHESTMODSEQ",  # RFC 7162 §3.1.6
        "SIZE",  # RFC 8438
        "DELETED",  # RFC 9051
        "MAILBOXID",  # RFC 8474 §4
    }
)
LIST_SELECTION_OPTIONS = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
"""RFC 5258 §3.1 and RFC 6154 §5.1; any other selection option is ``BAD``."""
LIST_RETURN_OPTIONS = frozenset({"SUBSCRIBED", "CHILDREN", "STATUS", "SPECIAL-USE"})
"""RFC 5258 §3.2, RFC 5819, RFC 6154 §5.1; any other return option is ``BAD``."""
SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO"})
"""RFC 5256 §3 sort-key."""
THREAD_ALGORITHMS = frozenset({"REFERENCES", "ORDEREDSUBJECT"})
"""RFC 5256 §3: the THREAD= capabilities advertised."""
ESEARCH_RETURN_OPTIONS = frozenset(
    {"MIN", "MAX", "ALL", "COUNT", "SAVE", "UPDATE", "PARTIAL"})
"""RFC 4731 §3.1, RFC 5182 §2 SAVE, RFC 5267 §4 UPDATE and PARTIAL (its range follows it
in the options): others are ``BAD``."""
_PARTIAL_RANGE = re.compile(r"[1-9][0-9]{0,9}:[1-9][0-9]{0,9}")
NOTIFY_FILTERS = frozenset(
    {"SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED"})
"""RFC 5465 §6 filters without mailbox names (SUBTREE and MAILBOXES take them)."""
SEARCH_CHARSETS = ("US-ASCII", "UTF-8")
"""Charsets that SEARCH accepts; others get ``NO [BADCHARSET (...)]`` (RFC 3501 §6.4.4)."""


_UTF8_NAMES: ContextVar[bool] = ContextVar("utf8_names", default=False)
"""Set while parsing for a session that enabled IMAP4rev2 (RFC 9051 §5.1)."""


def parse_command(
    buf: bytes | bytearray,
    *,
    max_line: int = DEFAULT_MAX_LINE,
    max_literal: int = DEFAULT_MAX_LITERAL,
    utf8_names: bool = False,
) -> tuple[Command, bytes]:
    """Parse the first command of `buf`; return it and the bytes after it. With
    `utf8_names` (IMAP4rev2 enabled), mailbox names are UTF-8, not modified UTF-7."""
    token = _UTF8_NAMES.set(utf8_names)
    try:
        return _parse_command(buf, max_line, max_literal)
    finally:
        _UTF8_NAMES.reset(token)


def _parse_command(buf: bytes | bytearray, max_line: int,
                   max_literal: int) -> tuple[Command, bytes]:
    end = frame_command(buf, max_line, max_literal)
    data = bytes(buf[:end])
    rest = bytes(buf[end:])
    tag = command_tag(data)
    try:
        if tag is None:
            raise WireSyntaxError("missing or invalid tag")
        cursor = WireCursor(data)
        cursor.pos = len(tag)
        cursor.space()
        command = _CommandParser(cursor, tag).command()
    except InvalidModifiedUtf7 as exc:
        raise InvalidMailboxName(tag, "Mailbox name is not valid mUTF-7",
                                 consumed=end) from exc
    except (WireSyntaxError, UnicodeDecodeError) as exc:
        raise ImapParseError(tag, str(exc) or "syntax error", consumed=end) from exc
    except ImapParseError as exc:
        exc.consumed = end
        raise
    except (RecursionError, OverflowError, ValueError) as exc:  # dates out of range
        raise ImapParseError(tag, f"invalid argument: {exc}", consumed=end) from exc
    return command, rest


def _saves(returns: tuple[str, ...] | None) -> bool:
    """RFC 5182: the command asks to save its result."""
    return returns is not None and "SAVE" in returns


def _decode_text(value: bytes) -> str:
    return value.decode("utf-8")


def _mailbox(value: bytes) -> str:
    """RFC 3501 §5.1: ``INBOX`` is case-insensitive; other names are modified UTF-7."""
    if value.upper() == b"INBOX":
        return "INBOX"
    return _decode_name(value)


def _decode_name(value: bytes) -> str:
    """RFC 9051 §5.1: UTF-8 once IMAP4rev2 is enabled; else modified UTF-7."""
    if _UTF8_NAMES.get():
        text = value.decode("utf-8")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
            raise InvalidModifiedUtf7("control character in a mailbox name")
        return text
    return decode_mailbox_name(value)


class _CommandParser:
    def __init__(self, cursor: WireCursor, tag: str) -> None:
        self.cursor = cursor
        self.tag = tag

    def command(self) -> Command:
        cursor = self.cursor
        name = cursor.atom()
        uid = False
        if name == "UID":
            cursor.space()
            uid = True
            name = cursor.atom()
            if name not in ("COPY", "MOVE", "FETCH", "SEARCH", "STORE", "EXPUNGE", "SORT",
                            "THREAD"):
                raise WireSyntaxError(f"UID {name} is not a command")
        if uid and name == "EXPUNGE":
            cursor.space()
            command: Command = UidExpungeCommand(self.tag, name, cursor.sequence_set())
        elif name in NO_ARGUMENT_COMMANDS:
            command = Command(self.tag, name)
        elif name in ONE_MAILBOX_COMMANDS:
            cursor.space()
            command = MailboxCommand(self.tag, name, self.mailbox())
        else:
            method = self._COMMANDS.get(name)
            if method is None:
                raise WireSyntaxError(f"unknown command {name}")
            command = method(self, name, uid)
        cursor.end()
        return command

    def mailbox(self) -> str:
        return _mailbox(self.cursor.astring())

    # -- not authenticated ------------------------------------------------------

    def login(self, name: str, uid: bool) -> Command:
        self.cursor.space()
        username = _decode_text(self.cursor.astring())
        self.cursor.space()
        return LoginCommand(self.tag, name, username, _decode_text(self.cursor.astring()))

    def authenticate(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.2.2 with RFC 4959 initial response (``=`` is an empty one)."""
        cursor = self.cursor
        cursor.space()
        mechanism = cursor.atom()
        initial = None
        if cursor.accept(b" "):
            initial = cursor.astring().decode("ascii")
        return AuthenticateCommand(self.tag, name, mechanism, initial)

    # -- authenticated ----------------------------------------------------------

    def select(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.3.1; RFC 4466 select parameters: CONDSTORE and QRESYNC (RFC 7162)."""
        cursor = self.cursor
        cursor.space()
        mailbox = self.mailbox()
        condstore = False
        qresync = None
        if cursor.accept(b" "):
            cursor.expect(b"(")
            while not cursor.accept(b")"):
                if condstore or qresync:
                    cursor.space()
                parameter = cursor.atom().upper()
                if parameter == "CONDSTORE" and not condstore:
                    condstore = True
                elif parameter == "QRESYNC" and qresync is None:
                    qresync = self._qresync_parameters()
                else:
                    raise WireSyntaxError(f"unsupported select parameter {parameter}")
        return SelectCommand(self.tag, name, mailbox, condstore, qresync)

    def _qresync_parameters(self) -> QresyncParameters:
        """RFC 7162 §7 ``select-param`` for QRESYNC."""
        cursor = self.cursor
        cursor.space()
        cursor.expect(b"(")
        uidvalidity = cursor.nz_number()
        cursor.space()
        modseq = cursor.number()
        known_uids = None
        if cursor.accept(b" "):
            if cursor.peek() != b"(":
                known_uids = cursor.sequence_set()
                cursor.accept(b" ")
            if cursor.accept(b"("):  # seq-match-data: parsed, not needed (see QresyncParameters)
                cursor.sequence_set()
                cursor.space()
                cursor.sequence_set()
                cursor.expect(b")")
        cursor.expect(b")")
        return QresyncParameters(uidvalidity, modseq, known_uids)

    def rename(self, name: str, uid: bool) -> Command:
        self.cursor.space()
        source = self.mailbox()
        self.cursor.space()
        return RenameCommand(self.tag, name, source, self.mailbox())

    def list_mailboxes(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.3.8 and RFC 5258 LIST-EXTENDED (RFC 5819 STATUS return option)."""
        cursor = self.cursor
        cursor.space()
        selection: tuple[str, ...] = ()
        if name == "LIST" and cursor.peek() == b"(":
            selection = tuple(option.upper() for option in cursor.parenthesised_atoms())
            unknown = set(selection) - LIST_SELECTION_OPTIONS
            if unknown:
                raise WireSyntaxError(f"unknown LIST selection option {min(unknown)}")
            if selection and set(selection) <= {"RECURSIVEMATCH", "REMOTE"} and (
                    "RECURSIVEMATCH" in selection):
                raise WireSyntaxError("RECURSIVEMATCH needs another selection option")
            cursor.space()
        reference = _mailbox(cursor.astring())
        cursor.space()
        if name == "LIST" and cursor.accept(b"("):
            patterns = [cursor.list_mailbox()]
            while cursor.accept(b" "):
                patterns.append(cursor.list_mailbox())
            cursor.expect(b")")
        else:
            patterns = [cursor.list_mailbox()]
        returns: list[str] = []
        status_items: tuple[str, ...] = ()
        if name == "LIST" and cursor.accept(b" "):
            cursor.expect(b"RETURN ")
            cursor.expect(b"(")
            while not cursor.accept(b")"):
                if returns:
                    cursor.space()
                option = cursor.atom().upper()
                if option not in LIST_RETURN_OPTIONS:
                    raise WireSyntaxError(f"unknown LIST return option {option}")
                returns.append(option)
                if option == "STATUS":
                    cursor.space()
                    status_items = self._status_items()
        decoded = tuple(_decode_pattern(pattern) for pattern in patterns)
        return ListCommand(
            self.tag, name, reference, decoded, selection, tuple(returns), status_items
        )

    def status(self, name: str, uid: bool) -> Command:
        cursor = self.cursor
        cursor.space()
        mailbox = self.mailbox()
        cursor.space()
        return StatusCommand(self.tag, name, mailbox, self._status_items())

    def _status_items(self) -> tuple[str, ...]:
        items = self.cursor.parenthesised_atoms()
        unknown = [item for item in items if item not in STATUS_ITEMS]
        if unknown or not items:
            raise WireSyntaxError(f"bad status items {' '.join(unknown)}")
        return items

    def append(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.3.11; RFC 3516 §4.4 literal8 for binary content; RFC 3502."""
        cursor = self.cursor
        cursor.space()
        mailbox = self.mailbox()
        cursor.space()
        first = self._appended_message()
        more = []
        while cursor.accept(b" "):  # RFC 3502 MULTIAPPEND
            more.append(self._appended_message())
        return AppendCommand(self.tag, name, mailbox, first.message, first.flags,
                             first.internal_date, first.binary, tuple(more), first.parts)

    def _appended_message(self) -> AppendedMessage:
        cursor = self.cursor
        flags: tuple[str, ...] = ()
        if cursor.peek() == b"(":
            flags = cursor.flag_list()
            cursor.space()
        internal_date = None
        if cursor.peek() == b'"':
            internal_date = cursor.date_time()
            cursor.space()
        if cursor.accept(b"CATENATE ("):
            return AppendedMessage(b"", flags, internal_date, False, self._catenate_parts())
        message, binary = cursor.literal(allow_binary=True)
        return AppendedMessage(message, flags, internal_date, binary)

    def _catenate_parts(self) -> tuple[CatenatePart, ...]:
        """RFC 4469 §5 ``cat-part``: ``TEXT`` literal (literal8 with BINARY, RFC 4469
        §5 and RFC 3516) or ``URL`` astring; at least one."""
        cursor = self.cursor
        parts: list[CatenatePart] = []
        while not cursor.accept(b")"):
            if parts:
                cursor.space()
            kind = cursor.atom()
            cursor.space()
            if kind == "TEXT":
                parts.append(CatenatePart(text=cursor.literal(allow_binary=True)[0]))
            elif kind == "URL":
                parts.append(CatenatePart(url=cursor.astring().decode("utf-8")))
            else:
                raise WireSyntaxError(f"unknown CATENATE part {kind}")
            if len(parts) > 1000:
                raise WireSyntaxError("too many CATENATE parts")
        if not parts:
            raise WireSyntaxError("CATENATE needs at least one part")
        return tuple(parts)

    def identify(self, name: str, uid: bool) -> Command:
        """RFC 2971 §3.3: ``ID NIL`` or ``ID ("name" "value" ...)``."""
        cursor = self.cursor
        cursor.space()
        if cursor.accept(b"NIL"):
            return IdCommand(self.tag, name, None)
        cursor.expect(b"(")
        pairs: list[tuple[str, str | None]] = []
        while not cursor.accept(b")"):
            if pairs:
                cursor.space()
            field = cursor.string().decode("utf-8", "replace")
            cursor.space()
            value = cursor.nstring()
            pairs.append((field, None if value is None else value.decode("utf-8", "replace")))
            if len(pairs) > 30:
                raise WireSyntaxError("too many ID fields (RFC 2971 §3.3)")
        return IdCommand(self.tag, name, tuple(pairs))

    def enable(self, name: str, uid: bool) -> Command:
        cursor = self.cursor
        capabilities = []
        while cursor.accept(b" "):
            capabilities.append(cursor.atom())
        if not capabilities:
            raise WireSyntaxError("ENABLE needs at least one capability")
        return EnableCommand(self.tag, name, tuple(capabilities))

    def compress(self, name: str, uid: bool) -> Command:
        """RFC 4978 §3: ``COMPRESS DEFLATE``."""
        self.cursor.space()
        return CompressCommand(self.tag, name, self.cursor.atom())

    def getquota(self, name: str, uid: bool) -> Command:
        self.cursor.space()
        return QuotaRootCommand(self.tag, name, _decode_text(self.cursor.astring()))

    def setquota(self, name: str, uid: bool) -> Command:
        """RFC 9208 §4.4: ``SETQUOTA "" (STORAGE 512)``."""
        cursor = self.cursor
        cursor.space()
        root = _decode_text(cursor.astring())
        cursor.space()
        cursor.expect(b"(")
        limits: list[tuple[str, int]] = []
        while not cursor.accept(b")"):
            if limits:
                cursor.space()
            resource = cursor.atom()
            cursor.space()
            limits.append((resource, cursor.number()))
        return SetQuotaCommand(self.tag, name, root, tuple(limits))

    def acl(self, name: str, uid: bool) -> Command:
        """RFC 4314 §3.1-3.4: SETACL, DELETEACL, LISTRIGHTS."""
        cursor = self.cursor
        cursor.space()
        mailbox = self.mailbox()
        cursor.space()
        identifier = _decode_text(cursor.astring())
        rights = None
        if name == "SETACL":
            cursor.space()
            rights = cursor.astring().decode("ascii")
        return AclCommand(self.tag, name, mailbox, identifier, rights)

    # -- selected ---------------------------------------------------------------

    def search(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.4.4; RFC 4731 ``RETURN (...)``."""
        cursor = self.cursor
        cursor.space()
        returns = None
        if cursor.accept(b"RETURN "):
            returns = self._return_options()
            cursor.space()
        charset = None
        decode: Callable[[bytes], str] = _decode_text
        if cursor.accept(b"CHARSET "):
            charset = cursor.astring().decode("ascii").upper()
            decode = self._charset_decoder(charset, _saves(returns))
            cursor.space()
        key = SearchKeyParser(cursor, decode).keys()
        return SearchCommand(self.tag, name, key, uid, charset, returns)

    def _return_options(self) -> tuple[str, ...]:
        """RFC 4731 ``search-return-opts``; ``PARTIAL low:high`` (RFC 5267 §4.4) keeps its
        range as the next item."""
        options = self.cursor.parenthesised_atoms()
        names = [o for o, previous in zip(options, ("", *options), strict=False)
                 if previous != "PARTIAL"]
        unknown = set(names) - ESEARCH_RETURN_OPTIONS
        if unknown:
            raise WireSyntaxError(f"unknown RETURN option {min(unknown)}")
        if "PARTIAL" in options:
            at = options.index("PARTIAL")
            if at + 1 >= len(options) or _PARTIAL_RANGE.fullmatch(options[at + 1]) is None:
                raise WireSyntaxError("PARTIAL needs a range like 1:100")
        return options

    def sort(self, name: str, uid: bool) -> Command:
        """RFC 5256 §3 ``SORT (criteria) charset keys``; RFC 5267 §3 ``RETURN (...)``."""
        cursor = self.cursor
        cursor.space()
        returns = None
        if cursor.accept(b"RETURN "):
            returns = self._return_options()
            cursor.space()
        cursor.expect(b"(")
        criteria: list[tuple[str, bool]] = []
        while not cursor.accept(b")"):
            if criteria:
                cursor.space()
            item = cursor.atom()
            reverse = item == "REVERSE"
            if reverse:
                cursor.space()
                item = cursor.atom()
            if item not in SORT_KEYS:
                raise WireSyntaxError(f"unknown sort key {item}")
            criteria.append((item, reverse))
        if not criteria:
            raise WireSyntaxError("SORT needs at least one sort key")
        cursor.space()
        charset = cursor.astring().decode("ascii").upper()
        decode = self._charset_decoder(charset, _saves(returns))
        cursor.space()
        key = SearchKeyParser(cursor, decode).keys()
        return SortCommand(self.tag, name, tuple(criteria), key, uid, charset, returns)

    def thread(self, name: str, uid: bool) -> Command:
        """RFC 5256 §3 ``THREAD algorithm charset keys``."""
        cursor = self.cursor
        cursor.space()
        algorithm = cursor.atom()
        if algorithm not in THREAD_ALGORITHMS:
            raise WireSyntaxError(f"unknown thread algorithm {algorithm}")
        cursor.space()
        charset = cursor.astring().decode("ascii").upper()
        decode = self._charset_decoder(charset)
        cursor.space()
        key = SearchKeyParser(cursor, decode).keys()
        return ThreadCommand(self.tag, name, algorithm, key, uid, charset)

    def _charset_decoder(self, charset: str, saves: bool = False) -> Callable[[bytes], str]:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            codec = ""
        if codec not in ("ascii", "utf-8"):
            refused = BadCharset(
                self.tag,
                f"charset {charset} not supported",
                code="BADCHARSET (" + " ".join(SEARCH_CHARSETS) + ")",
            )
            refused.saves_result = saves
            raise refused
        return lambda value: value.decode(codec)

    def fetch(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.4.5; RFC 7162 §3.1.4.1 CHANGEDSINCE, RFC 7162 §3.2.6 VANISHED."""
        cursor = self.cursor
        cursor.space()
        sequence_set = cursor.sequence_set()
        cursor.space()
        attributes = parse_fetch_items(cursor)
        changed_since = None
        vanished = False
        if cursor.accept(b" "):
            cursor.expect(b"(")
            while not cursor.accept(b")"):
                if changed_since is not None or vanished:
                    cursor.space()
                modifier = cursor.atom()
                if modifier == "CHANGEDSINCE":
                    cursor.space()
                    changed_since = cursor.nz_number()
                elif modifier == "VANISHED" and uid:
                    vanished = True
                else:
                    raise WireSyntaxError(f"unknown fetch modifier {modifier}")
            if vanished and changed_since is None:
                raise WireSyntaxError("VANISHED needs CHANGEDSINCE")
        if uid and not any(attribute.name == "UID" for attribute in attributes):
            attributes = (*attributes, _UID_ATTRIBUTE)
        return FetchCommand(self.tag, name, sequence_set, attributes, uid, changed_since, vanished)

    def store(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.4.6; RFC 7162 §3.1.3 UNCHANGEDSINCE."""
        cursor = self.cursor
        cursor.space()
        sequence_set = cursor.sequence_set()
        cursor.space()
        unchanged_since = None
        if cursor.accept(b"("):
            cursor.expect(b"UNCHANGEDSINCE ")
            unchanged_since = cursor.number()
            cursor.expect(b")")
            cursor.space()
        mode = "add" if cursor.accept(b"+") else "remove" if cursor.accept(b"-") else "replace"
        cursor.expect(b"FLAGS")
        silent = cursor.accept(b".SILENT")
        cursor.space()
        if cursor.peek() == b"(":
            flags = cursor.flag_list()
        else:
            flag_items = [cursor.flag()]
            while cursor.accept(b" "):
                flag_items.append(cursor.flag())
            flags = tuple(flag_items)
        if "\\Recent" in flags or "\\*" in flags:
            raise WireSyntaxError("\\Recent and \\* cannot be stored")
        return StoreCommand(self.tag, name, sequence_set, mode, flags, silent, uid, unchanged_since)

    def copy(self, name: str, uid: bool) -> Command:
        """RFC 3501 §6.4.7 COPY, RFC 6851 MOVE."""
        cursor = self.cursor
        cursor.space()
        sequence_set = cursor.sequence_set()
        cursor.space()
        return CopyCommand(self.tag, name, sequence_set, self.mailbox(), uid)

    def cancel_update(self, name: str, uid: bool) -> Command:
        """RFC 5267 §4.3 ``CANCELUPDATE 1*(SP tag-string)``."""
        tags: list[str] = []
        while self.cursor.accept(b" "):
            tags.append(self.cursor.string().decode("ascii"))
        if not tags:
            raise WireSyntaxError("CANCELUPDATE needs the tag of a search")
        return CancelUpdateCommand(self.tag, name, tuple(tags))

    def notify(self, name: str, uid: bool) -> Command:
        """RFC 5465 §8 ``notify``: ``NONE`` or ``SET [STATUS] event-group...``."""
        cursor = self.cursor
        cursor.space()
        word = cursor.atom()
        if word == "NONE":
            return NotifyCommand(self.tag, name, None)
        if word != "SET":
            raise WireSyntaxError("NOTIFY takes SET or NONE")
        status = cursor.accept(b" STATUS")  # status-indicator = SP "STATUS"
        groups: list[NotifyGroup] = []
        while cursor.accept(b" "):
            groups.append(self._notify_group())
        if not groups:
            raise WireSyntaxError("NOTIFY SET needs an event group")
        return NotifyCommand(self.tag, name, tuple(groups), status)

    def _notify_group(self) -> NotifyGroup:
        cursor = self.cursor
        cursor.expect(b"(")
        kind = cursor.atom()
        mailboxes: tuple[str, ...] = ()
        if kind in ("SUBTREE", "MAILBOXES"):
            cursor.space()
            if cursor.accept(b"("):
                names = [self.mailbox()]
                while cursor.accept(b" "):
                    names.append(self.mailbox())
                cursor.expect(b")")
                mailboxes = tuple(names)
            else:
                mailboxes = (self.mailbox(),)
        elif kind not in NOTIFY_FILTERS:
            raise WireSyntaxError(f"unknown NOTIFY mailbox filter {kind}")
        cursor.space()
        events: list[str] = []
        attributes: tuple[FetchAttribute, ...] = ()
        if cursor.accept(b"("):
            while not cursor.accept(b")"):
                if events:
                    cursor.space()
                event = cursor.atom()
                events.append(event)
                if event == "MESSAGENEW" and cursor.peek(2) == b" (":
                    cursor.space()
                    attributes = parse_fetch_items(cursor)
            if not events:
                raise WireSyntaxError("empty NOTIFY event list")
        elif cursor.atom() != "NONE":
            raise WireSyntaxError("expected NOTIFY events or NONE")
        cursor.expect(b")")
        return NotifyGroup(kind, mailboxes, tuple(events), attributes)

    _COMMANDS: ClassVar[dict[str, Callable[[_CommandParser, str, bool], Command]]] = {
        "LOGIN": login,
        "AUTHENTICATE": authenticate,
        "SELECT": select,
        "EXAMINE": select,
        "RENAME": rename,
        "LIST": list_mailboxes,
        "LSUB": list_mailboxes,
        "STATUS": status,
        "APPEND": append,
        "ID": identify,
        "ENABLE": enable,
        "COMPRESS": compress,
        "GETQUOTA": getquota,
        "SETQUOTA": setquota,
        "SETACL": acl,
        "DELETEACL": acl,
        "LISTRIGHTS": acl,
        "SEARCH": search,
        "SORT": sort,
        "THREAD": thread,
        "FETCH": fetch,
        "STORE": store,
        "COPY": copy,
        "MOVE": copy,
        "CANCELUPDATE": cancel_update,
        "NOTIFY": notify,
    }


def _decode_pattern(pattern: bytes) -> str:
    if pattern.upper() == b"INBOX":
        return "INBOX"
    return _decode_name(pattern)


_UID_ATTRIBUTE = FetchAttribute("UID")
"""RFC 3501 §6.4.8: UID FETCH always returns the UID."""
