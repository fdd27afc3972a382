"""A small OpenID provider for tests and the demo: Pro Santé Connect in miniature.

It speaks real HTTP (Starlette under uvicorn): discovery (OpenID Connect Discovery 1.0
§4), its keys as a JWKS (an RSA and a P-256 key generated with cryptography, kids
`dev-rs256` and `dev-es256`), `/authorize` that consents at once for its configured
professional (or the one named by `login_hint`) and redirects with a code, and `/token`
that trades the code and the PKCE verifier (RFC 7636, S256 only) for an ID token and an
access token. `mint` signs tokens directly for SASL tests and scripts.

Invariants: codes are single use and live `CODE_LIFETIME` by the injected clock; a
redirect goes only to a registered redirect URI (never to the one asked for otherwise,
RFC 6749 §4.1.2.1); tokens carry the national id as PSC does (`SubjectNameID` = 8+RPPS).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from mss.clock import Clock

CODE_LIFETIME = timedelta(seconds=60)
TOKEN_LIFETIME = timedelta(minutes=10)
RS256_KID = "dev-rs256"
ES256_KID = "dev-es256"


@dataclass(frozen=True, slots=True)
class DevProfessional:
    rpps: str
    given_name: str = ""
    family_name: str = ""

    @property
    def national_id(self) -> str:
        return "8" + self.rpps  # PSC: type 8 (RPPS) followed by the number

    @property
    def subject(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mss-dev-provider:{self.rpps}"))


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    professional: DevProfessional
    expires_at: datetime


def generate_signing_keys() -> KeySet:
    return KeySet([
        RSAKey.generate_key(2048, parameters={"kid": RS256_KID, "use": "sig", "alg": "RS256"}),
        ECKey.generate_key("P-256", parameters={"kid": ES256_KID, "use": "sig",
                                                "alg": "ES256"}),
    ])


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class DevProvider:
    clock: Clock
    professionals: list[DevProfessional]
    client_id: str = "mss-webmail"
    client_secret: str = ""
    redirect_uris: list[str] = field(default_factory=list)
    audience: str = "mss"
    issuer: str = ""
    keys: KeySet = field(default_factory=generate_signing_keys)
    codes: dict[str, _Grant] = field(default_factory=dict)
    signing_kid: str = RS256_KID

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
        ])

    def public_jwks(self) -> dict[str, Any]:
        return dict(self.keys.as_dict(private=False))

    def mint(self, professional: DevProfessional, *, audience: str | None = None,
             lifetime: timedelta = TOKEN_LIFETIME, kid: str | None = None,
             issued_at: datetime | None = None, key: Any = None,
             extra: dict[str, Any] | None = None) -> str:
        """A signed token for `professional` (an access token unless `extra` says more)."""
        kid = kid or self.signing_kid
        now = issued_at or self.clock.now()
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": professional.subject,
            "aud": audience if audience is not None else self.audience,
            "iat": int(now.timestamp()), "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()), "jti": secrets.token_hex(8),
            "SubjectNameID": professional.national_id,
            "preferred_username": professional.national_id,
            "given_name": professional.given_name, "family_name": professional.family_name,
            "acr": "eidas1",
        }
        claims.update(extra or {})
        alg = "ES256" if kid == ES256_KID else "RS256"
        return jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, claims,
                          key if key is not None else self.keys.get_by_kid(kid))

    # -- HTTP ---------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["openid", "scope_all"],
        })

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.public_jwks())

    def _professional(self, hint: str) -> DevProfessional:
        for professional in self.professionals:
            if hint in (professional.rpps, professional.national_id):
                return professional
        return self.professionals[0]

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return PlainTextResponse("unknown client or redirect_uri", 400)
        state = q.get("state", "")
        problem = ""
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            problem = "invalid_request"
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problem = "invalid_request"  # RFC 7636 §4.4.1: PKCE is required here
        if problem:
            query = urlencode({"error": problem, "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", 302)
        code = secrets.token_urlsafe(24)
        self.codes[code] = _Grant(self.client_id, redirect_uri, q["code_challenge"],
                                  q.get("nonce", ""),
                                  self._professional(q.get("login_hint", "")),
                                  self.clock.now() + CODE_LIFETIME)
        query = urlencode({"code": code, "state": state})
        return RedirectResponse(f"{redirect_uri}?{query}", 302)

    def _client_authenticated(self, request: Request, form: Any) -> bool:
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            client_id, _, secret = decoded.partition(":")
        return client_id == self.client_id and hmac.compare_digest(secret, self.client_secret)

    async def token(self, request: Request) -> Response:
        form = await request.form()

        def error(code: str, status: int = 400) -> Response:
            return JSONResponse({"error": code}, status, {"cache-control": "no-store"})

        if not self._client_authenticated(request, form):
            return error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return error("unsupported_grant_type")
        grant = self.codes.pop(str(form.get("code", "")), None)  # single use
        if grant is None or grant.expires_at <= self.clock.now():
            return error("invalid_grant")
        if grant.redirect_uri != form.get("redirect_uri"):
            return error("invalid_grant")
        verifier = str(form.get("code_verifier", ""))
        if not verifier or not hmac.compare_digest(s256(verifier), grant.challenge):
            return error("invalid_grant")  # RFC 7636 §4.6
        professional = grant.professional
        id_extra: dict[str, Any] = {"azp": self.client_id,
                                    "auth_time": int(self.clock.now().timestamp())}
        if grant.nonce:
            id_extra["nonce"] = grant.nonce
        return JSONResponse({
            "access_token": self.mint(professional),
            "id_token": self.mint(professional, audience=self.client_id, extra=id_extra),
            "token_type": "Bearer", "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": "openid scope_all",
        }, headers={"cache-control": "no-store"})


@contextlib.asynccontextmanager
async def running_dev_provider(provider: DevProvider, host: str = "127.0.0.1",
                               port: int = 0, *, public_host: str = ""
                               ) -> AsyncIterator[DevProvider]:
    """Serve `provider` under uvicorn; its `issuer` becomes the bound address, named
    `public_host` if given (e.g. "localhost": another site than 127.0.0.1 for browsers)."""
    sock = socket.create_server((host, port), backlog=128)
    provider.issuer = f"http://{public_host or host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(provider.app, log_level="warning",
                                           lifespan="off"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]), name="mss-dev-oidc")
    try:
        yield provider
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()
