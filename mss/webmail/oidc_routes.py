"""Routes of "Se connecter avec Pro Santé Connect" (mss.oidc.web_sign_in does the work).

POST /login/oidc (CSRF-checked with the pre-login cookie) sends the browser to the
provider; GET /login/oidc/callback finishes with the state, bound to that same cookie,
and opens a web session for the professional (or the ORG mailbox they named).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mss.directory.web_sessions import open_session
from mss.oidc.provider_keys import ProviderUnavailable
from mss.webmail.auth_routes import home_of, login_page_with_error
from mss.webmail.security import check_csrf, set_cookie
from mss.webmail.web_auth import PRELOGIN_COOKIE, SESSION_COOKIE, context_of, read_form

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
    try:
        url = await web.oidc.begin(browser, _callback_url(request),
                                   str(form.get("mailbox", "")))
    except ProviderUnavailable:
        return login_page_with_error(request, UNAVAILABLE, 503)
    return RedirectResponse(url, 303)


async def oidc_callback(request: Request) -> Response:
    web = context_of(request)
    if web.oidc is None:
        return RedirectResponse("/login", 303)
    query = request.query_params
    client = request.client.host if request.client else "unknown"
    result = await web.oidc.finish(request.cookies.get(PRELOGIN_COOKIE, ""),
                                   query.get("state", ""), query.get("code", ""), client)
    if result.principal is None:
        return login_page_with_error(request, UNAVAILABLE if result.temporary else FAILED,
                                     503 if result.temporary else 401)
    session = await open_session(web.store, result.principal)
    response = RedirectResponse(home_of(result.principal.kind), 303)
    set_cookie(response, request, SESSION_COOKIE, session.token,
               secure_setting=web.secure_cookies)
    response.delete_cookie(PRELOGIN_COOKIE, path="/")
    return response
