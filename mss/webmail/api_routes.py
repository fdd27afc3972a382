"""The JSON API for hospital software (APP mailboxes).

Authentication (MSS choice, documented in the OpenAPI description): `Authorization:
Bearer <token>`, a token per APP mailbox made with `mss api token create ADDRESS`, kept
hashed. Messages go through the one pipeline (channel SUBMISSION, via "api") and the
answer gives each recipient's result exactly as the pipeline decided it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mss.agenda.appointments import AgendaEntry, read_agenda
from mss.agenda.posted_appointments import (
    PatientNotFound,
    PatientUnavailable,
    PostedAppointmentInvalid,
    apply_posted,
    patient_ins,
    posted_cancel,
    posted_request,
)
from mss.directory.api_tokens import principal_for_token
from mss.directory.auth_policy import AuthMethod, principal_allows
from mss.identity import Principal
from mss.pipeline.delivery_status import delivery_status
from mss.webmail.compose import ALLOWED_EXTRA_HEADERS, OutgoingFile, address_ok, compose
from mss.webmail.mail_actions import send
from mss.webmail.openapi import OPENAPI
from mss.webmail.web_auth import context_of

MAX_RECIPIENTS = 100
MAX_APPOINTMENT_BODY = 16 * 1024


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str = "") -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail


def api_error_response(exc: ApiError) -> JSONResponse:
    headers = {"www-authenticate": 'Bearer realm="mss"'} if exc.status == 401 else None
    return JSONResponse({"error": exc.error, "detail": exc.detail}, exc.status, headers)


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    principal = None
    if scheme.lower() == "bearer" and token:
        principal = await principal_for_token(context_of(request).store, token.strip())
    if principal is not None and not principal_allows(
            context_of(request).settings.auth, principal, AuthMethod.TOKEN,
            credential_mailbox=principal.mailbox):
        principal = None  # [auth]: API tokens refused for this kind of mailbox
    if principal is None or not principal.mailbox:
        raise ApiError(401, "unauthorized", "a valid bearer token of an APP mailbox is needed")
    return principal


def _decode_files(items: Any) -> list[OutgoingFile]:
    if not isinstance(items, list):
        raise ApiError(400, "invalid_request", "attachments must be a list")
    files = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("content_base64"), str):
            raise ApiError(400, "invalid_request", "each attachment needs content_base64")
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "invalid_request", "attachment is not base64") from None
        files.append(OutgoingFile(str(item.get("filename") or "piece-jointe"),
                                  str(item.get("content_type") or "application/octet-stream"),
                                  data))
    return files


async def _payload(request: Request) -> tuple[dict[str, Any], list[OutgoingFile]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        web = context_of(request)
        form = await request.form(max_files=20, max_fields=50,
                                  max_part_size=web.max_upload_bytes)
        try:
            data = json.loads(str(form.get("message", "{}")))
        except json.JSONDecodeError:
            raise ApiError(400, "invalid_request", "the 'message' part is not JSON") from None
        files = []
        for upload in form.getlist("attachments"):
            if isinstance(upload, UploadFile):
                files.append(OutgoingFile(upload.filename or "piece-jointe",
                                          upload.content_type or "application/octet-stream",
                                          await upload.read()))
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_request", "the message must be a JSON object")
        return data, files
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    return data, _decode_files(data.get("attachments", []))


async def post_message(request: Request) -> Response:
    try:
        principal = await _principal(request)
        data, files = await _payload(request)
        recipients = data.get("to")
        if (not isinstance(recipients, list) or not recipients
                or len(recipients) > MAX_RECIPIENTS
                or not all(isinstance(r, str) and address_ok(r) for r in recipients)):
            raise ApiError(400, "invalid_request", "'to' must list 1 to 100 addresses")
        headers = data.get("headers", {}) or {}
        if not isinstance(headers, dict) or any(
                str(k).lower() not in ALLOWED_EXTRA_HEADERS or "\n" in str(v) or "\r" in str(v)
                for k, v in headers.items()):
            raise ApiError(400, "invalid_request",
                           f"headers allowed: {', '.join(sorted(ALLOWED_EXTRA_HEADERS))}")
        subject = str(data.get("subject", ""))[:998]
        sender = principal.mailbox or ""
        raw = compose(sender=sender, sender_name=str(data.get("from_name", "")),
                      recipients=recipients, subject=subject, text=str(data.get("text", "")),
                      html=data.get("html") if isinstance(data.get("html"), str) else None,
                      files=files, headers={str(k): str(v) for k, v in headers.items()})
    except ApiError as exc:
        return api_error_response(exc)
    web = context_of(request)
    result = await send(web, principal, recipients, raw, subject=subject, via="api")
    body = {
        "message_id": result.message_id,
        "results": [
            {"address": r.address, "accepted": r.accepted, "code": int(r.verdict.code),
             "enhanced": r.verdict.enhanced.value, "rule": r.verdict.rule.value,
             "reason": r.verdict.reason, "delivered": r.delivered_to is not None,
             "queued": r.queued}
            for r in result.results
        ],
    }
    status = 201 if result.accepted else 422
    return JSONResponse(body, status)


async def get_message(request: Request) -> Response:
    try:
        principal = await _principal(request)
    except ApiError as exc:
        return api_error_response(exc)
    ref = request.path_params["message_id"].strip()
    if not ref.startswith("<"):
        ref = f"<{ref}>"
    statuses = await delivery_status(context_of(request).store, principal.label(),
                                     principal.mailbox or "", ref)
    if statuses is None:
        return api_error_response(ApiError(404, "not_found", "no such message"))
    return JSONResponse({"message_id": ref, "recipients": [
        {"address": s.address, "state": s.state, "rule": s.rule, "attempts": s.attempts,
         "last_error": s.last_error} for s in statuses]})


async def openapi(_request: Request) -> Response:
    return JSONResponse(OPENAPI)


# -- appointments (issue 23): JSON translated into the agenda's iTIP changes ------------

def _appointment_json(entry: AgendaEntry) -> dict[str, Any]:
    return {"uid": entry.uid, "start": entry.starts_at.isoformat(),
            "end": entry.ends_at.isoformat(), "all_day": entry.all_day,
            "summary": entry.summary, "location": entry.location,
            "cancelled": entry.cancelled, "source": entry.source}


async def _json_body(request: Request) -> object:
    if len(await request.body()) > MAX_APPOINTMENT_BODY:
        raise ApiError(413, "too_large", f"at most {MAX_APPOINTMENT_BODY} bytes")
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", "the body is not JSON") from None


async def _apply(request: Request, read: Any) -> Response:
    web = context_of(request)
    domain = web.settings.server.patient_domain
    try:
        principal = await _principal(request)
        try:
            posted = read(await _json_body(request), domain)
        except PostedAppointmentInvalid as error:
            raise ApiError(400, "invalid_request", str(error)) from None
        try:
            outcome = await apply_posted(web.store, principal, posted)
        except PatientNotFound:
            raise ApiError(404, "unknown_patient", "no patient space for this INS") from None
        except PatientUnavailable as refused:
            raise ApiError(422, "patient_unavailable", f"R3: {refused.reason}") from None
    except ApiError as exc:
        return api_error_response(exc)
    uid = posted.change.appointments[0].uid
    if outcome.created:
        return JSONResponse({"uid": uid, "result": "created"}, 201)
    if outcome.updated or outcome.cancelled:
        return JSONResponse({"uid": uid, "result": "updated" if outcome.updated
                             else "cancelled"}, 200)
    reason = outcome.reasons[0] if outcome.reasons else "ignored"
    if reason == "unknown-appointment":
        return api_error_response(ApiError(404, "unknown_appointment",
                                           "this application sent no appointment with "
                                           "this uid to this patient"))
    return api_error_response(ApiError(409, "older_sequence",
                                       "a later sequence of this appointment is stored"))


async def post_appointment(request: Request) -> Response:
    """Create or update (RFC 5546 REQUEST, by uid and sequence) an appointment."""
    return await _apply(request, posted_request)


async def cancel_appointment(request: Request) -> Response:
    """Cancel (RFC 5546 CANCEL) an appointment this application sent."""
    return await _apply(request, posted_cancel)


async def list_appointments(request: Request) -> Response:
    """The appointments this application sent to one patient (audited read)."""
    web = context_of(request)
    try:
        principal = await _principal(request)
        try:
            ins = patient_ins(request.query_params.get("patient"),
                              web.settings.server.patient_domain)
        except PostedAppointmentInvalid as error:
            raise ApiError(400, "invalid_request", str(error)) from None
    except ApiError as exc:
        return api_error_response(exc)
    entries = await read_agenda(web.store, ins, principal,
                                organizers=frozenset({(principal.mailbox or "").lower()}),
                                why="via=api")
    return JSONResponse({"patient": ins,
                         "appointments": [_appointment_json(e) for e in entries]})
