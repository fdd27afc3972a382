"""Commands on the messages of the selected mailbox: FETCH, STORE, SEARCH, COPY, MOVE,
EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT (RFC 3501 §6.4, RFC 4315, RFC 6851, RFC 7162).

Invariants: message bytes are read only when an item needs them, in batches, and the
responses of a batch are yielded before the next batch is read (the adapter drains
between), so memory stays bounded; a FETCH writes at most once (implied ``\\Seen`` and
the audit of patient reads together).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mss.identity import MailboxKind, PrincipalKind
from mss.imap.addresses import parse_address_list
from mss.imap.commands import (
    Command,
    CopyCommand,
    FetchCommand,
    SearchCommand,
    StoreCommand,
    UidExpungeCommand,
)
from mss.imap.fetch_render import (
    email_object_id,
    fetch_items,
    needs_content,
    needs_only_header,
    needs_only_structure,
    reads_message,
    structures_cached,
)
from mss.imap.mailbox_sync import expunge_responses, keyword_announcement
from mss.imap.mime_tree import parse_header_only
from mss.imap.responses import (
    ImapBad,
    ImapNo,
    ResponseCode,
    code_copyuid,
    code_modified,
    fetch_response,
    untagged_status,
    vanished,
)
from mss.imap.search_keys import (
    AndKey,
    DateKey,
    HeaderKey,
    ModSeqKey,
    NotKey,
    ObjectIdKey,
    OrKey,
    SearchKey,
    SizeKey,
    TextKey,
)
from mss.imap.search_match import MessageView, SearchScope, search_matches
from mss.imap.search_pushdown import store_filter
from mss.imap.search_results import ReturnOptions, esearch_line, keep_context, save_result
from mss.imap.selected import SelectedMailbox
from mss.imap.sequence_set import (
    SequenceOutOfRange,
    SequenceSet,
    compact_sequence_set,
    uid_ranges_to_end,
)
from mss.imap.session import Done, Reply
from mss.pipeline.conversations import patient_subject
from mss.store.audit_actions import AuditAction
from mss.store.entry_reads import EntryInfo
from mss.store.flag_changes import FlagMode
from mss.store.flags import SEEN
from mss.store.folder_reads import expunged_since, folder_entries, folder_flags, folder_id_of
from mss.store.folder_search import folder_search
from mss.store.mail_errors import MailStoreError
from mss.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from mss.imap.session import ImapSession

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PATIENT_HEADERS = ("from", "to", "cc", "bcc", "reply-to", "sender")


def selected_of(session: ImapSession) -> SelectedMailbox:
    assert session.selected is not None
    return session.selected


def target_uids(selected: SelectedMailbox, sequence_set: SequenceSet, by_uid: bool) -> list[int]:
    try:
        return sequence_set.select_uids(selected.uids, by_uid)
    except SequenceOutOfRange:
        raise ImapBad(None, "No such message (sequence number out of range)") from None


async def read_contents(
    session: ImapSession, entries: Sequence[EntryInfo], *, header_only: bool = False,
    header_for: Sequence[bool] | None = None,
) -> list[bytes]:
    """Several messages' contents: inline ones in one query, files in one thread hop.

    With `header_only` (or for the entries marked in `header_for`), the header sections
    kept beside the rows are opened instead (no file read); rows written before they
    were kept fall back to the blob."""
    store = session.store
    found: list[bytes | None] = [None] * len(entries)
    if header_only or header_for is not None:
        for position, entry in enumerate(entries):
            if header_only or (header_for is not None and header_for[position]):
                found[position] = await store.mail.contents.open_header(entry)
    missing = [(p, e) for p, e in enumerate(entries) if found[p] is None]
    if missing:
        contents = await store.mail.contents.read_many(
            [(e.mailbox_id, e.blob_key) for _, e in missing])
        for (position, _), raw in zip(missing, contents, strict=True):
            found[position] = raw
    return [raw for raw in found if raw is not None]


def known_with_sequence(
    selected: SelectedMailbox, entries: list[EntryInfo]
) -> list[tuple[int, EntryInfo]]:
    """Entries the client knows, with their sequence numbers: both lists are in UID
    order, so one merge walk replaces a search per entry."""
    found = []
    uids = selected.uids
    position = 0
    for entry in entries:
        while position < len(uids) and uids[position] < entry.uid:
            position += 1
        if position < len(uids) and uids[position] == entry.uid:
            found.append((position + 1, entry))
    return found


def _batches(entries: list[T], size: int) -> list[list[T]]:
    return [entries[i : i + size] for i in range(0, len(entries), size)]


def patient_subjects(session: ImapSession, raw: bytes) -> set[tuple[str, str]]:
    """(patient INS, address) of every patient address in the message's address fields,
    and the mailbox's own patient when the mailbox is a patient's."""
    selected = selected_of(session)
    patient_domain = session.store.settings.server.patient_domain.lower()
    found: set[tuple[str, str]] = set()
    if selected.access.kind is MailboxKind.PAT:
        found.add((patient_subject(selected.access.address), selected.access.address))
    end = raw.find(b"\r\n\r\n")
    if patient_domain.encode("ascii", "replace") not in raw[: end if end >= 0 else None].lower():
        return found  # cheap test first: most messages name no patient
    header = parse_header_only(raw)
    for name in PATIENT_HEADERS:
        for value in header.field_values(name):
            for address in parse_address_list(value):
                if address.mailbox is None or address.host is None:
                    continue
                host = address.host.decode("latin-1").lower()
                if host == patient_domain:
                    text = (address.mailbox + b"@" + address.host).decode("latin-1").lower()
                    found.add((patient_subject(text), text))
    return found


def audited_reader(session: ImapSession) -> bool:
    """Reads by professional clients (people and their software) are audited."""
    principal = session.principal
    return principal is not None and principal.kind in (
        PrincipalKind.PROFESSIONAL, PrincipalKind.APPLICATION
    )


# -- FETCH --------------------------------------------------------------------------


async def cmd_fetch(session: ImapSession, command: FetchCommand) -> Reply:
    selected = selected_of(session)
    if command.vanished:
        if not session.qresync:
            raise ImapBad(ResponseCode.CLIENTBUG, "VANISHED needs ENABLE QRESYNC first")
        assert command.changed_since is not None
        # RFC 7162 §3.2.6: the UIDs of the set expunged since CHANGEDSINCE, first
        async with session.store.reading() as db:
            gone = await expunged_since(db, selected.folder_id, command.changed_since,
                                        uid_ranges_to_end(command.sequence_set))
        if gone:
            yield vanished(gone, earlier=True)
    uids = target_uids(selected, command.sequence_set, command.uid)
    attributes = command.attributes
    if command.changed_since is not None or any(a.name == "MODSEQ" for a in attributes):
        for line in await session.enable_condstore():
            yield line
    with_modseq = session.condstore and command.changed_since is not None
    content = needs_content(attributes)
    header_only = content and needs_only_header(attributes)
    # ENVELOPE / BODYSTRUCTURE: a message whose structures are cached is read no further
    # than its header (the cache is checked again just before rendering, below)
    structure_only = content and not header_only and needs_only_structure(attributes)
    save_dates: dict[int, datetime] = {}
    async with session.store.reading() as db:
        entries = await folder_entries(db, selected.folder_id, selected.access.reader,
                                       uids=uids, changed_since=command.changed_since,
                                       with_header=header_only or structure_only)
        if any(a.name == "SAVEDATE" for a in attributes):
            save_dates = await session.store.mail.reads.save_dates(
                db, selected.folder_id, [e.uid for e in entries])
    sets_seen = (
        any(a.sets_seen for a in attributes) and not selected.read_only
        and selected.access.may("s")
    )
    audit = content and reads_message(attributes) and audited_reader(session)
    seen_uids: list[int] = []
    reads: list[tuple[int, str, str]] = []  # uid, INS, address
    for batch in _batches(entries, session.limits.content_batch if content else 10_000):
        as_header = [structure_only and entry.sealed_header is not None
                     and structures_cached(attributes, entry) for entry in batch]
        raws: list[bytes | None] = (
            list(await read_contents(session, batch, header_only=header_only,
                                     header_for=as_header)) if content
            else [None] * len(batch)
        )
        for entry, raw, header in zip(batch, raws, as_header, strict=True):
            sequence = selected.sequence_of(entry.uid)
            if sequence is None:
                continue
            if header and not structures_cached(attributes, entry):
                # read as a header, its structures left the cache meanwhile: the whole
                # message (nothing awaits between this test and the rendering)
                raw = (await read_contents(session, [entry]))[0]
            flags = entry.flags
            if sets_seen and SEEN not in flags:
                seen_uids.append(entry.uid)
                flags = flags | {SEEN}
            implied = flags is not entry.flags
            flags = selected.shown_flags(entry.uid, flags)
            items = fetch_items(attributes, entry, raw, flags=flags, with_modseq=with_modseq,
                                save_date=save_dates.get(entry.uid))
            if implied and not any(name == b"FLAGS" for name, _ in items):
                items.append((b"FLAGS", _flags_value(flags)))  # RFC 3501 §6.4.5
            if audit and raw is not None:
                reads.extend((entry.uid, ins, address)
                              for ins, address in patient_subjects(session, raw))
            yield fetch_response(sequence, items)
    if seen_uids or reads:
        change = await session.store.write(_fetch_job(session, selected, seen_uids, reads))
        for uid, modseq, _ in change:
            selected.reported[uid] = modseq
    yield Done("FETCH completed")


def _flags_value(flags: frozenset[str]) -> bytes:
    from mss.imap.responses import render_flags

    return render_flags(sorted(flags))


def _fetch_job(
    session: ImapSession, selected: SelectedMailbox, seen_uids: list[int],
    reads: list[tuple[int, str, str]],
) -> Any:
    store = session.store
    principal = session.principal
    assert principal is not None
    target = f"{selected.access.address}/{selected.folder}"

    async def job(uow: UnitOfWork) -> list[tuple[int, int, frozenset[str]]]:
        changed: list[tuple[int, int, frozenset[str]]] = []
        if seen_uids:
            result = await store.mail.flags.store_flags(
                uow, selected.folder_id, seen_uids, {SEEN}, FlagMode.ADD,
                reader=selected.access.reader,
            )
            changed = result.changed
        for uid, ins, address in reads:
            uow.audit(AuditAction.MESSAGE_READ, principal, target=f"{target};uid={uid}",
                      subject=ins, detail=f"imap patient={address}")
        return changed

    return job


# -- STORE --------------------------------------------------------------------------

MODES = {"replace": FlagMode.REPLACE, "add": FlagMode.ADD, "remove": FlagMode.REMOVE}


def check_flag_rights(selected: SelectedMailbox, flags: Sequence[str], mode: str) -> None:
    """RFC 4314 §4: ``s`` for \\Seen, ``t`` for \\Deleted, ``w`` for the others."""
    if selected.read_only:
        raise ImapNo(ResponseCode.READ_ONLY, "Mailbox is read-only")
    access = selected.access
    named = set(flags)
    if mode == "replace" and not access.may("w"):
        named |= {"\\Answered"}  # replacing all flags touches the others too
    for flag in named:
        needed = "s" if flag == SEEN else "t" if flag == "\\Deleted" else "w"
        if not access.may(needed):
            raise ImapNo(ResponseCode.NOPERM, f"No right to change {flag}")


async def cmd_store(session: ImapSession, command: StoreCommand) -> Reply:
    selected = selected_of(session)
    check_flag_rights(selected, command.flags, command.mode)
    uids = target_uids(selected, command.sequence_set, command.uid)
    if command.unchanged_since is not None:
        for line in await session.enable_condstore():
            yield line
    store = session.store
    flags = [f for f in command.flags if f != "\\Recent"]

    async def job(uow: UnitOfWork) -> Any:
        return await store.mail.flags.store_flags(
            uow, selected.folder_id, uids, flags, MODES[command.mode],
            reader=selected.access.reader, unchanged_since=command.unchanged_since,
        )

    change = await store.write(job) if uids else None
    if change is not None and command.mode != "remove":
        for line in keyword_announcement(selected, flags):
            yield line
    changed = {uid: modseq for uid, modseq, _ in (change.changed if change else [])}
    for uid, modseq in changed.items():
        selected.reported[uid] = modseq
    if not command.silent or (session.condstore and changed):
        async with store.reading() as db:
            entries = await folder_entries(db, selected.folder_id, selected.access.reader,
                                           uids=uids)
        for entry in entries:
            if command.silent and entry.uid not in changed:
                continue
            sequence = selected.sequence_of(entry.uid)
            if sequence is None:
                continue
            items = []
            if command.uid or session.qresync:  # QRESYNC clients key flags by UID
                items.append((b"UID", b"%d" % entry.uid))
            if not command.silent:
                items.append((b"FLAGS", _flags_value(selected.shown_flags(entry.uid,
                                                                          entry.flags))))
            if session.condstore:
                items.append((b"MODSEQ", b"(%d)" % entry.modseq))
            yield fetch_response(sequence, items)
    conflicts = change.conflicts if change else []
    if conflicts:
        numbers = conflicts if command.uid else [
            s for s in (selected.sequence_of(uid) for uid in conflicts) if s is not None
        ]
        yield Done("Conditional STORE failed for some messages",
                   code_modified(compact_sequence_set(sorted(numbers))))
        return
    yield Done("STORE completed")


# -- SEARCH ---------------------------------------------------------------------------


def any_key(key: SearchKey, leaf: Callable[[SearchKey], bool]) -> bool:
    """True when `leaf` holds for some key of the tree (NOT, OR and groups walked)."""
    match key:
        case NotKey(key=inner):
            return any_key(inner, leaf)
        case OrKey(left=left, right=right):
            return any_key(left, leaf) or any_key(right, leaf)
        case AndKey(keys=keys):
            return any(any_key(k, leaf) for k in keys)
    return leaf(key)


def needs_text(key: SearchKey) -> bool:
    """Whether the key reads headers or bodies (the blob must be loaded)."""
    return any_key(key, lambda k: isinstance(k, HeaderKey | TextKey) or (
        isinstance(k, DateKey) and k.name.startswith("SENT")))


def needs_message_columns(key: SearchKey) -> bool:
    """Whether the key looks at more than UIDs, sequence numbers, flags and MODSEQ."""
    return any_key(key, lambda k: isinstance(k, HeaderKey | TextKey | DateKey | SizeKey
                                             | ObjectIdKey))


def needs_save_dates(key: SearchKey) -> bool:
    """RFC 8514 §4.2 SAVEDBEFORE/SAVEDON/SAVEDSINCE."""
    return any_key(key, lambda k: isinstance(k, DateKey) and k.name.startswith("SAVED"))


def uses_modseq(key: SearchKey) -> bool:
    return any_key(key, lambda k: isinstance(k, ModSeqKey))


async def cmd_search(session: ImapSession, command: SearchCommand) -> Reply:
    """RFC 3501 §6.4.4; RFC 4731 ESEARCH when RETURN is given (and always once IMAP4rev2
    is enabled, RFC 9051 §6.4.4); RFC 7162 §3.1.5 MODSEQ; RFC 5182 SAVE; RFC 5267 §4
    UPDATE and PARTIAL."""
    selected = selected_of(session)
    options = ReturnOptions.of(command.return_options or ())
    if "SAVE" in options.names:
        selected.saved_result = []  # RFC 5182 §2.1: emptied if the search fails
    modseq_search = uses_modseq(command.key)
    if modseq_search:
        for line in await session.enable_condstore():
            yield line
    hits = await search_hits(session, command.key)
    uids = [uid for _, uid, _ in hits]
    keep_context(selected, command, options, uids)  # a NO here leaves $ empty
    save_result(selected, options, uids)
    numbers = [uid if command.uid else sequence for sequence, uid, _ in hits]
    modseqs = [modseq for _, _, modseq in hits] if modseq_search else []
    if command.return_options is None and not session.imap4rev2:
        line = b"* SEARCH" + b"".join(b" %d" % n for n in numbers)
        if modseq_search and numbers:
            line += b" (MODSEQ %d)" % max(modseqs)
        yield line + b"\r\n"
    elif not options.silent:
        yield esearch_line(command.tag, command.uid, numbers, options,
                           modseq=_returned_modseq(options, numbers, modseqs)
                           if modseq_search and numbers else None)
    yield Done("SEARCH completed")


async def search_hits(session: ImapSession, key: SearchKey) -> list[tuple[int, int, int]]:
    """(sequence number, UID, MODSEQ) of the messages the client knows that match `key`,
    in UID order. Flag and UID keys are answered by the store (MODSEQ then 0, since no
    MODSEQ key was asked); the others are evaluated here, reading contents in batches."""
    selected = selected_of(session)
    condition = None if uses_modseq(key) else store_filter(key, selected)
    if condition is not None:
        async with session.store.reading() as db:
            found = await folder_search(db, selected.folder_id, selected.access.reader,
                                        condition)
        return [(sequence, uid, 0) for sequence, uid in selected.sequences_of(found)]
    save_dates: dict[int, datetime] = {}
    async with session.store.reading() as db:
        if needs_save_dates(key):
            save_dates = await session.store.mail.reads.save_dates(db, selected.folder_id)
        if needs_message_columns(key):
            entries = await folder_entries(db, selected.folder_id, selected.access.reader)
        else:
            entries = [
                EntryInfo(uid, modseq, flags, 0, 0, "", 0, _EPOCH)
                for uid, modseq, flags in await folder_flags(
                    db, selected.folder_id, selected.access.reader)
            ]
    known = known_with_sequence(selected, entries)
    scope = SearchScope(len(selected.uids), selected.last_uid)
    text = needs_text(key)
    matched: list[tuple[int, int, int]] = []
    for batch in _batches(known, session.limits.content_batch if text else 100_000):
        raws = (
            await read_contents(session, [entry for _, entry in batch]) if text
            else [b""] * len(batch)
        )
        for (sequence, entry), raw in zip(batch, raws, strict=True):
            view = MessageView(sequence, entry.uid, selected.shown_flags(entry.uid, entry.flags),
                               entry.internal_date, entry.size, entry.modseq, raw,
                               email_object_id(entry.message_id).decode("ascii"),
                               save_dates.get(entry.uid))
            if search_matches(key, view, scope):
                matched.append((sequence, entry.uid, entry.modseq))
    return matched


def _returned_modseq(options: ReturnOptions, numbers: list[int], modseqs: list[int]) -> int:
    """RFC 7162 §3.1.5: the highest MODSEQ of the messages the reply names, so of the
    MIN and MAX messages alone when only those are asked for."""
    if options.names & {"ALL", "COUNT"} or options.partial is not None:
        return max(modseqs)
    returned = []
    if "MIN" in options.names:
        returned.append(min(range(len(numbers)), key=numbers.__getitem__))
    if "MAX" in options.names:
        returned.append(max(range(len(numbers)), key=numbers.__getitem__))
    return max(modseqs[position] for position in returned) if returned else max(modseqs)


# -- COPY / MOVE ------------------------------------------------------------------------


async def cmd_copy(session: ImapSession, command: CopyCommand) -> Reply:
    """RFC 3501 §6.4.7 COPY and RFC 6851 MOVE, with COPYUID (RFC 4315 §3)."""
    selected = selected_of(session)
    moving = command.name == "MOVE"
    if moving and (selected.read_only or not selected.access.may("t")
                   or not selected.access.may("e")):
        raise ImapNo(ResponseCode.NOPERM, "No right to remove messages from this mailbox")
    assert session.names is not None
    target = session.names.resolve(command.mailbox)
    if not target.access.may("i"):
        raise ImapNo(ResponseCode.NOPERM, "No right to add messages to that mailbox")
    uids = target_uids(selected, command.sequence_set, command.uid)
    store = session.store
    async with store.reading() as db:
        target_id = await folder_id_of(db, target.access.mailbox_id, target.folder)
        if target_id is None:
            raise ImapNo(ResponseCode.TRYCREATE, "No such mailbox")
        target_folder = await store.mail.folders.named(db, target.access.mailbox_id, target.folder)
    principal = session.principal
    assert principal is not None

    async def job(uow: UnitOfWork) -> list[tuple[int, int]]:
        operation = store.mail.moves.move if moving else store.mail.moves.copy
        try:
            pairs = await operation(uow, selected.folder_id, uids, target_id,
                                    reader=selected.access.reader)
        except MailStoreError as error:
            raise ImapNo(error.code, str(error)) from None
        if pairs:
            uow.audit(AuditAction.MESSAGE_MOVED if moving else AuditAction.MESSAGE_COPIED,
                      principal, target=f"{target.access.address}/{target.folder}",
                      detail=f"from={selected.access.address}/{selected.folder} "
                             f"count={len(pairs)}")
        return pairs

    pairs = await store.write(job) if uids else []
    code = None
    if pairs:
        code = code_copyuid(target_folder.uidvalidity, [s for s, _ in pairs],
                            [t for _, t in pairs])
    if moving:
        if code:
            yield untagged_status("OK", "Moved", code)  # RFC 6851 §4.3
        for line in expunge_responses(session, selected, [s for s, _ in pairs]):
            yield line
        yield Done("MOVE completed")
        return
    yield Done("COPY completed", code)


# -- EXPUNGE, CLOSE, UNSELECT --------------------------------------------------------------


async def _expunge(session: ImapSession, uids: list[int] | None) -> list[int]:
    selected = selected_of(session)
    if selected.read_only:
        raise ImapNo(ResponseCode.READ_ONLY, "Mailbox is read-only")
    if not selected.access.may("e"):
        raise ImapNo(ResponseCode.NOPERM, "No right to expunge this mailbox")
    store = session.store
    principal = session.principal
    assert principal is not None

    async def job(uow: UnitOfWork) -> list[int]:
        removed = await store.mail.moves.expunge(uow, selected.folder_id, uids)
        if removed:
            uow.audit(AuditAction.MESSAGE_EXPUNGED, principal,
                      target=f"{selected.access.address}/{selected.folder}",
                      detail=f"count={len(removed)}")
        return removed

    return list(await store.write(job))


async def cmd_expunge(session: ImapSession, command: Command) -> Reply:
    selected = selected_of(session)
    for line in expunge_responses(session, selected, await _expunge(session, None)):
        yield line
    yield Done("EXPUNGE completed")


async def cmd_uid_expunge(session: ImapSession, command: UidExpungeCommand) -> Reply:
    """RFC 4315 §2.1: only the named messages that carry \\Deleted."""
    selected = selected_of(session)
    uids = target_uids(selected, command.sequence_set, True)
    removed = await _expunge(session, uids) if uids else []
    for line in expunge_responses(session, selected, removed):
        yield line
    yield Done("UID EXPUNGE completed")


def cmd_any_expunge(session: ImapSession, command: Command) -> Reply:
    if isinstance(command, UidExpungeCommand):
        return cmd_uid_expunge(session, command)
    return cmd_expunge(session, command)


async def cmd_close(session: ImapSession, command: Command) -> Reply:
    """RFC 3501 §6.4.2: expunge silently when read-write, then deselect."""
    selected = selected_of(session)
    if not selected.read_only and selected.access.may("e"):
        await _expunge(session, None)
    await session.close()
    yield Done("CLOSE completed")


async def cmd_unselect(session: ImapSession, command: Command) -> Reply:
    """RFC 3691: deselect without expunging."""
    await session.close()
    yield Done("UNSELECT completed")
