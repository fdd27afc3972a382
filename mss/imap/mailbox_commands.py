"""Commands on mailboxes (folders): SELECT/EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
LIST/LSUB (RFC 5258, RFC 5819, RFC 6154), STATUS, APPEND, NAMESPACE, IDLE, QUOTA
(RFC 9208) and ACL (RFC 4314).

Every name goes through `MailboxNames.resolve`, so a folder of a mailbox the principal
may not open is NONEXISTENT like a folder that does not exist.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from mss.directory.mail_access import OWNER_RIGHTS, MailAccess, access_control_list
from mss.imap.catenate import joined
from mss.imap.commands import (
    AclCommand,
    AppendCommand,
    Command,
    ListCommand,
    MailboxCommand,
    QresyncParameters,
    QuotaRootCommand,
    RenameCommand,
    SelectCommand,
    StatusCommand,
)
from mss.imap.fetch_render import mailbox_object_id
from mss.imap.mailbox_sync import claim_recent, flag_lines
from mss.imap.namespaces import (
    SEPARATOR,
    SHARED_PREFIX,
    SHARED_ROOT,
    MailboxNames,
    ResolvedName,
    net_unicode,
    pattern_regex,
)
from mss.imap.responses import (
    ImapBad,
    ImapNo,
    ResponseCode,
    code_appenduid,
    code_highest_modseq,
    code_uidnext,
    code_uidvalidity,
    code_unseen,
    continuation,
    fetch_response,
    render_flags,
    render_mailbox,
    render_string,
    untagged_status,
    vanished,
)
from mss.imap.selected import NO_UID_LIMIT, SelectedMailbox
from mss.imap.sequence_set import uid_ranges_to_end
from mss.imap.session import Done, Reply
from mss.store.audit_actions import AuditAction
from mss.store.flags import SYSTEM_FLAGS
from mss.store.folder_reads import (
    expunged_since,
    folder_counts,
    folder_entries,
    folder_id_of,
    folder_index,
)
from mss.store.mail_delivery import Delivered
from mss.store.mail_errors import MailStoreError
from mss.store.mail_folders import FolderInfo
from mss.store.mailboxes import INBOX
from mss.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from mss.imap.session import ImapSession

def names_of(session: ImapSession) -> MailboxNames:
    assert session.names is not None
    return session.names


def store_error(error: MailStoreError) -> ImapNo:
    return ImapNo(error.code, str(error))


async def _existing(session: ImapSession, resolved: ResolvedName) -> FolderInfo:
    async with session.store.reading() as db:
        try:
            return await session.store.mail.folders.named(db, resolved.access.mailbox_id,
                                                   resolved.folder)
        except MailStoreError:
            raise ImapNo(ResponseCode.NONEXISTENT, "No such mailbox") from None


# -- SELECT / EXAMINE ----------------------------------------------------------------


async def cmd_select(session: ImapSession, command: SelectCommand) -> Reply:
    """RFC 3501 §6.3.1-2, RFC 7162 §3.1.8 (CONDSTORE parameter), §3.2.5 (QRESYNC)."""
    if command.qresync is not None and not session.qresync:
        raise ImapBad(ResponseCode.CLIENTBUG, "QRESYNC needs ENABLE QRESYNC first")
    if session.selected is not None and (session.qresync or session.imap4rev2):
        # RFC 7162 §3.2.11, RFC 9051 §6.3.2
        yield untagged_status("OK", "Previous mailbox closed", ResponseCode.CLOSED)
    await session.close()  # RFC 3501: a failed SELECT leaves no mailbox selected
    resolved = names_of(session).resolve(command.mailbox)
    access = resolved.access
    if not access.may("r"):
        raise ImapNo(ResponseCode.NOPERM, "No right to read this mailbox")
    if command.condstore:
        session.condstore = True
    stack = AsyncExitStack()
    try:
        # subscribe before reading, so nothing committed in between is missed
        events = await session.subscribe_events(stack, access.mailbox_id)
        folder = await _existing(session, resolved)
        async with session.store.reading() as db:
            index = await folder_index(db, folder.id, access.reader)
    except BaseException:
        await stack.aclose()
        raise
    read_only = command.read_only or not (access.may("s") or access.may("w"))
    selected = SelectedMailbox(access, resolved.folder, folder.id, folder.uidvalidity,
                               read_only, index.uids, events, stack,
                               keywords=set(folder.keywords))
    await session.select(selected)
    if read_only:  # EXAMINE looks at \Recent without taking it (RFC 3501 §6.3.2)
        selected.recent.append((folder.recent_uid, NO_UID_LIMIT))
    elif index.uids and folder.recent_uid <= index.uids[-1]:
        await claim_recent(session, selected, index.uids[-1] + 1)
    for line in flag_lines(selected):
        yield line
    yield b"* %d EXISTS\r\n" % len(index.uids)
    if session.recent_enabled:
        yield b"* %d RECENT\r\n" % selected.recent_count()
    else:
        selected.recent.clear()
    if session.imap4rev2:  # RFC 9051 §6.3.2: the name as the server spells it, no UNSEEN
        special = [folder.special_use] if folder.special_use else []
        yield (b"* LIST " + render_flags(special) + b' "/" '
               + render_mailbox(command.mailbox, True) + b"\r\n")
    elif index.first_unseen_uid is not None:
        sequence = selected.sequence_of(index.first_unseen_uid)
        if sequence is not None:
            yield untagged_status("OK", "First unseen", code_unseen(sequence))
    yield untagged_status("OK", "UIDs valid", code_uidvalidity(folder.uidvalidity))
    yield untagged_status("OK", "Predicted next UID", code_uidnext(folder.uidnext))
    yield untagged_status("OK", "Highest", code_highest_modseq(folder.highestmodseq))
    yield untagged_status("OK", "Ok", f"MAILBOXID ({mailbox_object_id(folder.id).decode()})")
    if command.qresync is not None and command.qresync.uidvalidity == folder.uidvalidity:
        for line in await _resynchronised(session, selected, command.qresync):
            yield line
    code = ResponseCode.READ_ONLY if read_only else ResponseCode.READ_WRITE
    yield Done(f"{command.name} completed", code)


async def _resynchronised(
    session: ImapSession, selected: SelectedMailbox, known: QresyncParameters
) -> list[bytes]:
    """RFC 7162 §3.2.5.2: what changed since the client's MODSEQ among the UIDs it
    knows: VANISHED (EARLIER) for the removed ones, then FETCH (UID FLAGS MODSEQ)."""
    within = uid_ranges_to_end(known.known_uids) if known.known_uids is not None else None
    async with session.store.reading() as db:
        gone = await expunged_since(db, selected.folder_id, known.modseq, within)
        changed = await folder_entries(db, selected.folder_id, selected.access.reader,
                                       changed_since=known.modseq)
    lines = [vanished(gone, earlier=True)] if gone else []
    for entry in changed:
        if within is not None and not any(low <= entry.uid <= high for low, high in within):
            continue
        sequence = selected.sequence_of(entry.uid)
        if sequence is not None:
            lines.append(fetch_response(sequence, [
                (b"UID", b"%d" % entry.uid), (b"FLAGS", render_flags(sorted(entry.flags))),
                (b"MODSEQ", b"(%d)" % entry.modseq),
            ]))
    return lines


def _may_store(access: MailAccess, flag: str) -> bool:
    needed = "s" if flag == "\\Seen" else "t" if flag == "\\Deleted" else "w"
    return access.may(needed)


# -- CREATE / DELETE / RENAME / SUBSCRIBE ------------------------------------------------


def normalised_name_line(session: ImapSession, supplied: str,
                         attributes: list[str]) -> bytes | None:
    """RFC 9051 §6.3.4-6.3.6: a name sent in another form than Net-Unicode's is stored
    normalised (`net_unicode`), and a UTF-8 (IMAP4rev2) session is told so by an
    untagged LIST of the stored name whose OLDNAME is the name it sent (§6.3.9.7). A
    modified UTF-7 session gets no such line (RFC 9051 defines it for UTF-8 names)."""
    normal = net_unicode(supplied)
    if normal == supplied or not session.imap4rev2:
        return None
    return (b"* LIST " + render_flags(attributes) + b' "/" ' + render_mailbox(normal, True)
            + b' ("OLDNAME" (' + render_string(supplied) + b"))\r\n")


def _own_name(resolved: ResolvedName) -> str:
    name = resolved.folder.rstrip(SEPARATOR)
    if not name or SEPARATOR * 2 in name:
        raise ImapNo(ResponseCode.CANNOT, "Invalid mailbox name")
    return name


async def cmd_create(session: ImapSession, command: MailboxCommand) -> Reply:
    """RFC 3501 §6.3.3: superior names are created too; none is subscribed (Dovecot)."""
    raw_name = command.mailbox
    if raw_name == SHARED_ROOT or (raw_name.startswith(SHARED_PREFIX) and raw_name.count(
        SEPARATOR
    ) < 2):
        raise ImapNo(ResponseCode.CANNOT, "The shared namespace holds mailboxes, not folders")
    resolved = names_of(session).resolve(raw_name)
    if not resolved.access.may("k"):
        raise ImapNo(ResponseCode.NOPERM, "No right to create folders here")
    name = _own_name(resolved)
    if name.upper() == INBOX:
        raise ImapNo(ResponseCode.ALREADYEXISTS, "INBOX always exists")
    store = session.store
    principal = session.principal
    assert principal is not None
    owner_id = resolved.access.mailbox_id

    async def job(uow: UnitOfWork) -> int:
        pieces = name.split(SEPARATOR)
        created = 0
        for depth in range(1, len(pieces) + 1):
            partial = SEPARATOR.join(pieces[:depth])
            try:
                created = (await store.mail.folders.create(uow, owner_id, partial,
                                                          subscribed=False)).id
            except MailStoreError as error:
                if depth == len(pieces) or error.code != "ALREADYEXISTS":
                    raise store_error(error) from None
        uow.audit(AuditAction.FOLDER_CREATED, principal,
                  target=f"{resolved.access.address}/{name}")
        return created

    folder_id = await store.write(job)
    if (line := normalised_name_line(session, raw_name, [])) is not None:
        yield line
    yield Done("CREATE completed", f"MAILBOXID ({mailbox_object_id(folder_id).decode()})")


async def cmd_delete(session: ImapSession, command: MailboxCommand) -> Reply:
    resolved = names_of(session).resolve(command.mailbox)
    if not resolved.access.may("x"):
        raise ImapNo(ResponseCode.NOPERM, "No right to delete folders here")
    folder = await _existing(session, resolved)
    async with session.store.reading() as db:
        folders = await session.store.mail.folders.of_mailbox(db, resolved.access.mailbox_id)
    if any(f.name.startswith(folder.name + SEPARATOR) for f in folders):
        raise ImapNo(ResponseCode.HASCHILDREN, "Delete the folders inside it first")
    if session.selected is not None and session.selected.folder_id == folder.id:
        await session.close()
    store = session.store
    principal = session.principal
    assert principal is not None

    async def job(uow: UnitOfWork) -> None:
        try:
            await store.mail.folders.delete(uow, resolved.access.mailbox_id, folder.name)
        except MailStoreError as error:
            raise store_error(error) from None
        uow.audit(AuditAction.FOLDER_DELETED, principal,
                  target=f"{resolved.access.address}/{folder.name}")

    await store.write(job)
    if (line := normalised_name_line(session, command.mailbox, ["\\NonExistent"])) is not None:
        yield line
    yield Done("DELETE completed")


async def cmd_rename(session: ImapSession, command: RenameCommand) -> Reply:
    names = names_of(session)
    source = names.resolve(command.mailbox)
    target = names.resolve(command.new_name)
    if source.access.mailbox_id != target.access.mailbox_id:
        raise ImapNo(ResponseCode.CANNOT, "Folders cannot move between mailboxes")
    if not (source.access.may("x") and source.access.may("k")):
        raise ImapNo(ResponseCode.NOPERM, "No right to rename folders here")
    await _existing(session, source)
    new_name = _own_name(target)
    store = session.store
    principal = session.principal
    assert principal is not None

    async def job(uow: UnitOfWork) -> None:
        try:
            await store.mail.folders.rename(uow, source.access.mailbox_id, source.folder,
                                           new_name, SEPARATOR)
        except MailStoreError as error:
            raise store_error(error) from None
        uow.audit(AuditAction.FOLDER_RENAMED, principal,
                  target=f"{source.access.address}/{new_name}",
                  detail=f"from={source.folder}")

    await store.write(job)
    if (line := normalised_name_line(session, command.new_name, [])) is not None:
        yield line
    yield Done("RENAME completed")


async def cmd_subscribe(session: ImapSession, command: MailboxCommand) -> Reply:
    """Subscriptions live on the folder; a member without the manage right cannot
    change them for everyone, so shared folders simply stay subscribed."""
    resolved = names_of(session).resolve(command.mailbox)
    await _existing(session, resolved)
    if resolved.access.may("x"):
        store = session.store
        wanted = command.name == "SUBSCRIBE"

        async def job(uow: UnitOfWork) -> None:
            await store.mail.folders.set_subscribed(uow, resolved.access.mailbox_id,
                                            resolved.folder, wanted)

        await store.write(job)
    yield Done(f"{command.name} completed")


# -- LIST / LSUB --------------------------------------------------------------------


async def _all_names(session: ImapSession) -> list[tuple[str, FolderInfo | None]]:
    """Every name the principal can see; None marks a \\Noselect namespace node."""
    names = names_of(session)
    found: list[tuple[str, FolderInfo | None]] = []
    async with session.store.reading() as db:
        for access in names.accesses:
            folders = await session.store.mail.folders.of_mailbox(db, access.mailbox_id)
            if access.shared:
                found.append((f"{SHARED_PREFIX}{access.address}", None))
            found.extend((names.client_name(access, f.name), f) for f in folders)
    if names.shared:
        found.append((SHARED_ROOT, None))
    return sorted(found, key=lambda item: (item[0] != INBOX, item[0]))


async def cmd_list(session: ImapSession, command: ListCommand) -> Reply:
    """RFC 3501 §6.3.8-9, RFC 5258 selection/return options, RFC 5819 STATUS."""
    lsub = command.lsub
    if len(command.patterns) == 1 and command.patterns[0] == "" and not lsub:
        yield b'* LIST (\\Noselect) "/" ""\r\n'  # RFC 3501 §6.3.8: the hierarchy delimiter
        yield Done("LIST completed")
        return
    selection = set(command.selection_options)
    returns = set(command.return_options)
    only_subscribed = lsub or "SUBSCRIBED" in selection
    show_subscribed = only_subscribed or "SUBSCRIBED" in returns
    only_special = "SPECIAL-USE" in selection
    regexes = [pattern_regex(command.reference, p) for p in command.patterns]
    every = await _all_names(session)
    all_names = {name for name, _ in every}
    verb = b"LSUB" if lsub else b"LIST"
    for name, folder in every:
        if not any(regex.match(name) for regex in regexes):
            continue
        if only_subscribed and (folder is None or not folder.subscribed):
            continue
        if only_special and (folder is None or not folder.special_use):
            continue
        has_children = any(other.startswith(name + SEPARATOR) for other in all_names)
        attributes = ["\\HasChildren" if has_children else "\\HasNoChildren"]
        if lsub:
            attributes = []  # RFC 3501 §7.2.3: LSUB keeps to the RFC 3501 attributes
        if folder is None:  # RFC 9051 §7.3.1 (RFC 5258 §3.4): \\NonExistent in IMAP4rev2
            attributes.insert(0, "\\NonExistent" if session.imap4rev2 else "\\Noselect")
        elif not lsub:
            if folder.special_use:
                attributes.append(folder.special_use)
            if show_subscribed and folder.subscribed:
                attributes.append("\\Subscribed")
        yield (b"* " + verb + b" " + render_flags(attributes) + b' "/" '
               + render_mailbox(name, session.imap4rev2) + b"\r\n")
        if "STATUS" in returns and folder is not None and not lsub:
            resolved = names_of(session).resolve(name)
            yield await status_line(session, resolved, folder.id, command.status_items)
    yield Done(f"{verb.decode()} completed")


# -- STATUS ------------------------------------------------------------------------


async def status_line(
    session: ImapSession, resolved: ResolvedName, folder_id: int, items: tuple[str, ...]
) -> bytes:
    async with session.store.reading() as db:
        counts = await folder_counts(db, folder_id, resolved.access.reader)
    values = {
        "MESSAGES": counts.messages, "RECENT": counts.recent, "UIDNEXT": counts.uidnext,
        "UIDVALIDITY": counts.uidvalidity, "UNSEEN": counts.unseen,
        "HIGHESTMODSEQ": counts.highestmodseq, "SIZE": counts.size,
        "DELETED": counts.deleted,
    }
    rendered = b" ".join(
        b"MAILBOXID (" + mailbox_object_id(folder_id) + b")" if item == "MAILBOXID"  # RFC 8474 §4
        else b"%s %d" % (item.encode("ascii"), values[item]) for item in items)
    name = names_of(session).client_name(resolved.access, resolved.folder)
    return b"* STATUS " + render_mailbox(name, session.imap4rev2) + b" (" + rendered + b")\r\n"


async def cmd_status(session: ImapSession, command: StatusCommand) -> Reply:
    """RFC 3501 §6.3.10 (and RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE)."""
    resolved = names_of(session).resolve(command.mailbox)
    if not resolved.access.may("r"):
        raise ImapNo(ResponseCode.NOPERM, "No right to read this mailbox")
    async with session.store.reading() as db:
        folder_id = await folder_id_of(db, resolved.access.mailbox_id, resolved.folder)
    if folder_id is None:
        raise ImapNo(ResponseCode.NONEXISTENT, "No such mailbox")
    yield await status_line(session, resolved, folder_id, command.items)
    yield Done("STATUS completed")


# -- APPEND ------------------------------------------------------------------------


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 2]


async def cmd_append(session: ImapSession, command: AppendCommand) -> Reply:
    """RFC 3501 §6.3.11 with APPENDUID (RFC 4315 §3); the quota is RFC 9208's.
    MULTIAPPEND (RFC 3502): every message in one transaction, all or none. CATENATE
    (RFC 4469): the parts are joined first (mss.imap.catenate)."""
    resolved = names_of(session).resolve(command.mailbox)
    access = resolved.access
    if not access.may("i"):
        raise ImapNo(ResponseCode.NOPERM, "No right to add messages to that mailbox")
    messages = tuple([await joined(session, item) for item in command.messages])
    if any(not item.message for item in messages):
        raise ImapNo(ResponseCode.CANNOT, "Empty message")
    store = session.store
    if any(len(item.message) > store.settings.limits.max_message_bytes for item in messages):
        raise ImapNo(ResponseCode.TOOBIG, "Message too large")
    async with store.reading() as db:
        try:  # one read: the folder's id and its UIDVALIDITY (APPENDUID)
            folder = await store.mail.folders.named(db, access.mailbox_id, resolved.folder)
        except MailStoreError:
            raise ImapNo(ResponseCode.TRYCREATE, "No such mailbox") from None
        folder_id = folder.id
        if access.quota_bytes:
            used = await store.mail.mailboxes.usage(db, access.mailbox_id)
            if used + sum(len(item.message) for item in messages) > access.quota_bytes:
                raise ImapNo(ResponseCode.OVERQUOTA, "Mailbox quota exceeded")
    prepared = []
    for item in messages:
        flags = [f for f in item.flags if f in SYSTEM_FLAGS or not f.startswith("\\")]
        if not access.may("w"):
            flags = [f for f in flags if _may_store(access, f)]
        blob = await store.mail.contents.prepare_blob(access.mailbox_id, item.message, inline=True)
        prepared.append((item, flags, blob))
    principal = session.principal
    assert principal is not None

    async def job(uow: UnitOfWork) -> list[Delivered]:
        def audited(delivered: Delivered) -> None:
            uow.audit(AuditAction.MESSAGE_APPENDED, principal,
                      target=f"{access.address}/{resolved.folder};uid={delivered.uid}")

        # the UIDs may be known only at the end of the batch, when the folder row is
        # locked (docs/architecture.md §5): audited then, read after the commit
        return [await store.mail.delivery.deliver(
            uow, folder_id, blob, header_block(item.message), flags=flags,
            internal_date=item.internal_date, then=audited,
        ) for item, flags, blob in prepared]

    uids = [delivered.uid for delivered in await store.write(job)]
    yield Done("APPEND completed", code_appenduid(folder.uidvalidity, uids))


# -- NAMESPACE, IDLE -------------------------------------------------------------------


async def cmd_namespace(session: ImapSession, command: Command) -> Reply:
    yield names_of(session).namespace_response()
    yield Done("NAMESPACE completed")


async def cmd_idle(session: ImapSession, command: Command) -> Reply:
    """RFC 2177: updates now, ``+ idling``, then as they come until DONE."""
    async for update in session.updates(True):
        yield update
    session.idling_tag = command.tag
    yield continuation("idling")


# -- QUOTA (RFC 9208) -----------------------------------------------------------------


async def _quota_line(session: ImapSession, access: MailAccess) -> bytes:
    async with session.store.reading() as db:
        used = await session.store.mail.mailboxes.usage(db, access.mailbox_id)
    root = names_of(session).quota_root(access)
    resources = b""
    if access.quota_bytes:
        resources = b"STORAGE %d %d" % (used // 1024, access.quota_bytes // 1024)
    return b"* QUOTA " + render_mailbox(root, session.imap4rev2) + b" (" + resources + b")\r\n"


async def cmd_getquota(session: ImapSession, command: QuotaRootCommand) -> Reply:
    access = names_of(session).access_for_root(command.root)
    yield await _quota_line(session, access)
    yield Done("GETQUOTA completed")


async def cmd_getquotaroot(session: ImapSession, command: MailboxCommand) -> Reply:
    names = names_of(session)
    resolved = names.resolve(command.mailbox)
    await _existing(session, resolved)
    root = names.quota_root(resolved.access)
    yield (b"* QUOTAROOT " + render_mailbox(command.mailbox, session.imap4rev2) + b" "
           + render_mailbox(root, session.imap4rev2) + b"\r\n")
    yield await _quota_line(session, resolved.access)
    yield Done("GETQUOTAROOT completed")


async def cmd_setquota(session: ImapSession, command: Command) -> Reply:
    raise ImapNo(ResponseCode.NOPERM, "Quotas are set by the operator")
    yield Done("")  # pragma: no cover


# -- ACL (RFC 4314) ------------------------------------------------------------------


async def cmd_myrights(session: ImapSession, command: MailboxCommand) -> Reply:
    resolved = names_of(session).resolve(command.mailbox)
    await _existing(session, resolved)
    yield (b"* MYRIGHTS " + render_mailbox(command.mailbox, session.imap4rev2) + b" "
           + resolved.access.rights.encode("ascii") + b"\r\n")
    yield Done("MYRIGHTS completed")


async def cmd_getacl(session: ImapSession, command: MailboxCommand) -> Reply:
    resolved = names_of(session).resolve(command.mailbox)
    await _existing(session, resolved)
    if not resolved.access.may("a"):
        raise ImapNo(ResponseCode.NOPERM, "No right to read the access list")
    assert session.principal is not None
    async with session.store.reading() as db:
        pairs = await access_control_list(db, resolved.access, session.principal)
    rendered = b"".join(b" " + render_string(ident) + b" " + letters.encode("ascii")
                        for ident, letters in pairs)
    yield b"* ACL " + render_mailbox(command.mailbox, session.imap4rev2) + rendered + b"\r\n"
    yield Done("GETACL completed")


async def cmd_listrights(session: ImapSession, command: AclCommand) -> Reply:
    """RFC 4314 §3.7: ``l r s`` always together for a member; the rest one by one."""
    resolved = names_of(session).resolve(command.mailbox)
    await _existing(session, resolved)
    if not resolved.access.may("a"):
        raise ImapNo(ResponseCode.NOPERM, "No right to read the access list")
    optional = " ".join(OWNER_RIGHTS[3:])
    yield (b"* LISTRIGHTS " + render_mailbox(command.mailbox, session.imap4rev2) + b" "
           + render_string(command.identifier) + b" lrs " + optional.encode("ascii") + b"\r\n")
    yield Done("LISTRIGHTS completed")


async def cmd_setacl(session: ImapSession, command: AclCommand) -> Reply:
    """Rights follow membership in the directory (docs/architecture.md §3), not IMAP."""
    raise ImapNo(ResponseCode.NOPERM, "Rights are managed in the directory")
    yield Done("")  # pragma: no cover
