"""HTTP protections every response and form gets.

Invariants:
- every response carries a strict Content-Security-Policy (no script at all, styles and
  images only from this origin, forms only to this origin, never framed), X-Frame-Options
  DENY, nosniff and no Referer;
- every state-changing form carries a CSRF token bound to the session (or, before login,
  to a pre-login cookie) and is refused without it; cookies are SameSite=Strict and
  HttpOnly, and Secure on https or when the operator says TLS ends in front of MSS;
- request bodies are bounded before they are read (Content-Length required on POST).
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mss.event_log import begin_session

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class CsrfRefused(Exception):
    """A form without the right token: answered 403, nothing done."""


class SecurityHeaders:
    """Pure ASGI middleware: headers on every response, bounded request bodies."""

    def __init__(self, app: ASGIApp, limits: Any) -> None:
        self.app = app
        self.limits = limits  # anything with `max_body_bytes` (the WebContext)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        begin_session()  # one id per request (its own task): on every line it causes
        if scope["method"] in ("POST", "PUT", "PATCH"):
            length = dict(scope["headers"]).get(b"content-length")
            refusal = None
            if length is None or not length.isdigit():
                refusal = Response("Content-Length required\n", 411)
            elif int(length) > self.limits.max_body_bytes:
                refusal = Response("Request too large\n", 413)
            if refusal is not None:
                await self._with_headers(refusal, scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _with_headers(self, response: Response, scope: Scope, receive: Receive,
                            send: Send) -> None:
        for name, value in HEADERS:
            response.headers[name.decode()] = value.decode()
        await response(scope, receive, send)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *,
               secure_setting: bool, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=secure_setting or is_https(request))


def tokens_match(expected: str, given: Any) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(
        expected.encode(), given.encode())


def check_csrf(expected: str, form: FormData) -> None:
    if not tokens_match(expected, form.get("csrf")):
        raise CsrfRefused()
