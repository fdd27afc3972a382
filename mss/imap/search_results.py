"""Search results kept by the session: SEARCHRES (RFC 5182) and CONTEXT=SEARCH /
CONTEXT=SORT (RFC 5267 §4), and the ESEARCH reply they share (RFC 4731 §3.1).

Invariants:
- the saved result (``$``) and the search contexts belong to the selected mailbox: a
  new SELECT, EXAMINE, CLOSE or UNSELECT forgets them (RFC 5182 §2.1, RFC 5267 §4.2);
- both are kept as UIDs and turned into numbers only when a command uses them, so an
  expunged message simply leaves them (RFC 5182 §2.1);
- a SEARCH that fails leaves the saved result empty (RFC 5182 §2.1);
- context updates (``ADDTO``/``REMOVEFROM``) follow the EXISTS/EXPUNGE/FETCH updates
  of the same round, so every UID they name is one the client was told of.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mss.imap.commands import Command, SearchCommand, SortCommand
from mss.imap.responses import ImapNo
from mss.imap.search_keys import AndKey, NotKey, OrKey, SearchKey, SequenceKey
from mss.imap.selected import SelectedMailbox
from mss.imap.sequence_set import SequenceSet, compact_sequence_set

if TYPE_CHECKING:
    from mss.imap.session import ImapSession

MAX_CONTEXTS = 16
"""Searches a session may keep updated at once; beyond, ``NO [NOUPDATE]`` (RFC 5267 §4.2)."""
RESULT_CHANGING = frozenset({"STORE", "FETCH", "EXPUNGE", "MOVE", "APPEND", "COPY"})
"""Commands of the session itself after which the kept searches are evaluated again
(its own flag changes are not echoed back as events)."""


@dataclass(frozen=True, slots=True)
class ReturnOptions:
    """RFC 4731 ``RETURN (...)`` as parsed: the option names, and PARTIAL's range."""

    names: frozenset[str]
    partial: tuple[int, int] | None = None

    @classmethod
    def of(cls, options: tuple[str, ...]) -> ReturnOptions:
        partial = None
        if "PARTIAL" in options:
            low, _, high = options[options.index("PARTIAL") + 1].partition(":")
            partial = (min(int(low), int(high)), max(int(low), int(high)))
        names = frozenset(o for o in options if ":" not in o)
        if not names - {"SAVE", "UPDATE"} and partial is None and (
                not names or "UPDATE" in names):
            names |= {"ALL"}  # RFC 4731 §3.1: RETURN () is ALL; RFC 5267 §4.2 UPDATE too
        return cls(names, partial)

    @property
    def reports(self) -> frozenset[str]:
        """The options that produce data in the ESEARCH response."""
        return self.names & {"MIN", "MAX", "ALL", "COUNT", "PARTIAL"}

    @property
    def silent(self) -> bool:
        """RFC 5182 §2.4: ``RETURN (SAVE)`` alone sends no ESEARCH response."""
        return "SAVE" in self.names and not self.reports


def esearch_line(tag: str, uid: bool, numbers: Sequence[int], options: ReturnOptions,
                 *, ordered: bool = False, modseq: int | None = None) -> bytes:
    """One ``* ESEARCH`` response (RFC 4731 §3.1; RFC 5267 §3.2 when `ordered`: MIN and
    MAX are the first and last in sort order and ALL keeps the order; RFC 5267 §4.4
    PARTIAL: the messages at those positions of the result, NIL when there are none)."""
    parts = [b'* ESEARCH (TAG "' + tag.encode("ascii") + b'")']
    if uid:
        parts.append(b"UID")
    names = options.names
    if numbers and "MIN" in names:
        parts.append(b"MIN %d" % (numbers[0] if ordered else min(numbers)))
    if numbers and "MAX" in names:
        parts.append(b"MAX %d" % (numbers[-1] if ordered else max(numbers)))
    if numbers and "ALL" in names:
        parts.append(b"ALL " + render_set(numbers if ordered else sorted(numbers)))
    if "COUNT" in names:
        parts.append(b"COUNT %d" % len(numbers))
    if options.partial is not None:
        low, high = options.partial
        window = list(numbers if ordered else sorted(numbers))[low - 1 : high]
        parts.append(b"PARTIAL (%d:%d %s)" % (low, high,
                                               render_set(window) if window else b"NIL"))
    if modseq is not None:
        parts.append(b"MODSEQ %d" % modseq)
    return b" ".join(parts) + b"\r\n"


def render_set(numbers: Sequence[int]) -> bytes:
    """A sequence set that keeps the given order: ascending runs as ``a:b``."""
    return str(compact_sequence_set(numbers)).encode("ascii")


# -- SEARCHRES ----------------------------------------------------------------------


def save_result(selected: SelectedMailbox, options: ReturnOptions,
                uids_in_order: Sequence[int]) -> None:
    """RFC 5182 §2.1, §2.4: with MIN and/or MAX alone only those messages are saved."""
    if "SAVE" not in options.names:
        return
    if not uids_in_order:
        selected.saved_result = []
        return
    if options.names & {"MIN", "MAX"} and not options.names & {"ALL", "COUNT"} \
            and options.partial is None:
        kept = set()
        if "MIN" in options.names:
            kept.add(uids_in_order[0])
        if "MAX" in options.names:
            kept.add(uids_in_order[-1])
        selected.saved_result = sorted(kept)
    else:
        selected.saved_result = sorted(uids_in_order)


