"""The patient's pages: inbox as conversations, a conversation, reading, replying, new
message, messages not sent (docs/architecture.md §4; docs/architecture.md §9 "Patient messaging
rules").

The patient sees names, never professional addresses; URLs carry opaque conversation
keys and the UIDs of the patient's own folders only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.identity import Principal
from mss.pipeline.message_search import (
    DocumentHit,
    MessageHit,
    SearchQuery,
    catch_up,
    search_documents,
    search_messages,
)
from mss.pipeline.patient_contacts import reply_rights, writable_contacts
from mss.pipeline.refused_sends import refused_sends
from mss.pipeline.trash import RESTORE_DAYS, move_to_trash, restore, trashed
from mss.policy import ConversationStatus, ReplyRight
from mss.policy.addresses import canonical_address
from mss.read_models.mailbox_views import (
    ConversationSummary,
    MessageSummary,
    conversation_messages,
    folder_messages,
    names_of,
    patient_conversations,
)
from mss.store.entry_reads import EntryInfo
from mss.vault.cda import CDA_CONTENT_TYPE
from mss.vault.cda_render import CdaView, render_cda
from mss.vault.errors import VaultExtractionError
from mss.webmail.compose import compose, reply_subject
from mss.webmail.mail_actions import (
    FOLDER_KEYS,
    FOLDERS,
    conversation_key,
    find_entry,
    header_links,
    mark_conversation_read,
    mark_unread,
    open_message,
    send,
    texts_of,
    trace_attachment,
    trace_listing,
    trace_search,
)
from mss.webmail.message_view import (
    AttachmentInfo,
    attachment_content,
    display_subject,
    view_message,
)
from mss.webmail.rendering import PARIS, language, render
from mss.webmail.responses import file_response
from mss.webmail.threads import ThreadLinks, reply_fields, threads_by_headers
from mss.webmail.translations import translate
from mss.webmail.web_auth import checked_form, context_of, patient_session
from mss.webmail.web_context import WebContext

PAGE = 50
MAX_TEXT = 100_000


def allowed_contact(conversation: ConversationSummary) -> str:
    return conversation.contact or conversation.counterpart


async def _conversations(web: WebContext, mailbox: str) -> list[ConversationSummary]:
    async with web.store.reading() as session:
        return await patient_conversations(session, mailbox)


async def _rights(web: WebContext, mailbox: str, conversations: list[ConversationSummary]
                  ) -> dict[str, ReplyRight]:
    return await reply_rights(web.store, web.pipeline.facts, mailbox,
                              [allowed_contact(c) for c in conversations])


async def inbox(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    mailbox = session.principal.mailbox or ""
    conversations = await _conversations(web, mailbox)
    rights = await _rights(web, mailbox, conversations)
    rows = [(c, conversation_key(c.counterpart), rights.get(allowed_contact(c)))
            for c in conversations]
    return render(request, "inbox.html", rows=rows, ended=ConversationStatus.ENDED)


async def _find(web: WebContext, mailbox: str, key: str) -> ConversationSummary | None:
    for conversation in await _conversations(web, mailbox):
        if conversation_key(conversation.counterpart) == key:
            return conversation
    return None


async def _conversation_page(web: WebContext, mailbox: str, found: ConversationSummary,
                             page: int) -> list[MessageSummary]:
    mailbox_id = await web.store.mail.mailboxes.id_of(mailbox)
    assert mailbox_id is not None
    async with web.store.reading() as db:
        return await conversation_messages(
            db, mailbox_id, received_from=[found.counterpart],
            sent_to=[found.counterpart, *([found.contact] if found.contact else [])],
            limit=PAGE + 1, offset=page * PAGE)


async def conversation(request: Request) -> Response:
    """A conversation: its messages threaded by In-Reply-To/References (never by
    subject), each with its text; opening it marks the received ones read."""
    session = await patient_session(request)
    web = context_of(request)
    mailbox = session.principal.mailbox or ""
    key = request.path_params["key"]
    found = await _find(web, mailbox, key)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    page = max(0, _int(request.query_params.get("page", "0")))
    messages = await _conversation_page(web, mailbox, found, page)
    shown = messages[:PAGE]
    links = await header_links(web, shown)
    texts = await texts_of(web, shown)
    threads = threads_by_headers([
        ThreadLinks(m, m.internal_date, m.message_ref, *links[(m.folder, m.uid)])
        for m in shown])
    await mark_conversation_read(web, session.principal, shown, key)
    right = (await _rights(web, mailbox, [found])).get(allowed_contact(found))
    last = next((m for m in shown if not m.outgoing), None)
    return render(request, "conversation.html", conversation=found,
                  key=key, threads=threads, texts=texts, messages=shown,
                  more=len(messages) > PAGE, page=page, may_reply=bool(right and right.allowed),
                  ended=found.status is ConversationStatus.ENDED,
                  reply_subject=reply_subject(display_subject(last.subject if last else "")),
                  reply_uid=last.uid if last else None,
                  display_subject=display_subject, folder_key=FOLDER_KEYS)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


async def read_message(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    uid = _int(request.path_params["uid"])
    opened = await open_message(web, session.principal, request.path_params["folder"], uid)
    if opened is None:
        return render(request, "not_found.html", status_code=404)
    view = view_message(opened.raw)
    counterpart = opened.entry.from_addr if opened.folder == "inbox" else ""
    async with web.store.reading() as db:
        conversations = await patient_conversations(db, session.principal.mailbox or "")
    match = next((c for c in conversations if c.counterpart == counterpart.lower()), None)
    if match is None and opened.folder == "sent":
        match = next((c for c in conversations
                      if allowed_contact(c) in opened.entry.from_addr
                      or allowed_contact(c) in view.from_addr), None)
    filed = (await web.vault.documents_of_message(session.principal, view.message_id)
             if opened.folder == "inbox" else [])
    return render(request, "message.html", view=view, folder=opened.folder, uid=uid,
                  filed=filed, sender_name=match.name if match else (view.from_name or ""),
                  key=conversation_key(match.counterpart) if match else None,
                  base="/messages")


async def _attachment_of(web: WebContext, principal: Principal, folder_key: str, uid: int,
                         index: int) -> tuple[EntryInfo, AttachmentInfo, bytes] | None:
    """The message `uid` of her folder and its attachment `index`, or None for any
    id that is not hers or does not exist (one 404 for both: ids are not probed)."""
    found = await find_entry(web, principal, folder_key, uid)
    if found is None:
        return None
    raw = await web.store.mail.contents.read_raw(found[1].mailbox_id, found[1].blob_key)
    part = attachment_content(raw, index)
    return None if part is None else (found[1], *part)


async def attachment(request: Request) -> Response:
    session = await patient_session(request)
    return await attachment_response(request, session.principal)


async def attachment_response(request: Request, principal: Principal, *,
                              inline: bool = False) -> Response:
    """An attachment with its original name (RFC 6266 filename*), traced; `inline`
    for the preview (PDF frame, image), under a CSP with nothing to load."""
    web = context_of(request)
    folder_key, index = request.path_params["folder"], _int(request.path_params["index"])
    found = await _attachment_of(web, principal, folder_key,
                                 _int(request.path_params["uid"]), index)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    entry, info, data = found
    await trace_attachment(web, principal, folder_key, entry, index,
                           "preview" if inline else "download")
    return file_response(data, info.filename, info.content_type, inline=inline,
                         frame_from_self=inline)


async def attachment_inline(request: Request) -> Response:
    session = await patient_session(request)
    return await attachment_response(request, session.principal, inline=True)


async def attachment_preview(request: Request) -> Response:
    session = await patient_session(request)
    return await preview_response(request, session.principal, "/messages")


async def preview_response(request: Request, principal: Principal, base: str) -> Response:
    """The preview page of an attachment: an image inline, a PDF in a frame (the
    browser's viewer, see mss.webmail.responses.file_response), a
    CDA rendered by the vault's renderer (mss.vault.cda_render), text as text; anything
    else is offered for download only."""
    web = context_of(request)
    folder_key, index = request.path_params["folder"], _int(request.path_params["index"])
    uid = _int(request.path_params["uid"])
    found = await _attachment_of(web, principal, folder_key, uid, index)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    entry, info, data = found
    kind, cda, text = preview_kind(info.content_type, data)
    await trace_attachment(web, principal, folder_key, entry, index, "preview")
    response = render(request, "attachment.html", info=info, kind=kind, cda=cda, text=text,
                      url=f"{base}/{folder_key}/{uid}/attachments/{index}",
                      back=f"{base}/{folder_key}/{uid}")
    response.headers["content-security-policy"] = PREVIEW_CSP
    return response


PREVIEW_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
               "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
"""The preview page frames this origin's inline PDF and shows images from it or, in a
CDA, as data: URIs; still no script."""


def preview_kind(content_type: str, data: bytes) -> tuple[str, CdaView | None, str]:
    """How a part is previewed: "image", "pdf", "cda" (with its view), "text" or
    "none" (download only)."""
    if content_type in ("image/png", "image/jpeg"):
        return "image", None, ""
    if content_type == "application/pdf":
        return "pdf", None, ""
    if content_type in ("text/xml", "application/xml", CDA_CONTENT_TYPE) or (
            data[:200].lstrip().startswith(b"<?xml") and b"ClinicalDocument" in data[:4096]):
        try:
            return "cda", render_cda(data), ""
        except VaultExtractionError:
            return "none", None, ""
    if content_type == "text/plain":
        return "text", None, data.decode("utf-8", "replace")[:200_000]
    return "none", None, ""


async def reply(request: Request) -> Response:
    """A reply names the message it answers (In-Reply-To) and its thread (References),
    RFC 5322 §3.6.4, so the professional's client threads it."""
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    mailbox = session.principal.mailbox or ""
    found = await _find(web, mailbox, request.path_params["key"])
    if found is None:
        return render(request, "not_found.html", status_code=404)
    text = str(form.get("body", ""))[:MAX_TEXT]
    subject = str(form.get("subject", "")).strip()[:300] or "Réponse"
    headers = await _reply_headers(web, session.principal, found,
                                   _int(str(form.get("in_reply_to", ""))))
    return await _send(request, found.name, allowed_contact(found), subject, text, headers)


async def _reply_headers(web: WebContext, principal: Principal, found: ConversationSummary,
                         uid: int) -> dict[str, str]:
    """The threading fields of a reply to INBOX message `uid` of this conversation (the
    latest received one when `uid` is not one of it)."""
    messages = await _conversation_page(web, principal.mailbox or "", found, 0)
    received = [m for m in messages if not m.outgoing]
    answered = next((m for m in received if m.uid == uid), received[0] if received else None)
    if answered is None:
        return {}
    in_reply_to, references = (await header_links(web, [answered]))[("INBOX", answered.uid)]
    return reply_fields(answered.message_ref, in_reply_to, references)


async def _send(request: Request, name: str, recipient: str, subject: str, text: str,
                headers: dict[str, str] | None = None) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    principal = session.principal
    raw = compose(sender=principal.mailbox or "", sender_name=principal.display_name,
                  recipients=[recipient], subject=subject, text=text, headers=headers)
    result = await send(web, principal, [recipient], raw, subject=subject,
                        names={recipient: name})
    if result.refused:
        verdict = result.refused[0].verdict
        kept = await refused_sends(web.store, principal.mailbox or "", limit=1)
        return render(request, "not_sent.html", status_code=422, name=name,
                      subject=subject, reason=verdict.reason, rule=verdict.rule.value,
                      kept=bool(kept and kept[0].drafts_uid is not None))
    return RedirectResponse("/inbox?sent=1", 303)


async def write_page(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    contacts = await writable_contacts(web.store, web.pipeline.facts,
                                       session.principal.mailbox or "")
    keyed = [(conversation_key(c.address), c) for c in contacts]
    return render(request, "write.html", contacts=keyed)


async def write_submit(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    contacts = await writable_contacts(web.store, web.pipeline.facts,
                                       session.principal.mailbox or "")
    wanted = str(form.get("to", ""))
    contact = next((c for c in contacts if conversation_key(c.address) == wanted), None)
    if contact is None:  # nothing was sent, nothing is kept: the page says so
        return render(request, "not_sent.html", status_code=422, name="", subject="",
                      reason=translate("Ce destinataire n'est pas disponible.",
                                       language(request)), rule="P2", kept=False)
    subject = str(form.get("subject", "")).strip()[:300] or "(sans objet)"
    return await _send(request, contact.name, contact.address, subject,
                       str(form.get("body", ""))[:MAX_TEXT])


async def not_sent(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    rows = await refused_sends(web.store, session.principal.mailbox or "")
    return render(request, "refused.html", rows=rows)


async def sent(request: Request) -> Response:
    """Every message she sent, to a conversation or to a pharmacy, newest first; the
    recipients by name, never by address."""
    session = await patient_session(request)
    web = context_of(request)
    page = max(0, _int(request.query_params.get("page", "0")))
    mailbox_id = await web.store.mail.mailboxes.id_of(session.principal.mailbox or "")
    if mailbox_id is None:
        return render(request, "not_found.html", status_code=404)
    async with web.store.reading() as db:
        messages = await folder_messages(db, mailbox_id, "Sent", limit=PAGE + 1,
                                         offset=page * PAGE)
        names = await names_of(db, [a for m in messages for a in recipients_of(m)])
    await trace_listing(web, session.principal, "Sent", len(messages[:PAGE]))
    rows = [(m, ", ".join(names.get(a, "") for a in recipients_of(m)))
            for m in messages[:PAGE]]
    return render(request, "sent.html", rows=rows, more=len(messages) > PAGE, page=page,
                  display_subject=display_subject)


def recipients_of(message: MessageSummary) -> list[str]:
    return [canonical_address(a) for a in message.to_addrs.split(",") if a.strip()]


async def mark_unread_submit(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    await checked_form(request, session)
    folder = request.path_params["folder"]
    if not await mark_unread(web, session.principal, folder, _int(request.path_params["uid"])):
        return render(request, "not_found.html", status_code=404)
    return RedirectResponse("/inbox?unread=1", 303)


async def delete_submit(request: Request) -> Response:
    """Delete = move to the Trash, restorable for RESTORE_DAYS (no confirmation needed:
    nothing is lost until then)."""
    session = await patient_session(request)
    web = context_of(request)
    await checked_form(request, session)
    folder = FOLDERS.get(request.path_params["folder"], "")
    mailbox_id = await web.store.mail.mailboxes.id_of(session.principal.mailbox or "")
    moved = None
    if mailbox_id is not None:
        moved = await move_to_trash(web.store, session.principal, mailbox_id, folder,
                                    _int(request.path_params["uid"]))
    if moved is None:
        return render(request, "not_found.html", status_code=404)
    return RedirectResponse("/trash?deleted=1", 303)


async def trash_page(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    mailbox_id = await web.store.mail.mailboxes.id_of(session.principal.mailbox or "")
    rows = await trashed(web.store, mailbox_id) if mailbox_id is not None else []
    await trace_listing(web, session.principal, "Trash", len(rows))
    return render(request, "trash.html", rows=rows, days=RESTORE_DAYS,
                  display_subject=display_subject)


async def restore_submit(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    await checked_form(request, session)
    mailbox_id = await web.store.mail.mailboxes.id_of(session.principal.mailbox or "")
    restored = None
    if mailbox_id is not None:
        restored = await restore(web.store, session.principal, mailbox_id,
                                 _int(request.path_params["uid"]))
    if restored is None:
        return render(request, "not_found.html", status_code=404)
    return RedirectResponse("/trash?restored=1", 303)


def _day(value: str, *, after: bool = False) -> datetime | None:
    """A date field (YYYY-MM-DD) as the start of that day in Paris (of the next day for
    the end of a range); None when empty or not a date."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    start = datetime.combine(day + timedelta(days=1 if after else 0), time(), PARIS)
    return start.astimezone(UTC)


async def search(request: Request) -> Response:
    """Search over her messages and documents by words, sender and date range, from the
    index (mss.pipeline.message_search); the search and what it showed are traced."""
    session = await patient_session(request)
    web = context_of(request)
    params = request.query_params
    query = SearchQuery(text=params.get("q", "")[:200], sender=params.get("sender", "")[:200],
                        since=_day(params.get("since", "")),
                        until=_day(params.get("until", ""), after=True))
    principal = session.principal
    mailbox_id = await web.store.mail.mailboxes.id_of(principal.mailbox or "")
    messages: list[MessageHit] = []
    documents: list[DocumentHit] = []
    names: dict[str, str] = {}
    if mailbox_id is not None and not query.empty:
        await catch_up(web.store, mailbox_id, principal.ident)
        async with web.store.reading() as db:
            messages = await search_messages(db, mailbox_id, query, limit=PAGE)
            documents = await search_documents(db, principal.ident, query, limit=PAGE)
            names = await names_of(db, [m.from_addr for m in messages if m.folder != "Sent"])
        await trace_search(web, principal, len(messages), len(documents))
    return render(request, "search.html", query=query, messages=messages,
                  documents=documents, names=names, folder_key=FOLDER_KEYS,
                  searched=not query.empty, display_subject=display_subject,
                  form={k: params.get(k, "") for k in ("q", "sender", "since", "until")})
