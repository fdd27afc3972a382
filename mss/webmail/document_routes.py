"""Documents (docs/architecture.md §6) through the vault's access service: the nine spaces with
counts, list, view/download, upload to Espace personnel, hide from a professional; for
professionals, a patient's documents in their care and break-glass with a reason.

The vault decides who sees what and audits it; an id the principal may not see is
answered as not found.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.web_sessions import WebSession
from mss.vault.access import VaultAccessError
from mss.vault.cda import CDA_CONTENT_TYPE
from mss.vault.cda_render import render_cda
from mss.vault.errors import VaultExtractionError
from mss.vault.spaces import PatientSpace
from mss.webmail.rendering import render
from mss.webmail.responses import file_response
from mss.webmail.web_auth import (
    checked_form,
    context_of,
    current_session,
    patient_session,
    professional_session,
)


def _space(value: str | None) -> PatientSpace | None:
    try:
        return PatientSpace(value) if value else None
    except ValueError:
        return None


async def _any_session(request: Request) -> WebSession:
    session = await current_session(request)
    if session is not None and session.principal.kind.value == "professional":
        return await professional_session(request)
    return await patient_session(request)


async def patient_documents(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    space = _space(request.query_params.get("space"))
    listing = await web.vault.list_documents(session.principal, space=space)
    people = await web.vault.professionals(session.principal)
    return render(request, "documents.html", listing=listing, space=space,
                  spaces=list(PatientSpace), base="/documents", patient_view=True,
                  people=people, error=request.query_params.get("error", ""))


CDA_PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
"""A rendered CDA: no script at all; its images are data: URIs nh3 let through."""


async def _document(request: Request, *, download: bool, embedded: bool = False) -> Response:
    session = await _any_session(request)
    web = context_of(request)
    try:
        document_id = int(request.path_params["id"])
        opened = await (web.vault.download_document if download else web.vault.read_document)(
            session.principal, document_id)
    except (ValueError, VaultAccessError):
        return render(request, "not_found.html", status_code=404)
    summary = opened.summary
    if download or summary.content_type != CDA_CONTENT_TYPE:
        return file_response(opened.content, summary.file_name, summary.content_type,
                             inline=not download)
    try:
        view = render_cda(opened.content)
    except VaultExtractionError:
        return file_response(opened.content, summary.file_name, summary.content_type)
    if embedded:  # the PDF or image a CDA N1 carries, inline and sandboxed
        if view.embedded is None:
            return render(request, "not_found.html", status_code=404)
        stem = summary.file_name.rsplit(".", 1)[0]
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
        name = f"{stem}.{extension.get(view.embedded.media_type, 'bin')}"
        return file_response(view.embedded.content, name, view.embedded.media_type,
                             inline=True)
    patient_view = session.principal.kind.value == "patient"
    message_uid = await web.vault.message_uid(session.principal, summary.id)
    response = render(request, "cda.html", view=view, document=summary,
                      base="/documents" if patient_view else "/pro/documents",
                      message_uid=message_uid)
    response.headers["content-security-policy"] = CDA_PAGE_CSP
    return response


async def view_document(request: Request) -> Response:
    return await _document(request, download=False)


async def download_document(request: Request) -> Response:
    return await _document(request, download=True)


async def embedded_document(request: Request) -> Response:
    return await _document(request, download=False, embedded=True)


async def document_message(request: Request) -> Response:
    """From a document to the message it was filed from (the patient's INBOX)."""
    session = await patient_session(request)
    web = context_of(request)
    try:
        uid = await web.vault.message_uid(session.principal, int(request.path_params["id"]))
    except ValueError:
        uid = None
    if uid is None:
        return render(request, "not_found.html", status_code=404)
    return RedirectResponse(f"/messages/inbox/{uid}", 303)


async def upload_document(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session, files=True)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return RedirectResponse("/documents?error=fichier", 303)
    content = await upload.read(web.max_upload_bytes + 1)
    if len(content) > web.max_upload_bytes:
        return render(request, "error.html", status_code=413,
                      reason="Fichier trop volumineux / file too large")
    try:
        await web.vault.upload(session.principal, upload.filename or "document", content)
    except VaultAccessError as exc:
        return render(request, "error.html", status_code=422, reason=exc.reason)
    return RedirectResponse(f"/documents?space={PatientSpace.ESPACE_PERSONNEL.value}", 303)


async def hide_document(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    try:
        await web.vault.hide_from(session.principal, int(request.path_params["id"]),
                                  str(form.get("professional", "")))
    except (ValueError, VaultAccessError) as exc:
        reason = exc.reason if isinstance(exc, VaultAccessError) else "document introuvable"
        return render(request, "error.html", status_code=404, reason=reason)
    return RedirectResponse("/documents", 303)


async def _patient_choice(request: Request, action: str) -> Response:
    """Block, unblock or name as médecin traitant one of the professionals listed."""
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    ident = str(form.get("professional", ""))
    try:
        if action == "block":
            await web.vault.block(session.principal, ident)
        elif action == "unblock":
            await web.vault.unblock(session.principal, ident)
        else:
            await web.vault.set_attending_physician(session.principal, ident or None)
    except VaultAccessError as exc:
        return render(request, "error.html", status_code=404, reason=exc.reason)
    return RedirectResponse("/documents#who", 303)


async def block_professional(request: Request) -> Response:
    return await _patient_choice(request, "block")


async def unblock_professional(request: Request) -> Response:
    return await _patient_choice(request, "unblock")


async def attending_physician(request: Request) -> Response:
    return await _patient_choice(request, "attending")


async def professional_documents(request: Request) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    ins = request.path_params["ins"].upper()
    space = _space(request.query_params.get("space"))
    try:
        listing = await web.vault.list_documents(session.principal, ins, space=space)
    except VaultAccessError as exc:
        return render(request, "break_glass.html", status_code=403, ins=ins,
                      reason=exc.reason)
    return render(request, "documents.html", listing=listing, space=space,
                  spaces=list(PatientSpace), base=f"/pro/patients/{ins}/documents",
                  patient_view=False, error="")


async def break_glass(request: Request) -> Response:
    session = await professional_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    ins = request.path_params["ins"].upper()
    try:
        await web.vault.break_glass(session.principal, ins, str(form.get("reason", "")))
    except VaultAccessError as exc:
        return render(request, "break_glass.html", status_code=403, ins=ins,
                      reason=exc.reason)
    return RedirectResponse(f"/pro/patients/{ins}/documents", 303)