def resolve_saved(selected: SelectedMailbox | None, command: Command) -> Command:
    """The command with ``$`` replaced by the saved result, as UIDs for UID commands
    and as the sequence numbers the client knows otherwise (RFC 5182 §2.1: an empty
    result after a failed SEARCH, and before any SAVE)."""
    sequence_set = getattr(command, "sequence_set", None)
    key = getattr(command, "key", None)
    if not (isinstance(sequence_set, SequenceSet) and sequence_set.saved) and not (
            key is not None and _has_saved(key)):
        return command
    if selected is None:
        raise ImapNo(None, "No saved search result outside a selected mailbox")
    changes: dict[str, Any] = {}
    if isinstance(sequence_set, SequenceSet) and sequence_set.saved:
        changes["sequence_set"] = _saved_set(selected, getattr(command, "uid", False))
    if key is not None:
        changes["key"] = _resolve_key(key, selected)
    return dataclasses.replace(command, **changes)


def _saved_set(selected: SelectedMailbox, by_uid: bool) -> SequenceSet:
    pairs = selected.sequences_of(selected.saved_result)
    numbers = [uid for _, uid in pairs] if by_uid else [sequence for sequence, _ in pairs]
    return compact_sequence_set(numbers)


def _has_saved(key: SearchKey) -> bool:
    match key:
        case SequenceKey(sequence_set=sequence_set):
            return sequence_set.saved
        case NotKey(key=inner):
            return _has_saved(inner)
        case OrKey(left=left, right=right):
            return _has_saved(left) or _has_saved(right)
        case AndKey(keys=keys):
            return any(_has_saved(k) for k in keys)
    return False


def _resolve_key(key: SearchKey, selected: SelectedMailbox) -> SearchKey:
    match key:
        case SequenceKey(sequence_set=sequence_set) if sequence_set.saved:
            return SequenceKey(_saved_set(selected, True), uid=True)
        case NotKey(key=inner):
            return NotKey(_resolve_key(inner, selected))
        case OrKey(left=left, right=right):
            return OrKey(_resolve_key(left, selected), _resolve_key(right, selected))
        case AndKey(keys=keys):
            return AndKey(tuple(_resolve_key(k, selected) for k in keys))
    return key


# -- CONTEXT=SEARCH, CONTEXT=SORT -----------------------------------------------------


@dataclass(slots=True)
class SearchContext:
    """A search the client asked to keep updated (``RETURN (UPDATE)``): its command and
    the UIDs of its last result (UID order for SEARCH, sort order for SORT)."""

    command: SearchCommand | SortCommand
    options: ReturnOptions
    uids: list[int]


def keep_context(selected: SelectedMailbox, command: SearchCommand | SortCommand,
                 options: ReturnOptions, uids_in_order: Sequence[int]) -> None:
    """RFC 5267 §4.2: the search is kept until CANCELUPDATE or the mailbox is left."""
    if "UPDATE" not in options.names:
        return
    if len(selected.contexts) >= MAX_CONTEXTS and command.tag not in selected.contexts:
        raise ImapNo(f'NOUPDATE "{command.tag}"', "Too many searches kept updated")
    selected.contexts[command.tag] = SearchContext(command, options, list(uids_in_order))


async def context_updates(session: ImapSession, selected: SelectedMailbox) -> list[bytes]:
    """ADDTO and REMOVEFROM for every kept search whose result changed (RFC 5267 §4.3):
    SEARCH names position 0 (its result has no order); SORT names the position of
    each message (removals from the last position down, then additions in order)."""
    from mss.imap.sort_commands import sorted_uids, uids_matching

    out: list[bytes] = []
    for tag, context in list(selected.contexts.items()):
        command = context.command
        matching = await uids_matching(session, command.key)
        if isinstance(command, SortCommand):
            fresh = await sorted_uids(session, command, matching)
        else:
            fresh = sorted(matching)
        if fresh == context.uids:
            continue
        old, context.uids = context.uids, fresh
        out.extend(_changes(session, selected, tag, context, old, fresh))
    return out


def _changes(session: ImapSession, selected: SelectedMailbox, tag: str,
             context: SearchContext, old: list[int], fresh: list[int]) -> list[bytes]:
    command, options = context.command, context.options
    uid = command.uid
    ordered = isinstance(command, SortCommand)
    head = b'* ESEARCH (TAG "' + tag.encode("ascii") + b'")' + (b" UID" if uid else b"")

    def number(value: int) -> int | None:
        return value if uid else selected.sequence_of(value)

    lines: list[bytes] = []
    if options.names & {"MIN", "MAX", "COUNT"}:
        numbers = [n for n in (number(u) for u in fresh) if n is not None]
        lines.append(esearch_line(tag, uid, numbers, ReturnOptions(
            options.names & {"MIN", "MAX", "COUNT"}), ordered=ordered))
    if not options.names & {"ALL"} and options.names & {"MIN", "MAX", "COUNT"}:
        return lines
    kept = set(fresh)
    removed = [(position, u) for position, u in enumerate(old, 1) if u not in kept]
    before = set(old)
    added = [(position, u) for position, u in enumerate(fresh, 1) if u not in before]
    if ordered:
        for position, u in reversed(removed):
            n = number(u)
            if n is not None:
                lines.append(head + b" REMOVEFROM (%d %d)\r\n" % (position, n))
        pairs = [b"%d %d" % (position, n) for position, u in added
                 if (n := number(u)) is not None]
        if pairs:
            lines.append(head + b" ADDTO (" + b" ".join(pairs) + b")\r\n")
        return lines
    gone = [n for _, u in removed if (n := number(u)) is not None]
    if gone:
        lines.append(head + b" REMOVEFROM (0 " + render_set(sorted(gone)) + b")\r\n")
    new = [n for _, u in added if (n := number(u)) is not None]
    if new:
        lines.append(head + b" ADDTO (0 " + render_set(sorted(new)) + b")\r\n")
    return lines
