"""The patient's traces (audit trail, newest first, paged) and settings: space state,
personal address for notices, TOTP second factor."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.errors import DirectoryError
from mss.directory.patient_contact import InvalidNoticeAddress, set_notice_email
from mss.directory.patients import find_patient, set_patient_state
from mss.directory.principal_names import names_for_labels
from mss.directory.second_factor import (
    begin_enrolment,
    check_code,
    disable_second_factor,
    pending_secret,
    second_factor_enabled,
)
from mss.directory.web_sessions import (
    close_device_session,
    close_other_sessions,
    close_session,
    device_sessions,
)
from mss.identity import PatientSpaceState
from mss.notify.preferences import (
    Digest,
    NoticePreferences,
    notice_preferences,
    set_notice_preferences,
)
from mss.webmail.rendering import language, render
from mss.webmail.trace_text import TraceNames, trace_line, who
from mss.webmail.translations import translate
from mss.webmail.web_auth import (
    SESSION_COOKIE,
    checked_form,
    context_of,
    current_session,
    patient_session,
)

TRACE_PAGE = 30
CONFIRMED_STATES = frozenset({PatientSpaceState.OPPOSED, PatientSpaceState.CLOSED})
"""States that take the space away from her: changed only after a confirmation page."""


async def traces(request: Request) -> Response:
    """The patient's traces, filtered by who acted and by document; the service's own
    housekeeping reads are listed apart from accesses by people."""
    session = await patient_session(request)
    web = context_of(request)
    params = request.query_params
    before = params.get("before")
    before_id = int(before) if before and before.isdigit() else None
    actor = params.get("who") or None
    document = params.get("document", "")
    document_id = int(document) if document.isdigit() else None
    events = await web.vault.traces(session.principal, before_id=before_id,
                                    limit=TRACE_PAGE + 1, actor=actor,
                                    document_id=document_id)
    titles, refusals, actors, documents = await web.vault.trace_context(
        session.principal, events)
    own = session.principal.label()
    people = await names_for_labels(web.store, {e.principal for e in events} | set(actors))
    names = TraceNames(people, titles, refusals)
    lang = language(request)
    lines = [trace_line(e, own, names, lang) for e in events[:TRACE_PAGE]]
    older = lines[-1].id if len(events) > TRACE_PAGE and lines else None
    choices = [(label, who(label, own, people, lang) or translate("Vous", lang))
               for label in actors]
    query = "".join(f"&{k}={quote(v)}" for k, v in (("who", actor or ""),
                                                    ("document", document)) if v)
    return render(request, "traces.html", lines=[x for x in lines if not x.housekeeping],
                  housekeeping=[x for x in lines if x.housekeeping], older=older,
                  actors=choices, documents=documents, who=actor or "",
                  document=document_id, query=query)


async def settings_page(request: Request, message: str = "", status_code: int = 200
                        ) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    patient = await find_patient(web.store, session.principal.ident)
    login = session.principal.mailbox or ""
    return render(request, "settings.html", status_code=status_code, patient=patient,
                  message=message, totp_enabled=await second_factor_enabled(web.store, login),
                  totp_pending=await pending_secret(web.store, login),
                  states=PatientSpaceState,
                  notices=await notice_preferences(web.store, session.principal.ident),
                  devices=await device_sessions(web.store, session.principal, session.token,
                                                web.session_limits))


async def settings_submit(request: Request) -> Response:
    session = await patient_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    action = str(form.get("action", ""))
    principal = session.principal
    login = principal.mailbox or ""
    try:
        if action == "state":
            state = PatientSpaceState(str(form.get("state", "")))
            if state in CONFIRMED_STATES and form.get("confirmed") != "1":
                return render(request, "confirm_state.html", state=state.value)  # ask first
            await set_patient_state(web.store, principal.ident, state, principal=principal)
            if state is PatientSpaceState.CLOSED:  # no session outlives a closed space
                await close_session(web.store, session.token)
                response = RedirectResponse("/login", 303)
                response.delete_cookie(SESSION_COOKIE, path="/")
                return response
        elif action == "notice_email":
            await set_notice_email(web.store, principal.ident, str(form.get("email", "")),
                                   principal=principal)
        elif action == "notices":
            digest = Digest(str(form.get("digest", Digest.EACH.value)))
            await set_notice_preferences(web.store, principal, principal.ident,
                                         NoticePreferences(form.get("enabled") == "1", digest))
        elif action == "sign_out":
            if not await close_device_session(web.store, principal,
                                              str(form.get("session", ""))):
                return await settings_page(request, translate(
                    "Cette session n'existe plus.", language(request)), 404)
        elif action == "sign_out_others":
            await close_other_sessions(web.store, principal, session.token)
        elif action == "totp_begin":
            await begin_enrolment(web.store, login)
        elif action == "totp_confirm":
            if not await check_code(web.store, login, str(form.get("code", "")), confirm=True):
                return await settings_page(request, "Code incorrect.", 422)
        elif action == "totp_disable":
            await disable_second_factor(web.store, login)
        else:
            return await settings_page(request, "Action inconnue.", 400)
    except (ValueError, InvalidNoticeAddress, DirectoryError) as exc:
        return await settings_page(request, f"Refusé : {exc}", 422)
    return RedirectResponse("/settings?saved=1", 303)


async def professional_settings(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/pro", 303)
