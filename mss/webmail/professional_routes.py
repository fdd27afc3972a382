"""The professional's pages: conversations of the mailbox they logged in to (own PER or
an ORG as authorisation identity); per patient the conversation, its state and the
documents the vault's access matrix lets them see; END it after a confirmation that
shows what the patient will see (same effect as a `[FIN]` message,
docs/architecture.md §4); write to a patient by INS once the patient's name is
confirmed (docs/design-notes.md), with attachments."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.identifiers import InvalidIdentifier, patient_address
from mss.directory.patients import PatientInfo, find_patient
from mss.directory.professional_sign_in import org_mailboxes_of
from mss.policy import ConversationStatus
from mss.read_models.mailbox_views import (
    NEUTRAL_PROFESSIONAL,
    conversation_messages,
    names_of,
    patient_names,
    professional_conversations,
)
from mss.vault.access import SpaceListing, VaultAccessError
from mss.webmail.compose import OutgoingFile, compose
from mss.webmail.mail_actions import open_message, reader_of, send
from mss.webmail.message_view import display_subject, view_message
from mss.webmail.patient_routes import attachment_response
from mss.webmail.rendering import render
from mss.webmail.web_auth import checked_form, context_of, professional_session

PAGE = 50
UNKNOWN_INS = "Aucun patient n'a cet INS ici. / No patient has this INS here."
MAX_FILES = 10
DOCUMENTS_SHOWN = 10


async def home(request: Request) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    principal = session.principal
    async with web.store.reading() as db:
        conversations = await professional_conversations(db, principal.mailbox or "",
                                                         reader_of(principal))
    orgs = await org_mailboxes_of(web.store, principal.ident)
    return render(request, "pro_home.html", conversations=conversations,
                  may_switch=bool(orgs),
                  ended=ConversationStatus.ENDED)


def _patient(request: Request) -> tuple[str, str] | None:
    ins = request.path_params["ins"].upper()
    try:
        return ins, patient_address(ins, context_of(request).settings.server.patient_domain)
    except InvalidIdentifier:
        return None


async def patient_page(request: Request, notice: str = "", status_code: int = 200
                       ) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    found = _patient(request)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    ins, address = found
    principal = session.principal
    mailbox = principal.mailbox or ""
    conversation = await web.conversations.find(mailbox, address)
    mailbox_id = await web.store.mail.mailboxes.id_of(mailbox)
    page = max(0, int(request.query_params.get("page", "0") or 0)
               if request.query_params.get("page", "0").isdigit() else 0)
    async with web.store.reading() as db:
        names = await patient_names(db, [address])
        messages = await conversation_messages(
            db, mailbox_id or 0, received_from=[address], sent_to=[address],
            reader=reader_of(principal), limit=PAGE + 1, offset=page * PAGE)
    documents: SpaceListing | None = None
    refusal = ""
    if conversation is not None:  # in care is necessary: without it, no vault access asked
        try:
            documents = await web.vault.list_documents(principal, ins)
        except VaultAccessError as exc:
            refusal = exc.reason
    return render(request, "pro_patient.html", status_code=status_code, ins=ins,
                  name=names.get(address, ins), conversation=conversation,
                  messages=messages[:PAGE], more=len(messages) > PAGE, page=page,
                  ended=ConversationStatus.ENDED, notice=notice,
                  display_subject=display_subject, documents=documents,
                  documents_shown=DOCUMENTS_SHOWN, refusal=refusal,
                  just_ended=request.query_params.get("ended") == "1")


async def end_page(request: Request, status_code: int = 200) -> Response:
    """The confirmation before ending: what the patient will see afterwards."""
    session = await professional_session(request)
    web = context_of(request)
    found = _patient(request)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    ins, address = found
    conversation = await web.conversations.find(session.principal.mailbox or "", address)
    if conversation is None or conversation.status is ConversationStatus.ENDED:
        return RedirectResponse(f"/pro/patients/{ins}", 303)
    async with web.store.reading() as db:
        name = (await patient_names(db, [address])).get(address, ins)
    return render(request, "pro_end.html", status_code=status_code, ins=ins, name=name,
                  shown_as=session.principal.display_name or session.principal.mailbox)


async def end_conversation(request: Request) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    found = _patient(request)
    if found is None:
        return render(request, "not_found.html", status_code=404)
    ins, address = found
    if await web.conversations.find(session.principal.mailbox or "", address) is None:
        # ConversationService.end would create an ended conversation, and with it a
        # "care" relation giving access to the patient's documents: nothing to end here.
        return await patient_page(request, "Aucun échange avec ce patient. / No exchange "
                                           "with this patient.", 403)
    if form.get("confirm") != "1":  # a form without the confirmation asks for it
        return await end_page(request)
    decision = await web.conversations.end(session.principal, session.principal.mailbox or "",
                                           address, via="webmail")
    if decision.verdict.refused:
        return await patient_page(request, decision.verdict.reason, 403)
    return RedirectResponse(f"/pro/patients/{ins}?ended=1", 303)


async def read_message(request: Request) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    opened = await open_message(web, session.principal, request.path_params["folder"],
                                request.path_params["uid"])
    if opened is None:
        return render(request, "not_found.html", status_code=404)
    view = view_message(opened.raw)
    author = opened.entry.from_addr  # recorded by the pipeline (docs/sender-truth.md)
    async with web.store.reading() as db:
        name = (await names_of(db, [author])).get(author.lower(), "") if author else ""
    shown = f"{name} <{author}>" if name and name != NEUTRAL_PROFESSIONAL else author
    return render(request, "message.html", view=view, folder=opened.folder,
                  uid=opened.entry.uid, sender_name=shown or view.from_name,
                  key=None, base="/pro/messages")


async def attachment(request: Request) -> Response:
    session = await professional_session(request)
    return await attachment_response(request, session.principal)


async def _write_form(request: Request, ins: str, *, error: str = "",
                      status_code: int = 200) -> Response:
    """Step one asks for the INS; step two names the patient it designates, to be
    confirmed before anything is sent (docs/design-notes.md)."""
    web = context_of(request)
    patient: PatientInfo | None = None
    if ins:
        try:
            patient_address(ins, web.settings.server.patient_domain)
            patient = await find_patient(web.store, ins)
        except InvalidIdentifier:
            error = error or UNKNOWN_INS
        if patient is None:
            error = error or UNKNOWN_INS
            status_code = max(status_code, 422) if error == UNKNOWN_INS else status_code
    return render(request, "pro_write.html", status_code=status_code, ins=ins,
                  patient=patient, error=error)


async def write_page(request: Request) -> Response:
    await professional_session(request)
    ins = request.query_params.get("ins", "").strip().upper()[:20]
    return await _write_form(request, ins)


async def write_submit(request: Request) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    form = await checked_form(request, session, files=True)
    ins = str(form.get("ins", "")).strip().upper()
    try:
        address = patient_address(ins, web.settings.server.patient_domain)
    except InvalidIdentifier:
        return await _write_form(request, ins, error="INS invalide / invalid INS",
                                 status_code=422)
    if form.get("confirm_name") != "1":
        return await _write_form(request, ins, status_code=422, error=(
            "Confirmez le nom du patient avant d'envoyer. / Confirm the patient's name "
            "before sending."))
    files = []
    for upload in form.getlist("files")[:MAX_FILES]:
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(web.max_upload_bytes + 1)
            if len(data) > web.max_upload_bytes:
                return await _write_form(
                    request, ins, status_code=413,
                    error="Pièce jointe trop volumineuse / attachment too large")
            files.append(OutgoingFile(upload.filename, upload.content_type or
                                      "application/octet-stream", data))
    principal = session.principal
    subject = str(form.get("subject", "")).strip()[:300] or "(sans objet)"
    headers = {"X-MSS-MES": "FIN"} if form.get("end") == "1" else {}
    raw = compose(sender=principal.mailbox or "", sender_name=principal.display_name,
                  recipients=[address], subject=subject, text=str(form.get("body", "")),
                  files=files, headers=headers)
    result = await send(web, principal, [address], raw, subject=subject)
    if result.refused:
        return await _write_form(request, ins, status_code=422,
                                 error=result.refused[0].verdict.reason)
    return RedirectResponse(f"/pro/patients/{ins}", 303)
