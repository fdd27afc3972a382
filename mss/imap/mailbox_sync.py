"""Turning noted change events into untagged responses (RFC 3501 §7.3.1, §7.4.1, §5.2).

Called by the session after a command (before its tagged reply), after NOOP and during
IDLE. Reads what changed from the store; never sends an EXPUNGE when the command does
not allow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mss.directory.mail_access import folder_entries, folder_index
from mss.imap.responses import fetch_response, render_flags, vanished
from mss.imap.selected import SelectedMailbox

if TYPE_CHECKING:
    from mss.imap.session import ImapSession


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
    if selected.has_new:
        selected.has_new = False
        async with store.reading() as db:
            fresh = await folder_entries(db, selected.folder_id, reader,
                                         uid_min=selected.last_uid + 1)
        for entry in fresh:
            selected.append(entry.uid)
        if fresh:
            out.append(b"* %d EXISTS\r\n" % len(selected.uids))
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
        for uid, modseq, flags in changed:
            if selected.reported.get(uid, 0) >= modseq:
                continue
            sequence = selected.sequence_of(uid)
            if sequence is None:
                continue
            items = [(b"UID", b"%d" % uid), (b"FLAGS", render_flags(flags))]
            if session.condstore:
                items.append((b"MODSEQ", b"(%d)" % modseq))
            out.append(fetch_response(sequence, items))
    return out
