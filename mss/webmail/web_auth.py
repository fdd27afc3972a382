"""Who is asking: the session behind the cookie, and the guards of each area.

A patient reaches only patient pages, a professional only /pro pages; anything else is
sent to the login page. The session's CSRF token is put in the request scope for forms.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request

from mss.directory.web_sessions import WebSession, find_session
from mss.identity import PrincipalKind
from mss.webmail.security import check_csrf
from mss.webmail.web_context import WebContext

SESSION_COOKIE = "mss_session"
PRELOGIN_COOKIE = "mss_prelogin"


class LoginRequired(Exception):
    """No live session (or the wrong kind for this area): go to the login page."""


def context_of(request: Request) -> WebContext:
    return request.app.state.web  # type: ignore[no-any-return]


async def current_session(request: Request) -> WebSession | None:
    if "mss_session" in request.scope:
        return request.scope["mss_session"]  # type: ignore[no-any-return]
    web = context_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    session = await find_session(web.store, token, web.session_limits) if token else None
    request.scope["mss_session"] = session
    if session is not None:
        request.scope["mss_csrf"] = session.csrf_token
    return session


async def require(request: Request, kind: PrincipalKind) -> WebSession:
    session = await current_session(request)
    if session is None or session.second_factor_pending or session.principal.kind is not kind:
        raise LoginRequired()
    return session


async def patient_session(request: Request) -> WebSession:
    return await require(request, PrincipalKind.PATIENT)


async def professional_session(request: Request) -> WebSession:
    return await require(request, PrincipalKind.PROFESSIONAL)


async def read_form(request: Request, *, files: bool = False) -> FormData:
    web = context_of(request)
    return await request.form(max_files=10 if files else 0, max_fields=50,
                              max_part_size=web.max_upload_bytes)


async def checked_form(request: Request, session: WebSession, *, files: bool = False
                       ) -> FormData:
    """The form, once its CSRF token matched the session's."""
    form = await read_form(request, files=files)
    check_csrf(session.csrf_token, form)
    return form


def prelogin_token(request: Request) -> str:
    """Double-submit token for the login form, before any session exists."""
    existing = request.cookies.get(PRELOGIN_COOKIE, "")
    return existing if 20 <= len(existing) <= 100 else secrets.token_urlsafe(32)
