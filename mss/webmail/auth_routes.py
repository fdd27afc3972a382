"""Login (patients and professionals on one page), TOTP second factor, logout, language.

Patients log in with their mailbox address or their INS; professionals with their own
address, naming an ORG mailbox they are members of as authorisation identity (docs/architecture.md
§3). Failures and lockout are the directory's (uniform answer, rate limits, audit).
"""

from __future__ import annotations

import re
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.authentication import SignInOutcome, authenticate
from mss.directory.identifiers import InvalidIdentifier, patient_address
from mss.directory.second_factor import check_code, second_factor_enabled
from mss.directory.web_sessions import close_session, complete_second_factor, open_session
from mss.event_log import event
from mss.identity import PrincipalKind
from mss.store.audit_actions import AuditAction
from mss.webmail.rendering import LANG_COOKIE, render
from mss.webmail.security import CSP, check_csrf, set_cookie
from mss.webmail.web_auth import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    context_of,
    current_session,
    prelogin_token,
    read_form,
)

INS_LOGIN = re.compile(r"^[0-9]{13}[0-9]{2}$|^[0-9][0-9AB][0-9]{11}[0-9]{2}$", re.IGNORECASE)


def home_of(kind: PrincipalKind) -> str:
    return "/pro" if kind is PrincipalKind.PROFESSIONAL else "/inbox"


async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None or session.second_factor_pending:
        return RedirectResponse("/login", 303)
    return RedirectResponse(home_of(session.principal.kind), 303)


def _login_page(request: Request, error: str = "", status_code: int = 200, *,
                closed_since: datetime | None = None) -> Response:
    token = prelogin_token(request)
    request.scope["mss_csrf"] = token
    oidc = context_of(request).oidc
    response = render(request, "login.html", status_code=status_code, error=error,
                      oidc_label=oidc.label if oidc is not None else "",
                      closed_since=closed_since)
    if oidc is not None:  # the sign-in button's form ends at the provider (CSP form-action)
        response.headers["content-security-policy"] = CSP.replace(
            "form-action 'self'", f"form-action 'self' {oidc.origin}")
    set_cookie(response, request, PRELOGIN_COOKIE, token,
               secure_setting=context_of(request).secure_cookies)
    return response


async def login_page(request: Request) -> Response:
    return _login_page(request)


def login_page_with_error(request: Request, error: str, status_code: int) -> Response:
    return _login_page(request, error, status_code)


def login_identity(login: str, patient_domain: str) -> str:
    """An INS typed as login means the patient's mailbox address."""
    login = login.strip()
    if INS_LOGIN.match(login):
        try:
            return patient_address(login.upper(), patient_domain)
        except InvalidIdentifier:
            return login.lower()
    return login.lower()


async def login_submit(request: Request) -> Response:
    web = context_of(request)
    form = await read_form(request)
    check_csrf(request.cookies.get(PRELOGIN_COOKIE, ""), form)
    login = login_identity(str(form.get("login", "")), web.settings.server.patient_domain)
    org = str(form.get("mailbox", "")).strip().lower() or None
    client = request.client.host if request.client else "unknown"
    outcome = SignInOutcome()
    principal = await authenticate(web.store, login, str(form.get("password", "")), client,
                                   authzid=org, outcome=outcome)
    if principal is None or principal.kind not in (PrincipalKind.PATIENT,
                                                   PrincipalKind.PROFESSIONAL):
        event(AuditAction.AUTH_FAILED, protocol="http", mechanism="password", user=login,
              client=client)
        if outcome.closed_since is not None:  # the password was right: say why
            return _login_page(request, "", status_code=403,
                               closed_since=outcome.closed_since)
        return _login_page(
            request, "Identifiants incorrects ou trop de tentatives. Réessayez plus tard.",
            status_code=401)
    event(AuditAction.AUTH_SUCCEEDED, protocol="http", mechanism="password", user=login,
          principal=principal.label(), client=client)
    pending = await second_factor_enabled(web.store, login)
    session = await open_session(web.store, principal, second_factor_pending=pending,
                                 user_agent=request.headers.get("user-agent", ""),
                                 client_address=client)
    response = RedirectResponse("/login/code" if pending else home_of(principal.kind), 303)
    set_cookie(response, request, SESSION_COOKIE, session.token,
               secure_setting=web.secure_cookies)
    response.delete_cookie(PRELOGIN_COOKIE, path="/")
    return response


async def code_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None or not session.second_factor_pending:
        return RedirectResponse("/login", 303)
    return render(request, "login_code.html", error="")


async def code_submit(request: Request) -> Response:
    web = context_of(request)
    session = await current_session(request)
    if session is None or not session.second_factor_pending:
        return RedirectResponse("/login", 303)
    form = await read_form(request)
    check_csrf(session.csrf_token, form)
    login = session.principal.mailbox or ""
    if not await check_code(web.store, login, str(form.get("code", ""))):
        return render(request, "login_code.html", status_code=401, error="Code incorrect.")
    fresh = await complete_second_factor(web.store, session.token)
    if fresh is None:
        return RedirectResponse("/login", 303)
    response = RedirectResponse(home_of(fresh.principal.kind), 303)
    set_cookie(response, request, SESSION_COOKIE, fresh.token,
               secure_setting=web.secure_cookies)
    return response


async def logout(request: Request) -> Response:
    session = await current_session(request)
    if session is not None:
        form = await read_form(request)
        check_csrf(session.csrf_token, form)
        await close_session(context_of(request).store, session.token)
        event(AuditAction.AUTH_LOGGED_OUT, protocol="http", principal=session.principal.label(),
              client=request.client.host if request.client else "unknown")
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def switch_language(request: Request) -> Response:
    lang = "en" if request.path_params.get("lang") == "en" else "fr"
    back = request.query_params.get("next", "/")
    safe = back.startswith("/") and not back.startswith("//") and "\\" not in back
    response = RedirectResponse(back if safe else "/", 303)
    set_cookie(response, request, LANG_COOKIE, lang,
               secure_setting=context_of(request).secure_cookies, max_age=365 * 86400)
    return response
