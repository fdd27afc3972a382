"""NOTIFY (RFC 5465): the client names the mailboxes and events it wants to hear of;
the session turns the store's change events into STATUS and LIST responses.

What is sent:
- for the selected mailbox, the usual EXISTS/EXPUNGE/FETCH updates
  (mss.imap.mailbox_sync), plus, with ``SELECTED (MessageNew (attrs))``, a FETCH of
  those attributes for each new message (RFC 5465 §5.2);
- for another mailbox matched by a group: ``* STATUS name (MESSAGES UIDNEXT UNSEEN)``
  on MessageNew/MessageExpunge/FlagChange (RFC 5465 §5.2-5.4, with HIGHESTMODSEQ once
  CONDSTORE is on), ``* LIST`` on MailboxName (created; deleted with
  ``\\NonExistent``; renamed with ``OLDNAME``, RFC 5465 §5.4) and on SubscriptionChange
  (with ``\\Subscribed``, §5.5);
- ``SET STATUS``: one STATUS per matched mailbox at once (RFC 5465 §3.1).

What is not sent: once the client used NOTIFY, the selected mailbox's EXISTS (with
RECENT and the FETCH of its new messages) only with ``SELECTED (MessageNew ...)``, and
its flag changes only with FlagChange; without a SELECTED group, with ``SELECTED NONE``
and after ``NOTIFY NONE``, neither (RFC 5465 §3.1: an omitted SELECTED is SELECTED NONE;
NOTIFY NONE: no event at all). EXPUNGE is still sent where RFC 3501 §7.4.1 allows it,
as Dovecot does: the numbers the client holds stay true (RFC 5465 §5.3 leaves that to
the server; a client keeping sequence numbers avoids MessageExpunge).

Invariants: events reach this module through the same bus as IDLE, after commit; the
responses are sent as soon as no command is in progress (the adapter waits on the
client and the events together, mss.imap.server), during IDLE and after each command;
mailboxes outside the principal's accesses are never watched; ``NOTIFY NONE`` stops
watching (its empty state stays: no event for the selected mailbox either);
UNAUTHENTICATE and LOGOUT forget NOTIFY altogether.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mss.directory.mail_access import MailAccess
from mss.imap.commands import FetchCommand, NotifyCommand, NotifyGroup
from mss.imap.namespaces import SEPARATOR, SHARED_PREFIX, ResolvedName
from mss.imap.responses import ImapBad, ImapNo, render_flags, render_mailbox, render_string
from mss.imap.sequence_set import SequenceSet
from mss.store.events import ChangeEvent
from mss.store.mail_folders import FolderInfo
from mss.store.mailboxes import INBOX

if TYPE_CHECKING:
    from mss.imap.session import ImapSession, Reply

SUPPORTED_EVENTS = ("MessageNew", "MessageExpunge", "FlagChange", "MailboxName",
                    "SubscriptionChange")
_UPPER = {name.upper(): name for name in SUPPORTED_EVENTS}
MESSAGE_EVENTS = frozenset({"MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE"})
STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UNSEEN")


@dataclass
class NotifyState:
    """What one session asked to hear of, and the subscriptions feeding it."""

    groups: tuple[NotifyGroup, ...]
    accesses: dict[int, MailAccess]  # mailbox id -> access, for watched mailboxes
    events: asyncio.Queue[ChangeEvent]
    exit_stack: AsyncExitStack
    folders: dict[int, dict[int, FolderInfo]] = field(default_factory=dict)
    pending: list[ChangeEvent] = field(default_factory=list)

    @property
    def selected_group(self) -> NotifyGroup | None:
        return next((g for g in self.groups if g.filter.startswith("SELECTED")), None)

    def drain(self) -> None:
        while True:
            try:
                self.pending.append(self.events.get_nowait())
            except asyncio.QueueEmpty:
                return


async def cmd_notify(session: ImapSession, command: NotifyCommand) -> Reply:
    """RFC 5465 §3.1: SET replaces what a previous NOTIFY asked; NONE asks for no event
    at all, the selected mailbox's included (an empty state, not the state before any
    NOTIFY). Both are followed by the selected mailbox's updates, as after NOOP."""
    from mss.imap.session import Done

    await stop(session)
    if command.groups is None:
        session.notify = NotifyState((), {}, asyncio.Queue(), AsyncExitStack())
        yield Done("NOTIFY completed")
        return
    _check_events(command.groups)
    names = session.names
    assert names is not None
    accesses = {a.mailbox_id: a for a in names.accesses if a.may("r") and any(
        _may_match(group, a, names.client_name(a, "")) for group in command.groups)}
    stack = AsyncExitStack()
    queue: asyncio.Queue[ChangeEvent] = asyncio.Queue()
    try:
        for mailbox_id in accesses:
            feed = await stack.enter_async_context(session.store.bus.subscribe(mailbox_id))
            _forward(stack, feed, queue)
        state = NotifyState(command.groups, accesses, queue, stack)
        async with session.store.reading() as db:
            for mailbox_id in accesses:
                state.folders[mailbox_id] = {
                    f.id: f for f in await session.store.mail.folders.of_mailbox(db, mailbox_id)}
    except BaseException:
        await stack.aclose()
        raise
    session.notify = state
    if command.status:  # the selected mailbox has its own updates
        selected_id = session.selected.folder_id if session.selected is not None else None
        for mailbox_id, folders in state.folders.items():
            for folder in folders.values():
                if folder.id != selected_id and _wanted(session, state, mailbox_id, folder,
                                                        MESSAGE_EVENTS):
                    yield await _status(session, state.accesses[mailbox_id], folder)
    yield Done("NOTIFY completed")


