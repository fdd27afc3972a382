"""The patient's pages: inbox as conversations, a conversation, reading, replying, new
message, messages not sent (docs/architecture.md §4; docs/architecture.md §9 "Patient messaging
rules").

The patient sees names, never professional addresses; URLs carry opaque conversation
keys and the UIDs of the patient's own folders only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.pipeline.mailbox_views import (
    ConversationSummary,
    conversation_messages,
    patient_conversations,
)
from mss.pipeline.patient_contacts import reply_rights, writable_contacts
from mss.pipeline.refused_sends import refused_sends
from mss.policy import ConversationStatus, ReplyRight
from mss.webmail.compose import compose, reply_subject
from mss.webmail.mail_actions import conversation_key, open_message, send
from mss.webmail.message_view import display_subject, view_message
from mss.webmail.rendering import render
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


async def conversation(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    mailbox = session.principal.mailbox or ""
    found = await _find(web, mailbox, request.path_params["key"])
    if found is None:
        return render(request, "not_found.html", status_code=404)
    page = max(0, _int(request.query_params.get("page", "0")))
    mailbox_id = await web.store.mail.mailbox_id(mailbox)
    assert mailbox_id is not None
    async with web.store.reading() as db:
        messages = await conversation_messages(
            db, mailbox_id, received_from=[found.counterpart],
            sent_to=[found.counterpart, *([found.contact] if found.contact else [])],
            limit=PAGE + 1, offset=page * PAGE)
    right = (await _rights(web, mailbox, [found])).get(allowed_contact(found))
    last_subject = next((m.subject for m in messages if not m.outgoing), "")
    return render(request, "conversation.html", conversation=found,
                  key=request.path_params["key"], messages=messages[:PAGE],
                  more=len(messages) > PAGE, page=page, may_reply=bool(right and right.allowed),
                  ended=found.status is ConversationStatus.ENDED,
                  reply_subject=reply_subject(display_subject(last_subject)),
                  display_subject=display_subject)


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


async def attachment(request: Request) -> Response:
    session = await patient_session(request)
    return await attachment_response(request, session.principal)


async def attachment_response(request: Request, principal: object) -> Response:
    from mss.webmail.mail_actions import find_entry
    from mss.webmail.message_view import attachment_content
    from mss.webmail.responses import file_response

    web = context_of(request)
    found = await find_entry(web, principal, request.path_params["folder"],  # type: ignore[arg-type]
                             _int(request.path_params["uid"]))
    if found is None:
        return render(request, "not_found.html", status_code=404)
    raw = await web.store.mail.read_raw(found[1].mailbox_id, found[1].blob_key)
    part = attachment_content(raw, _int(request.path_params["index"]))
    if part is None:
        return render(request, "not_found.html", status_code=404)
    info, data = part
    return file_response(data, info.filename, info.content_type)


async def reply(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    mailbox = session.principal.mailbox or ""
    found = await _find(web, mailbox, request.path_params["key"])
    if found is None:
        return render(request, "not_found.html", status_code=404)
    text = str(form.get("body", ""))[:MAX_TEXT]
    subject = str(form.get("subject", "")).strip()[:300] or "Réponse"
    return await _send(request, found.name, allowed_contact(found), subject, text)


async def _send(request: Request, name: str, recipient: str, subject: str, text: str
                ) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    principal = session.principal
    raw = compose(sender=principal.mailbox or "", sender_name=principal.display_name,
                  recipients=[recipient], subject=subject, text=text)
    result = await send(web, principal, [recipient], raw, subject=subject,
                        names={recipient: name})
    if result.refused:
        verdict = result.refused[0].verdict
        return render(request, "not_sent.html", status_code=422, name=name,
                      subject=subject, reason=verdict.reason, rule=verdict.rule.value)
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
    if contact is None:
        return render(request, "not_sent.html", status_code=422, name="", subject="",
                      reason="Ce destinataire n'est pas disponible. / This recipient is "
                             "not available.", rule="P2")
    subject = str(form.get("subject", "")).strip()[:300] or "(sans objet)"
    return await _send(request, contact.name, contact.address, subject,
                       str(form.get("body", ""))[:MAX_TEXT])


async def not_sent(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    rows = await refused_sends(web.store, session.principal.mailbox or "")
    return render(request, "refused.html", rows=rows)
