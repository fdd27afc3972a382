"""The patient's JSON API for her own documents' access (issue 20 §3): who can see what,
and blocking or unblocking one of those professionals — the same choices as the
"Qui peut voir mes documents" section of /documents, through the same vault service.

Authentication (MSS choice, in the OpenAPI description): the patient's web session
cookie (HttpOnly, SameSite=Strict, so a request from another site carries none). A
change also needs the session's CSRF token in `X-CSRF-Token`; GET hands it over in its
body, which only a same-origin script can read. A professional is named by the `id` the
listing gives: she chooses among those listed, never by typing a number.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mss.directory.web_sessions import WebSession
from mss.identity import PrincipalKind
from mss.vault.access import ProfessionalAccess, VaultAccessError
from mss.webmail.security import tokens_match
from mss.webmail.web_auth import context_of, current_session

CSRF_HEADER = "x-csrf-token"
WHY = {"médecin traitant": "attending_physician", "in care": "in_care",
       "break-glass": "break_glass"}


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status)


async def _patient(request: Request) -> WebSession | None:
    session = await current_session(request)
    if (session is None or session.second_factor_pending
            or session.principal.kind is not PrincipalKind.PATIENT):
        return None
    return session


def access_json(entry: ProfessionalAccess) -> dict[str, Any]:
    return {"id": entry.ident, "name": entry.name, "profession": entry.profession,
            "profession_code": entry.profession_code, "specialty": entry.specialty,
            "why": [WHY.get(w, w) for w in entry.why], "blocked": entry.blocked,
            "documents": [{"space": space.value, "count": count}
                          for space, count in entry.spaces.items() if count]}


async def _listing(request: Request, session: WebSession, status: int = 200) -> Response:
    people = await context_of(request).vault.professionals(session.principal)
    return JSONResponse({"csrf_token": session.csrf_token,
                         "professionals": [access_json(p) for p in people]}, status)


async def document_access(request: Request) -> Response:
    """GET /api/v1/me/document-access: who can see which of her documents (audited)."""
    session = await _patient(request)
    if session is None:
        return _error(401, "unauthorized", "a patient's web session is needed")
    return await _listing(request, session)


async def _set_blocked(request: Request, blocked: bool) -> Response:
    session = await _patient(request)
    if session is None:
        return _error(401, "unauthorized", "a patient's web session is needed")
    if not tokens_match(session.csrf_token, request.headers.get(CSRF_HEADER)):
        return _error(403, "csrf", "X-CSRF-Token must be the session's token "
                                   "(given by GET /me/document-access)")
    vault = context_of(request).vault
    ident = request.path_params["professional"]
    try:
        if blocked:
            await vault.block(session.principal, ident)
        else:
            await vault.unblock(session.principal, ident)
    except VaultAccessError as exc:
        return _error(404, "not_found", exc.reason)
    return await _listing(request, session)


async def block_professional(request: Request) -> Response:
    """POST /api/v1/me/document-access/{professional}/block."""
    return await _set_blocked(request, True)


async def unblock_professional(request: Request) -> Response:
    """POST /api/v1/me/document-access/{professional}/unblock."""
    return await _set_blocked(request, False)
