"""Routes of "Se connecter avec Pro Santé Connect" (mss.oidc.web_sign_in does the work).

POST /login/oidc (CSRF-checked with the pre-login cookie) sends the browser to the
provider and binds the flow to a fresh `mss_oidc` cookie; GET /login/oidc/callback
finishes with the state and that cookie, and opens a web session for the professional
(or the ORG mailbox they named). A professional who is a member of ORG mailboxes is
then asked which mailbox to open (GET/POST /login/mailbox): their own or one of those
ORG mailboxes, chosen from a list instead of typed on the login form.

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

from mss.directory.professional_sign_in import org_mailboxes_of, sign_in_professional
from mss.directory.web_sessions import close_session, open_session
from mss.event_log import event
from mss.identity import Principal, PrincipalKind
from mss.oidc.provider_keys import ProviderUnavailable
from mss.oidc.web_sign_in import PENDING_LIFETIME
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.webmail.auth_routes import home_of, login_page_with_error
from mss.webmail.rendering import render
from mss.webmail.security import check_csrf, is_https, set_cookie
from mss.webmail.web_auth import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    checked_form,
    context_of,
    professional_session,
    read_form,
)

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
        choose = await _org_choices(web.store, result.principal)
        response = render(request, "login_continue.html",
                          target="/login/mailbox" if choose else home_of(
                              result.principal.kind))
        set_cookie(response, request, SESSION_COOKIE, session.token,
                   secure_setting=web.secure_cookies)
        response.delete_cookie(PRELOGIN_COOKIE, path="/")
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response


async def _org_choices(store: Store, principal: Principal) -> list[str]:
    """The ORG mailboxes to offer after a sign-in on the professional's own mailbox (none
    when the sign-in already named one of them)."""
    if principal.kind is not PrincipalKind.PROFESSIONAL:
        return []
    orgs = await org_mailboxes_of(store, principal.ident)
    return [] if principal.mailbox in orgs else orgs


async def _choices(request: Request, principal: Principal) -> tuple[str, list[str]]:
    web = context_of(request)
    own = await sign_in_professional(web.store, principal.ident, None)
    orgs = await org_mailboxes_of(web.store, principal.ident)
    return (own.principal.mailbox or "" if own is not None else ""), orgs


async def mailbox_choice_page(request: Request, error: str = "", status_code: int = 200
                              ) -> Response:
    """Which mailbox to open: the professional's own, or an ORG they are a member of."""
    session = await professional_session(request)
    own, orgs = await _choices(request, session.principal)
    return render(request, "choose_mailbox.html", status_code=status_code, own=own,
                  orgs=orgs, current=session.principal.mailbox, error=error)


async def mailbox_choice_submit(request: Request) -> Response:
    """Open a session on the chosen mailbox (membership checked as for a SASL authzid,
    mss.directory.authentication.authorised_as) and close the one it replaces."""
    session = await professional_session(request)
    web = context_of(request)
    form = await checked_form(request, session)
    chosen = str(form.get("mailbox", "")).strip().lower()
    own, orgs = await _choices(request, session.principal)
    found = None
    if chosen == own or chosen in orgs:
        found = await sign_in_professional(web.store, session.principal.ident,
                                           None if chosen == own else chosen)
    if found is None:
        return await mailbox_choice_page(
            request, "Choisissez une boîte de la liste. / Choose a mailbox from the list.",
            403)
    event(AuditAction.AUTH_SUCCEEDED, protocol="http", mechanism="mailbox-choice",
          user=session.principal.ident, principal=found.principal.label())
    replacement = await open_session(web.store, found.principal)
    await close_session(web.store, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(home_of(found.principal.kind), 303)
    set_cookie(response, request, SESSION_COOKIE, replacement.token,
               secure_setting=web.secure_cookies)
    return response
