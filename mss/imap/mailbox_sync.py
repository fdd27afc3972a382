"""Turning noted change events into untagged responses (RFC 3501 §7.3.1, §7.4.1, §5.2).

Called by the session after a command (before its tagged reply), after NOOP and during
IDLE. Reads what changed from the store; never sends an EXPUNGE when the command does
not allow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mss.imap.notify import new_message_fetches, selected_events
from mss.imap.responses import (
    code_permanent_flags,
    fetch_response,
    render_flags,
    untagged,
    untagged_status,
    vanished,
)
from mss.imap.selected import SelectedMailbox
from mss.store.folder_reads import folder_entries, folder_index
from mss.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from mss.imap.session import ImapSession


SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


def _may_store(selected: SelectedMailbox, flag: str) -> bool:
    """RFC 4314 §4: ``s`` for \\Seen, ``t`` for \\Deleted, ``w`` for the others."""
    needed = "s" if flag == "\\Seen" else "t" if flag == "\\Deleted" else "w"
    return selected.access.may(needed)


def flag_lines(selected: SelectedMailbox) -> list[bytes]:
    """Untagged FLAGS and ``OK [PERMANENTFLAGS]`` (RFC 3501 §7.2.6, §7.1): the system
    flags and every keyword of the folder, so clients keep the keywords they see."""
    keywords = sorted(selected.keywords)
    flags = [*SYSTEM_FLAGS, *keywords]
    permanent: list[str] = []
    if not selected.read_only:
        permanent = [f for f in SYSTEM_FLAGS if _may_store(selected, f)]
        if selected.access.may("w"):
            permanent += [*keywords, "\\*"]
    return [untagged(b"FLAGS", render_flags(flags)),
            untagged_status("OK", "Flags permitted", code_permanent_flags(permanent))]


def keyword_announcement(selected: SelectedMailbox, flags: Iterable[str]) -> list[bytes]:
    """FLAGS and PERMANENTFLAGS again when `flags` hold a keyword the client was not
    told of (Dovecot announces a new keyword to every session of the folder)."""
    new = {f for f in flags if not f.startswith("\\")} - selected.keywords
    if not new:
        return []
    selected.keywords |= new
    return flag_lines(selected)


async def claim_recent(session: ImapSession, selected: SelectedMailbox, upto: int) -> None:
    """This session takes \\Recent for the messages below `upto` that no session took
    (RFC 3501 §2.3.2); an EXAMINEd folder only looks (its range was set at EXAMINE)."""
    if selected.read_only or not session.recent_enabled:
        return
    store = session.store

    async def job(uow: UnitOfWork) -> tuple[int, int] | None:
        return await store.mail.folders.claim_recent(uow, selected.folder_id, upto)

    claimed = await store.write(job)
    if claimed is not None and claimed[0] < claimed[1]:
        selected.recent.append((claimed[0], claimed[1] - 1))


def expunge_responses(
    session: ImapSession, selected: SelectedMailbox, uids: Iterable[int]
) -> list[bytes]:
    """The client is told of removed messages: one EXPUNGE each (RFC 3501 §7.4.1, in
    ascending UID order, each number counted after the previous removal), or one
    VANISHED once QRESYNC is enabled (RFC 7162 §3.2.10)."""
    told: list[bytes] = []
    gone: list[int] = []
    for uid in sorted(uids):
        sequence = selected.remove(uid)
        if sequence is not None:
            gone.append(uid)
            told.append(b"* %d EXPUNGE\r\n" % sequence)
    if session.qresync:
        return [vanished(gone)] if gone else []
    return told


async def synchronise(
    session: ImapSession, selected: SelectedMailbox, allow_expunge: bool
) -> list[bytes]:
    out: list[bytes] = []
    store = session.store
    reader = selected.access.reader
    if selected.overflow:
        # the bus dropped events for this session: compare with the folder itself
        selected.overflow = False
        async with store.reading() as db:
            index = await folder_index(db, selected.folder_id, reader)
        present = set(index.uids)
        selected.expunged.update(uid for uid in selected.uids if uid not in present)
        if index.uids and index.uids[-1] > selected.last_uid:
            selected.has_new = True
        for uid in selected.uids:
            if uid in present:
                selected.flag_events[uid] = 0
    if allow_expunge and selected.expunged:
        out.extend(expunge_responses(session, selected, list(selected.expunged)))
    wanted = selected_events(session)  # RFC 5465 §3.1: what NOTIFY asked for, if used
    if wanted is not None and "FLAGCHANGE" not in wanted:
        selected.flag_events, selected.flag_values = {}, {}  # not to be told, ever
    if selected.has_new and (wanted is None or "MESSAGENEW" in wanted):
        selected.has_new = False
        async with store.reading() as db:
            fresh = await folder_entries(db, selected.folder_id, reader,
                                         uid_min=selected.last_uid + 1)
        for entry in fresh:
            selected.append(entry.uid)
        if fresh:
            out.extend(keyword_announcement(selected, {f for e in fresh for f in e.flags}))
            await claim_recent(session, selected, fresh[-1].uid + 1)
            out.append(b"* %d EXISTS\r\n" % len(selected.uids))
            if session.recent_enabled:
                out.append(b"* %d RECENT\r\n" % selected.recent_count())
            out.extend(await new_message_fetches(session, [e.uid for e in fresh]))
    if selected.flag_events:
        events, selected.flag_events = selected.flag_events, {}
        known, selected.flag_values = selected.flag_values, {}
        # the event carried the shared flags: nothing to read (other sessions' STOREs
        # reach every session of the folder, this is the common case)
        changed = [(uid, modseq, known[uid]) for uid, modseq in sorted(events.items())
                   if uid in known]
        unknown = [uid for uid in events if uid not in known]
        if unknown:
            async with store.reading() as db:
                entries = await folder_entries(db, selected.folder_id, reader, uids=unknown)
            changed += [(e.uid, e.modseq, tuple(sorted(e.flags))) for e in entries
                        if e.modseq >= events[e.uid]]  # else another member's private flag
            changed.sort()
        out.extend(keyword_announcement(selected, {f for _, _, flags in changed for f in flags}))
        for uid, modseq, flags in changed:
            if selected.reported.get(uid, 0) >= modseq:
                continue
            sequence = selected.sequence_of(uid)
            if sequence is None:
                continue
            shown = sorted(selected.shown_flags(uid, frozenset(flags)))
            items = [(b"UID", b"%d" % uid), (b"FLAGS", render_flags(shown))]
            if session.condstore:
                items.append((b"MODSEQ", b"(%d)" % modseq))
            out.append(fetch_response(sequence, items))
    return out
