"""SEARCH key grammar (RFC 3501 §6.4.4 and §9 ``search-key``, RFC 7162 §3.1.5)."""

from __future__ import annotations

from collections.abc import Callable

from mss.imap.search_keys import (
    AllKey,
    AndKey,
    DateKey,
    FlagKey,
    HeaderKey,
    ModSeqKey,
    NotKey,
    ObjectIdKey,
    OrKey,
    RecencyKey,
    SearchKey,
    SequenceKey,
    SizeKey,
    TextKey,
)
from mss.imap.wire_cursor import WireCursor, WireSyntaxError

MAX_SEARCH_DEPTH = 50
"""Nesting bound for NOT/OR/parentheses, so that hostile input cannot exhaust the stack."""

_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_HEADER_KEYS = {"BCC": "Bcc", "CC": "Cc", "FROM": "From", "SUBJECT": "Subject", "TO": "To"}
_DATE_KEYS = frozenset({"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
                        "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"})  # RFC 8514 §4.2
_MODSEQ_ENTRY_TYPES = frozenset({"PRIV", "SHARED", "ALL"})


class SearchKeyParser:
    """Reads search keys; strings are decoded with the command's charset."""

    def __init__(self, cursor: WireCursor, decode: Callable[[bytes], str]) -> None:
        self.cursor = cursor
        self.decode = decode

    def keys(self) -> SearchKey:
        """One or more keys separated by spaces, up to the end of the command."""
        keys = [self.key(0)]
        while self.cursor.accept(b" "):
            keys.append(self.key(0))
        return keys[0] if len(keys) == 1 else AndKey(tuple(keys))

    def key(self, depth: int) -> SearchKey:
        if depth > MAX_SEARCH_DEPTH:
            raise WireSyntaxError("search keys nested too deeply")
        cursor = self.cursor
        if cursor.accept(b"("):
            keys = [self.key(depth + 1)]
            while cursor.accept(b" "):
                keys.append(self.key(depth + 1))
            cursor.expect(b")")
            return keys[0] if len(keys) == 1 else AndKey(tuple(keys))
        if cursor.starts_sequence_set():
            return SequenceKey(cursor.sequence_set(), uid=False)
        name = cursor.atom()
        if name in ("ALL", "SAVEDATESUPPORTED"):  # RFC 8514 §4.2: every folder keeps them
            return AllKey()
        if name in _FLAG_KEYS:
            flag, present = _FLAG_KEYS[name]
            return FlagKey(flag, present)
        if name in ("NEW", "OLD", "RECENT"):
            return RecencyKey(name)
        if name in ("KEYWORD", "UNKEYWORD"):
            cursor.space()
            return FlagKey(cursor.raw_atom(), name == "KEYWORD")
        if name in _HEADER_KEYS:
            cursor.space()
            return HeaderKey(_HEADER_KEYS[name], self.decode(cursor.astring()))
        if name == "HEADER":
            cursor.space()
            field = self.decode(cursor.astring())
            cursor.space()
            return HeaderKey(field, self.decode(cursor.astring()))
        if name in ("BODY", "TEXT"):
            cursor.space()
            return TextKey(name, self.decode(cursor.astring()))
        if name in _DATE_KEYS:
            cursor.space()
            return DateKey(name, cursor.search_date())
        if name in ("LARGER", "SMALLER"):
            cursor.space()
            return SizeKey(name == "LARGER", cursor.number())
        if name == "UID":
            cursor.space()
            return SequenceKey(cursor.sequence_set(), uid=True)
        if name == "NOT":
            cursor.space()
            return NotKey(self.key(depth + 1))
        if name == "OR":
            cursor.space()
            left = self.key(depth + 1)
            cursor.space()
            return OrKey(left, self.key(depth + 1))
        if name == "MODSEQ":
            return self._modseq()
        if name in ("EMAILID", "THREADID"):  # RFC 8474 §6
            cursor.space()
            return ObjectIdKey(name, cursor.atom())
        raise WireSyntaxError(f"unknown search key {name}")

    def _modseq(self) -> ModSeqKey:
        """RFC 7162 §3.1.5: ``MODSEQ ["/flags/\\\\Seen" all] 620162338``."""
        cursor = self.cursor
        cursor.space()
        if cursor.starts_sequence_set() and cursor.peek() != b"*":
            return ModSeqKey(cursor.number())
        entry_name = cursor.string().decode("utf-8", "replace")
        cursor.space()
        entry_type = cursor.atom()
        if entry_type not in _MODSEQ_ENTRY_TYPES:
            raise WireSyntaxError("MODSEQ entry type must be priv, shared or all")
        cursor.space()
        return ModSeqKey(cursor.number(), entry_name, entry_type)
