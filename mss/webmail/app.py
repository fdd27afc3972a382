"""The Starlette application: webmail pages, JSON API, autoconfig, health.

Invariants: no route reads the database itself (services and domain read models do);
every response passes through SecurityHeaders; every POST from a page is checked for
its CSRF token; a page of one user never resolves an id of another (lookups are scoped
to the session's mailbox, and the vault answers not found).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mss.webmail import (
    account_routes,
    agenda_routes,
    api_routes,
    auth_routes,
    document_routes,
    oidc_routes,
    path_ids,  # noqa: F401  (registers {…:stored_id} before routes())
    patient_api_routes,
    patient_routes,
    professional_routes,
    profile_routes,
    public_routes,
)
from mss.webmail.rendering import render
from mss.webmail.security import CsrfRefused, SecurityHeaders
from mss.webmail.web_auth import LoginRequired
from mss.webmail.web_context import WebContext

STATIC = Path(__file__).with_name("static")


async def _login_required(request: Request, _exc: Exception) -> Response:
    return RedirectResponse("/login", 303)


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return render(request, "error.html", status_code=403,
                  reason="Formulaire expiré ou invalide : rechargez la page. / "
                         "Expired or invalid form: reload the page.")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if request.url.path.startswith("/api/"):
        from starlette.responses import JSONResponse
        return JSONResponse({"error": "http_error", "detail": str(status)}, status)
    return render(request, "not_found.html" if status == 404 else "error.html",
                  status_code=status, reason=f"Erreur {status}")


def routes() -> list[Route | Mount]:
    p, a, d, r = patient_routes, auth_routes, document_routes, professional_routes
    return [
        Route("/", a.home),
        Route("/login", a.login_page, methods=["GET"]),
        Route("/login", a.login_submit, methods=["POST"]),
        Route("/login/oidc", oidc_routes.oidc_begin, methods=["POST"]),
        Route("/login/oidc/callback", oidc_routes.oidc_callback, name="oidc_callback"),
        Route("/login/mailbox", oidc_routes.mailbox_choice_page, methods=["GET"]),
        Route("/login/mailbox", oidc_routes.mailbox_choice_submit, methods=["POST"]),
        Route("/login/code", a.code_page, methods=["GET"]),
        Route("/login/code", a.code_submit, methods=["POST"]),
        Route("/logout", a.logout, methods=["POST"]),
        Route("/lang/{lang}", a.switch_language),
        Route("/inbox", p.inbox),
        Route("/conversations/{key}", p.conversation),
        Route("/conversations/{key}/reply", p.reply, methods=["POST"]),
        Route("/messages/{folder}/{uid:stored_id}", p.read_message),
        Route("/messages/{folder}/{uid:stored_id}/attachments/{index:stored_id}", p.attachment),
        Route("/messages/{folder}/{uid:stored_id}/attachments/{index:stored_id}/inline",
              p.attachment_inline),
        Route("/messages/{folder}/{uid:stored_id}/attachments/{index:stored_id}/preview",
              p.attachment_preview),
        Route("/messages/{folder}/{uid:stored_id}/unread", p.mark_unread_submit,
              methods=["POST"]),
        Route("/messages/{folder}/{uid:stored_id}/delete", p.delete_submit, methods=["POST"]),
        Route("/sent", p.sent),
        Route("/search", p.search),
        Route("/trash", p.trash_page),
        Route("/trash/{uid:stored_id}/restore", p.restore_submit, methods=["POST"]),
        Route("/write", p.write_page, methods=["GET"]),
        Route("/write", p.write_submit, methods=["POST"]),
        Route("/not-sent", p.not_sent),
        Route("/documents", d.patient_documents),
        Route("/documents/upload", d.upload_document, methods=["POST"]),
        Route("/documents/{id:stored_id}", d.view_document),
        Route("/documents/{id:stored_id}/download", d.download_document),
        Route("/documents/{id:stored_id}/embedded", d.embedded_document),
        Route("/documents/{id:stored_id}/message", d.document_message),
        Route("/documents/{id:stored_id}/hide", d.hide_document, methods=["POST"]),
        Route("/documents/who/block", d.block_professional, methods=["POST"]),
        Route("/documents/who/unblock", d.unblock_professional, methods=["POST"]),
        Route("/documents/who/attending", d.attending_physician, methods=["POST"]),
        Route("/agenda", agenda_routes.agenda_page),
        Route("/agenda/events", agenda_routes.add_event, methods=["POST"]),
        Route("/agenda/events/{id:stored_id}/delete", agenda_routes.delete_event,
              methods=["POST"]),
        Route("/agenda/settings", agenda_routes.save_settings, methods=["POST"]),
        Route("/agenda/feeds", agenda_routes.create_feed_page, methods=["POST"]),
        Route("/agenda/feeds/{id:stored_id}/revoke", agenda_routes.revoke_feed_page,
              methods=["POST"]),
        Route("/agenda/feed/{token}.ics", agenda_routes.feed, name="agenda_feed"),
        Route("/profile", profile_routes.patient_profile),
        Route("/profile/items", profile_routes.patient_add, methods=["POST"]),
        Route("/profile/items/{id:stored_id}", profile_routes.patient_change,
              methods=["POST"]),
        Route("/profile/items/{id:stored_id}/delete", profile_routes.patient_delete,
              methods=["POST"]),
        Route("/profile/synthesis.pdf", profile_routes.synthesis),
        Route("/profile/share", profile_routes.share, methods=["POST"]),
        Route("/traces", account_routes.traces),
        Route("/settings", account_routes.settings_page, methods=["GET"]),
        Route("/settings", account_routes.settings_submit, methods=["POST"]),
        Route("/pro", r.home),
        Route("/pro/write", r.write_page, methods=["GET"]),
        Route("/pro/write", r.write_submit, methods=["POST"]),
        Route("/pro/patients/{ins}", r.patient_page),
        Route("/pro/patients/{ins}/end", r.end_page, methods=["GET"]),
        Route("/pro/patients/{ins}/end", r.end_conversation, methods=["POST"]),
        Route("/pro/patients/{ins}/documents", d.professional_documents),
        Route("/pro/patients/{ins}/agenda", agenda_routes.professional_agenda),
        Route("/pro/patients/{ins}/profile", profile_routes.professional_profile),
        Route("/pro/patients/{ins}/profile/items", profile_routes.professional_add,
              methods=["POST"]),
        Route("/pro/patients/{ins}/profile/items/{id:stored_id}",
              profile_routes.professional_change, methods=["POST"]),
        Route("/pro/patients/{ins}/profile/items/{id:stored_id}/delete",
              profile_routes.professional_delete, methods=["POST"]),
        Route("/pro/patients/{ins}/emergency", profile_routes.emergency_view),
        Route("/pro/patients/{ins}/emergency", profile_routes.emergency_break_glass,
              methods=["POST"]),
        Route("/pro/patients/{ins}/break-glass", d.break_glass, methods=["POST"]),
        Route("/pro/documents/{id:stored_id}", d.view_document),
        Route("/pro/documents/{id:stored_id}/download", d.download_document),
        Route("/pro/documents/{id:stored_id}/embedded", d.embedded_document),
        Route("/pro/messages/{folder}/{uid:stored_id}", r.read_message),
        Route("/pro/messages/{folder}/{uid:stored_id}/attachments/{index:stored_id}", r.attachment),
        Route("/api/v1/openapi.json", api_routes.openapi),
        Route("/api/v1/messages", api_routes.post_message, methods=["POST"]),
        Route("/api/v1/me/document-access", patient_api_routes.document_access),
        Route("/api/v1/me/document-access/{professional}/block",
              patient_api_routes.block_professional, methods=["POST"]),
        Route("/api/v1/me/document-access/{professional}/unblock",
              patient_api_routes.unblock_professional, methods=["POST"]),
        Route("/api/v1/messages/{message_id:path}", api_routes.get_message),
        Route("/api/v1/appointments", api_routes.post_appointment, methods=["POST"]),
        Route("/api/v1/appointments", api_routes.list_appointments, methods=["GET"]),
        Route("/api/v1/appointments/cancel", api_routes.cancel_appointment, methods=["POST"]),
        Route("/.well-known/autoconfig/mail/config-v1.1.xml", public_routes.autoconfig),
        Route("/mail/config-v1.1.xml", public_routes.autoconfig),
        Route("/health", public_routes.health),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(
    web: WebContext, *, ports: dict[str, int] | None = None,
) -> SecurityHeaders:
    """The ASGI application; `ports` gives the real ports of listeners bound to port 0
    (/metrics is on the admin listener, mss.admin_listener)."""
    app = Starlette(routes=routes(), exception_handlers={
        LoginRequired: _login_required, CsrfRefused: _csrf_refused,
        HTTPException: _http_error,
    })
    app.state.web = web
    app.state.ports = ports if ports is not None else {}
    return SecurityHeaders(app, web)
