"""SORT with ESORT (RFC 5256 §3, RFC 5267 §3) and THREAD (RFC 5256 §3-4).

SORT orders on the sort keys kept beside each message (`mss.store.sort_keys`): the
store returns the folder's UIDs in order in one query, the matches of the search keys
are kept in that order. THREAD=ORDEREDSUBJECT works on the same columns;
THREAD=REFERENCES reads the header sections (sealed beside the rows) for Message-ID,
References and In-Reply-To.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mss.imap.commands import SortCommand, ThreadCommand
from mss.imap.message_commands import read_contents, search_hits, selected_of
from mss.imap.message_threads import (
    Message,
    ordered_subject_threads,
    reference_threads,
    render_threads,
)
from mss.imap.mime_tree import parse_header_only
from mss.imap.search_keys import AllKey, SearchKey
from mss.imap.search_results import ReturnOptions, esearch_line, keep_context, save_result
from mss.imap.session import Done, Reply
from mss.store.folder_reads import folder_entries
from mss.store.folder_search import folder_sort, folder_thread_keys

if TYPE_CHECKING:
    from mss.imap.session import ImapSession


async def cmd_sort(session: ImapSession, command: SortCommand) -> Reply:
    """RFC 5256 §3: ``* SORT`` numbers in order; with RETURN, one ESEARCH (RFC 5267 §3.2:
    MIN and MAX are the first and last in sort order, ALL is in sort order), SAVE
    (RFC 5182 §2.4) and UPDATE/PARTIAL (RFC 5267 §4, CONTEXT=SORT)."""
    selected = selected_of(session)
    options = ReturnOptions.of(command.return_options or ())
    if "SAVE" in options.names:
        selected.saved_result = []
    pairs = await sorted_known(session, command)
    ordered = [uid for _, uid in pairs]
    keep_context(selected, command, options, ordered)  # a NO here leaves $ empty
    save_result(selected, options, ordered)
    numbers = ordered if command.uid else [sequence for sequence, _ in pairs]
    if command.return_options is None:
        yield b"* SORT" + b"".join(b" %d" % n for n in numbers) + b"\r\n"
    elif not options.silent:
        yield esearch_line(command.tag, command.uid, numbers, options, ordered=True)
    yield Done("SORT completed")


async def sorted_known(session: ImapSession, command: SortCommand) -> list[tuple[int, int]]:
    """(sequence number, UID) of the matching messages the client knows, in the
    command's sort order. With the search key ALL (what Roundcube and most clients send)
    every message the client knows matches: no search runs, the folder's order is read
    from its sort index and kept to the messages the client was told of."""
    selected = selected_of(session)
    if isinstance(command.key, AllKey):
        async with session.store.reading() as db:
            ordered = await folder_sort(db, selected.folder_id, command.criteria)
    else:
        ordered = await sorted_uids(session, command,
                                    await uids_matching(session, command.key))
    return selected.sequences_of(ordered)


async def uids_matching(session: ImapSession, key: SearchKey) -> set[int]:
    return {uid for _, uid, _ in await search_hits(session, key)}


async def sorted_uids(session: ImapSession, command: SortCommand,
                      matching: set[int]) -> list[int]:
    """The matching UIDs in the command's sort order (the store orders the folder)."""
    async with session.store.reading() as db:
        ordered = await folder_sort(db, selected_of(session).folder_id, command.criteria)
    return [uid for uid in ordered if uid in matching]


async def cmd_thread(session: ImapSession, command: ThreadCommand) -> Reply:
    """RFC 5256 §3: ``* THREAD`` with the threads of the matching messages."""
    selected = selected_of(session)
    hits = await search_hits(session, command.key)
    number_of = {uid: (uid if command.uid else sequence) for sequence, uid, _ in hits}
    async with session.store.reading() as db:
        keys = await folder_thread_keys(db, selected.folder_id)
    messages = [Message(uid, number_of[uid], message_id, subject, sent)
                for uid, message_id, subject, sent in keys if uid in number_of]
    if command.algorithm == "ORDEREDSUBJECT":
        threads = ordered_subject_threads(messages)
    else:
        threads = reference_threads(await _with_references(session, messages))
    yield b"* THREAD " + render_threads(threads) + b"\r\n" if threads else b"* THREAD\r\n"
    yield Done("THREAD completed")


async def _with_references(session: ImapSession, messages: list[Message]) -> list[Message]:
    """The messages with their References (or In-Reply-To) and the reply mark of their
    subject, from the header sections (RFC 5256 §4 REFERENCES, steps 1 and 5)."""
    selected = selected_of(session)
    by_uid = {message.uid: message for message in messages}
    async with session.store.reading() as db:
        entries = await folder_entries(db, selected.folder_id, selected.access.reader,
                                       uids=list(by_uid), with_header=True)
    out: list[Message] = []
    batch = session.limits.content_batch
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        headers = await read_contents(session, chunk, header_only=True)
        for entry, raw in zip(chunk, headers, strict=True):
            header = parse_header_only(raw)
            out.append(by_uid[entry.uid].with_header(
                [v.decode("latin-1") for v in header.field_values("references")],
                [v.decode("latin-1") for v in header.field_values("in-reply-to")],
                b" ".join(header.field_values("subject")).decode("utf-8", "replace"),
            ))
    return out
