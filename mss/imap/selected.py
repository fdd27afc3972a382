"""The selected mailbox as one session has told the client about it (RFC 3501 §2.3.1.2).

Invariants:
- `uids` lists the UIDs the client knows, in sequence order: a message leaves it only
  when its EXPUNGE response is sent, and joins it only with an EXISTS response, so
  sequence numbers always mean what the client was told;
- change events of other sessions are only noted here; they become responses when the
  session is allowed to send them (RFC 3501 §7.4.1: no EXPUNGE during FETCH, STORE,
  SEARCH);
- a flag change the session already reported itself (STORE, implied ``\\Seen``) is not
  reported again when its event arrives.
"""

from __future__ import annotations

import asyncio
import bisect
from array import array
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from mss.directory.mail_access import MailAccess
from mss.store.events import ChangeEvent

RECENT_FLAG = frozenset({"\\Recent"})
NO_UID_LIMIT = 2**32  # UIDs are 32-bit (RFC 3501 §2.3.1.1)


@dataclass
class SelectedMailbox:
    access: MailAccess
    folder: str
    folder_id: int
    uidvalidity: int
    read_only: bool
    uids: array[int]
    events: asyncio.Queue[ChangeEvent]
    exit_stack: AsyncExitStack
    expunged: set[int] = field(default_factory=set)
    flag_events: dict[int, int] = field(default_factory=dict)  # uid -> modseq
    flag_values: dict[int, tuple[str, ...]] = field(default_factory=dict)  # uid -> flags
    has_new: bool = False
    overflow: bool = False
    reported: dict[int, int] = field(default_factory=dict)  # uid -> modseq told
    # RFC 3501 §2.3.2: inclusive UID ranges that are \\Recent in this session
    recent: list[tuple[int, int]] = field(default_factory=list)
    keywords: set[str] = field(default_factory=set)  # told to the client in FLAGS
    saved_result: list[int] = field(default_factory=list)  # RFC 5182 ``$``, as UIDs
    contexts: dict[str, Any] = field(default_factory=dict)  # RFC 5267 §4, by search tag
    _positions: dict[int, int] | None = field(default=None, repr=False)

    @property
    def mailbox_id(self) -> int:
        return self.access.mailbox_id

    @property
    def last_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def sequence_of(self, uid: int) -> int | None:
        position = bisect.bisect_left(self.uids, uid)
        if position < len(self.uids) and self.uids[position] == uid:
            return position + 1
        return None

    def sequences_of(self, uids: Sequence[int]) -> list[tuple[int, int]]:
        """(sequence number, uid) of the given UIDs the client knows, in the order
        given (ascending for a search, the sort order for SORT), for results of
        thousands of messages: arithmetic while the known UIDs have no gap, else a
        position table built once per change of the list."""
        known = self.uids
        if not known:
            return []
        first = known[0]
        if known[-1] - first + 1 == len(known):
            last = known[-1]
            return [(uid - first + 1, uid) for uid in uids if first <= uid <= last]
        if self._positions is None:
            self._positions = {uid: position for position, uid in enumerate(known, 1)}
        positions = self._positions
        return [(positions[uid], uid) for uid in uids if uid in positions]

    def is_recent(self, uid: int) -> bool:
        return any(low <= uid <= high for low, high in self.recent)

    def recent_count(self) -> int:
        uids = self.uids
        return sum(bisect.bisect_right(uids, high) - bisect.bisect_left(uids, low)
                   for low, high in self.recent)

    def shown_flags(self, uid: int, flags: frozenset[str]) -> frozenset[str]:
        """The flags as this session shows them: with \\Recent when it is recent here."""
        return flags | RECENT_FLAG if self.recent and self.is_recent(uid) else flags

    def append(self, uid: int) -> None:
        """A new message the client is about to be told of (EXISTS)."""
        self.uids.append(uid)
        self._positions = None

    def remove(self, uid: int) -> int | None:
        """Forget a message; returns the sequence number its EXPUNGE must carry."""
        sequence = self.sequence_of(uid)
        if sequence is not None:
            del self.uids[sequence - 1]
            self._positions = None
        self.expunged.discard(uid)
        self.flag_events.pop(uid, None)
        self.flag_values.pop(uid, None)
        self.reported.pop(uid, None)
        return sequence

    def note(self, event: ChangeEvent) -> None:
        """Record one change event (from the store's bus, after commit)."""
        if event.kind == "overflow":
            self.overflow = True
            return
        if event.folder_id != self.folder_id:
            return
        if event.kind == "exists":
            if event.uid > self.last_uid:
                self.has_new = True
        elif event.kind == "expunge":
            if self.sequence_of(event.uid) is not None:
                self.expunged.add(event.uid)
        elif event.kind == "flags":
            if self.reported.get(event.uid, 0) >= event.modseq:
                self.reported.pop(event.uid, None)
            elif (self.sequence_of(event.uid) is not None
                  and event.modseq >= self.flag_events.get(event.uid, 0)):
                self.flag_events[event.uid] = event.modseq
                # shared flags on a mailbox without private ones: the event says it all
                shared = event.reader is None and self.access.reader is None
                if shared and event.flags is not None:
                    self.flag_values[event.uid] = event.flags
                else:
                    self.flag_values.pop(event.uid, None)

    def drain(self) -> None:
        """Note every event already queued, without waiting."""
        while True:
            try:
                self.note(self.events.get_nowait())
            except asyncio.QueueEmpty:
                return

    def pending(self) -> bool:
        return bool(self.has_new or self.expunged or self.flag_events or self.overflow)
