"""Change events: published after commit, consumed by IMAP IDLE and the webmail.

In one process the bus fans events out to asyncio queues; between nodes a relay can
carry the same JSON form over PostgreSQL LISTEN/NOTIFY (`to_json` / `from_json`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass

SUBSCRIBER_QUEUE = 1000  # a subscriber that lags this far is told to resynchronise


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    kind: str  # "exists" | "flags" | "expunge" | "folder"
    mailbox_id: int
    folder_id: int
    uid: int = 0
    modseq: int = 0
    # "flags": the flags after the change, and whose private view they are (None: the
    # shared flags everyone sees), so that sessions can tell their clients without a read
    flags: tuple[str, ...] | None = None
    reader: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ChangeEvent:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, item: dict[str, object]) -> ChangeEvent:
        flags = item.get("flags")
        if isinstance(flags, list):
            item = {**item, "flags": tuple(str(f) for f in flags)}
        return cls(**item)  # type: ignore[arg-type]


OVERFLOW = ChangeEvent("overflow", 0, 0)
TRUST_LIST_CHANGED = ChangeEvent("trust", 0, 0)  # mailbox 0: the operator as a whole
CRL_CHANGED = ChangeEvent("crl", 0, 0)  # a revocation: every process reloads the CRL
# a PKI or DKIM file sealed anew (mss.store.node_file_sync): every node syncs its files now
NODE_FILES_CHANGED = ChangeEvent("node-files", 0, 0)


class EventBus:
    """In-process publish/subscribe keyed by mailbox id."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[asyncio.Queue[ChangeEvent]]] = {}
        self._listeners: list[Callable[[ChangeEvent], None]] = []

    def add_listener(self, callback: Callable[[ChangeEvent], None]) -> None:
        """A plain callback for every event (caches that must forget what changed)."""
        self._listeners.append(callback)

    def publish(self, event: ChangeEvent) -> None:
        for callback in self._listeners:
            callback(event)
        for queue in list(self._subscribers.get(event.mailbox_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait(OVERFLOW)

    @contextlib.asynccontextmanager
    async def subscribe(self, mailbox_id: int) -> AsyncIterator[asyncio.Queue[ChangeEvent]]:
        queue: asyncio.Queue[ChangeEvent] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.setdefault(mailbox_id, set()).add(queue)
        try:
            yield queue
        finally:
            subs = self._subscribers.get(mailbox_id)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._subscribers[mailbox_id]