def selected_events(session: ImapSession) -> frozenset[str] | None:
    """The message events the client wants for its selected mailbox (upper-case): None
    before any NOTIFY (RFC 3501: every update), else the events of its SELECTED or
    SELECTED-DELAYED group, none without one or after NOTIFY NONE (RFC 5465 §3.1)."""
    state = session.notify
    if state is None:
        return None
    group = state.selected_group
    return frozenset(group.events) if group is not None else frozenset()


def _forward(stack: AsyncExitStack, source: asyncio.Queue[ChangeEvent],
             target: asyncio.Queue[ChangeEvent]) -> None:
    """Copy one mailbox's events into the session's NOTIFY queue until stopped."""

    async def pump() -> None:
        while True:
            target.put_nowait(await source.get())

    task = asyncio.ensure_future(pump())
    stack.callback(task.cancel)


def _check_events(groups: tuple[NotifyGroup, ...]) -> None:
    """RFC 5465 §3: MessageNew needs MessageExpunge and FlagChange needs both;
    an event this server cannot send is ``NO [BADEVENT (supported...)]`` (§5)."""
    for group in groups:
        events = set(group.events)
        if events - set(_UPPER):
            raise ImapNo("BADEVENT (" + " ".join(SUPPORTED_EVENTS) + ")",
                         "Event not supported")
        if ("MESSAGENEW" in events) != ("MESSAGEEXPUNGE" in events) or (
                "FLAGCHANGE" in events and "MESSAGENEW" not in events):
            raise ImapBad(None, "MessageNew and MessageExpunge go together, FlagChange "
                                "needs both")
        if group.fetch_attributes and not group.filter.startswith("SELECTED"):
            raise ImapBad(None, "MessageNew fetch attributes apply to SELECTED only")


async def stop(session: ImapSession) -> None:
    state, session.notify = session.notify, None
    if state is not None:
        await state.exit_stack.aclose()


def _may_match(group: NotifyGroup, access: MailAccess, prefix: str) -> bool:
    """Whether a group can match some folder of the mailbox whose client names all
    start with `prefix` (``""`` for the personal one): its events are then watched."""
    if group.filter.startswith("SELECTED"):
        return False
    if group.filter in ("PERSONAL", "INBOXES"):
        return not access.shared
    if group.filter == "SUBSCRIBED":
        return True
    if access.shared:
        return any(name.startswith(prefix) or prefix.startswith(name + SEPARATOR)
                   for name in group.mailboxes)
    return any(not name.startswith(SHARED_PREFIX) for name in group.mailboxes)


def _matches(session: ImapSession, group: NotifyGroup, access: MailAccess,
             folder: FolderInfo) -> bool:
    names = session.names
    assert names is not None
    name = names.client_name(access, folder.name)
    match group.filter:
        case "PERSONAL":
            return not access.shared
        case "INBOXES":
            return not access.shared and folder.name == INBOX
        case "SUBSCRIBED":
            return folder.subscribed
        case "MAILBOXES":
            return name in group.mailboxes
        case "SUBTREE":
            return any(name == root or name.startswith(root + SEPARATOR)
                       for root in group.mailboxes)
    return False


def _wanted(session: ImapSession, state: NotifyState, mailbox_id: int, folder: FolderInfo,
            kinds: frozenset[str] | set[str]) -> bool:
    """The first group matching the folder decides (RFC 5465 §6: groups in order)."""
    access = state.accesses[mailbox_id]
    for group in state.groups:
        if group.filter.startswith("SELECTED"):
            continue
        if _matches(session, group, access, folder):
            return bool(set(group.events) & set(kinds))
    return False


