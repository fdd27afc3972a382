"""Routes of "Se connecter avec Pro Santé Connect" (mss.oidc.web_sign_in does the work).

POST /login/oidc (CSRF-checked with the pre-login cookie) sends the browser to the
provider and binds the flow to a fresh `mss_oidc` cookie; GET /login/oidc/callback
finishes with the state and that cookie, and opens a web session for the professional
(or the ORG mailbox they named).

Cookies: the provider's redirect back is a cross-site navigation, where SameSite=Strict
cookies are not sent: `mss_oidc` is SameSite=Lax (sent on top-level GET navigations),
HttpOnly, limited to the callback path and ten minutes. The callback answers with a page
that moves on to /pro by itself (meta refresh, same-site), because a redirect chain that
began on another site would not carry the Strict session cookie either.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.web_sessions import open_session
from mss.oidc.provider_keys import ProviderUnavailable
from mss.oidc.web_sign_in import PENDING_LIFETIME
from mss.webmail.auth_routes import home_of, login_page_with_error
from mss.webmail.rendering import render
from mss.webmail.security import check_csrf, is_https, set_cookie
from mss.webmail.web_auth import PRELOGIN_COOKIE, SESSION_COOKIE, context_of, read_form

FLOW_COOKIE = "mss_oidc"
CALLBACK_PATH = "/login/oidc/callback"
FAILED = "Connexion refusée par Pro Santé Connect ou par la messagerie. Réessayez."
UNAVAILABLE = "Pro Santé Connect est indisponible pour le moment. Réessayez plus tard."


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


async def oidc_begin(request: Request) -> Response:
    web = context_of(request)
    form = await read_form(request)
    browser = request.cookies.get(PRELOGIN_COOKIE, "")
    check_csrf(browser, form)
    if web.oidc is None:
        return RedirectResponse("/login", 303)
    binding = secrets.token_urlsafe(32)
    try:
        url = await web.oidc.begin(binding, _callback_url(request),
                                   str(form.get("mailbox", "")))
    except ProviderUnavailable:
        return login_page_with_error(request, UNAVAILABLE, 503)
    response = RedirectResponse(url, 303)
    response.set_cookie(FLOW_COOKIE, binding, max_age=int(PENDING_LIFETIME.total_seconds()),
                        path=CALLBACK_PATH, httponly=True, samesite="lax",
                        secure=web.secure_cookies or is_https(request))
    return response


async def oidc_callback(request: Request) -> Response:
    web = context_of(request)
    if web.oidc is None:
        return RedirectResponse("/login", 303)
    query = request.query_params
    client = request.client.host if request.client else "unknown"
    result = await web.oidc.finish(request.cookies.get(FLOW_COOKIE, ""),
                                   query.get("state", ""), query.get("code", ""), client)
    if result.principal is None:
        response = login_page_with_error(request, UNAVAILABLE if result.temporary else FAILED,
                                         503 if result.temporary else 401)
    else:
        session = await open_session(web.store, result.principal)
        request.scope["mss_csrf"] = session.csrf_token
        response = render(request, "login_continue.html",
                          target=home_of(result.principal.kind))
        set_cookie(response, request, SESSION_COOKIE, session.token,
                   secure_setting=web.secure_cookies)
        response.delete_cookie(PRELOGIN_COOKIE, path="/")
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response