async def _status(session: ImapSession, access: MailAccess, folder: FolderInfo) -> bytes:
    from mss.imap.mailbox_commands import status_line

    items = (*STATUS_ITEMS, "HIGHESTMODSEQ") if session.condstore else STATUS_ITEMS
    return await status_line(session, ResolvedName(access, folder.name), folder.id, items)


_KIND_EVENTS = {"exists": "MESSAGENEW", "expunge": "MESSAGEEXPUNGE", "flags": "FLAGCHANGE"}


async def notify_updates(session: ImapSession) -> list[bytes]:
    """STATUS and LIST responses for what changed in the watched mailboxes."""
    state = session.notify
    if state is None:
        return []
    state.drain()
    events, state.pending = state.pending, []
    if not events:
        return []
    selected = session.selected
    changed: dict[tuple[int, int], set[str]] = {}
    renamed: set[int] = set()
    for event in events:
        if event.mailbox_id not in state.accesses and event.kind != "overflow":
            continue
        if event.kind == "folder":
            renamed.add(event.mailbox_id)
        elif event.kind == "overflow":
            for mailbox_id, folders in state.folders.items():
                renamed.add(mailbox_id)
                for folder_id in folders:
                    changed.setdefault((mailbox_id, folder_id), set()).update(MESSAGE_EVENTS)
        elif event.kind in _KIND_EVENTS and not (
                selected is not None and event.folder_id == selected.folder_id):
            changed.setdefault((event.mailbox_id, event.folder_id), set()).add(
                _KIND_EVENTS[event.kind])
    out: list[bytes] = []
    for mailbox_id in renamed:
        out.extend(await _folder_changes(session, state, mailbox_id))
    for (mailbox_id, folder_id), kinds in sorted(changed.items()):
        folder = state.folders.get(mailbox_id, {}).get(folder_id)
        if folder is not None and _wanted(session, state, mailbox_id, folder, kinds):
            out.append(await _status(session, state.accesses[mailbox_id], folder))
    return out


async def _folder_changes(session: ImapSession, state: NotifyState,
                          mailbox_id: int) -> list[bytes]:
    """LIST for created, deleted, renamed and (un)subscribed folders (RFC 5465 §5.4-5.5)."""
    names = session.names
    assert names is not None
    access = state.accesses[mailbox_id]
    async with session.store.reading() as db:
        fresh = {f.id: f for f in await session.store.mail.folders.of_mailbox(db, mailbox_id)}
    old = state.folders.get(mailbox_id, {})
    state.folders[mailbox_id] = fresh
    utf8 = session.imap4rev2

    def line(folder: FolderInfo, attributes: list[str], extra: bytes = b"") -> bytes:
        name = names.client_name(access, folder.name)
        return (b"* LIST " + render_flags(attributes) + b' "/" ' + render_mailbox(name, utf8)
                + extra + b"\r\n")

    out: list[bytes] = []
    for folder_id, folder in old.items():
        if folder_id not in fresh and _wanted(session, state, mailbox_id, folder,
                                              {"MAILBOXNAME"}):
            out.append(line(folder, ["\\NonExistent"]))
    for folder_id, folder in fresh.items():
        before = old.get(folder_id)
        subscribed = ["\\Subscribed"] if folder.subscribed else []
        if before is None:
            if _wanted(session, state, mailbox_id, folder, {"MAILBOXNAME"}):
                out.append(line(folder, subscribed))
        elif before.name != folder.name:
            if _wanted(session, state, mailbox_id, folder, {"MAILBOXNAME"}) or _wanted(
                    session, state, mailbox_id, before, {"MAILBOXNAME"}):
                previous = names.client_name(access, before.name)
                old_name = render_string(previous) if utf8 else render_mailbox(previous)
                out.append(line(folder, subscribed, b' ("OLDNAME" (' + old_name + b"))"))
        elif before.subscribed != folder.subscribed and _wanted(
                session, state, mailbox_id, folder, {"SUBSCRIPTIONCHANGE"}):
            out.append(line(folder, subscribed))
    return out


async def new_message_fetches(session: ImapSession, uids: list[int]) -> list[bytes]:
    """RFC 5465 §5.2: with ``SELECTED (MessageNew (attrs))``, a FETCH of those
    attributes for each new message, after its EXISTS."""
    state = session.notify
    group = state.selected_group if state is not None else None
    if group is None or not group.fetch_attributes or not uids:
        return []
    from mss.imap.message_commands import cmd_fetch
    from mss.imap.session import Done

    command = FetchCommand("*", "FETCH", SequenceSet(tuple((u, u) for u in uids)),
                           group.fetch_attributes, uid=True)
    out: list[bytes] = []
    async for item in cmd_fetch(session, command):
        if not isinstance(item, Done):
            out.append(item)
    return out

