"""The webmail's "Se connecter avec Pro Santé Connect": OpenID Connect authorisation-code
flow (OpenID Connect Core §3.1) with PKCE S256 (RFC 7636), the client side by authlib.

Invariants:
- `state`, `nonce` and the PKCE verifier are random per request and stored server-side
  (`OidcPendingLogin`), bound to the browser's pre-login cookie; a state is consumed by
  its first use (deleted in the transaction that reads it), so a replayed or foreign
  state, or one older than `PENDING_LIFETIME`, is refused;
- the ID token is validated like every token (mss.oidc.tokens) with the client id as
  audience and the request's nonce; the session is bound to the professional of its
  national id, acting on their PER mailbox or the ORG mailbox they named;
- failures are uniform for the user, audited AUTH_FAILED with a reason and counted by
  the password rate limiter; no token is logged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete

from mss.config import OidcProviderSettings
from mss.directory.auth_policy import AuthMethod, kinds_allow
from mss.directory.authentication import rate_limited, record_failure
from mss.directory.professional_sign_in import sign_in_professional
from mss.identity import Principal
from mss.oidc.provider_keys import ProviderKeys, ProviderUnavailable
from mss.oidc.tables import OidcPendingLogin
from mss.oidc.tokens import TokenRefused, TokenValidator
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

with warnings.catch_warnings():
    # authlib 1.9 announces at import that its httpx client moves to "httpx2": nothing
    # for an operator to act on, so it is kept out of `mss serve`'s output
    import authlib.deprecate  # type: ignore[import-untyped]  # installs its own filter first

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        AsyncOAuth2Client,
    )

log = logging.getLogger(__name__)

PENDING_LIFETIME = timedelta(minutes=10)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSignInResult:
    principal: Principal | None
    reason: str = ""
    temporary: bool = False


class WebSignIn:
    def __init__(self, store: Store, keys: ProviderKeys, provider: str, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.keys = keys
        self.provider = provider
        self.transport = transport or keys.transport
        self.validator = TokenValidator(keys, store.clock)

    @property
    def settings(self) -> OidcProviderSettings:
        return self.keys.providers[self.provider]

    @property
    def label(self) -> str:
        return self.settings.label

    @property
    def origin(self) -> str:
        """Origin of the provider (its issuer), for the login page's CSP form-action."""
        url = httpx.URL(self.settings.issuer)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}"

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        settings = self.settings
        return AsyncOAuth2Client(
            client_id=settings.client_id, client_secret=settings.client_secret or None,
            scope=settings.scopes, redirect_uri=redirect_uri, code_challenge_method="S256",
            timeout=self.keys.settings.fetch_timeout_seconds, transport=self.transport)

    async def begin(self, browser_token: str, redirect_uri: str, org_mailbox: str = ""
                    ) -> str:
        """The provider URL to send the browser to; raises ProviderUnavailable."""
        metadata = await self.keys.metadata(self.provider)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint, state=state, code_verifier=verifier,
                nonce=nonce)

        async def job(uow: UnitOfWork) -> None:
            uow.session.add(OidcPendingLogin(
                state_hash=_sha256(state), browser_hash=_sha256(browser_token),
                provider=self.provider, nonce=nonce, code_verifier=verifier,
                redirect_uri=redirect_uri, org_mailbox=org_mailbox.strip().lower()[:320],
                created_at=uow.now()))
            await uow.session.execute(delete(OidcPendingLogin).where(
                OidcPendingLogin.created_at < uow.now() - PENDING_LIFETIME))

        await self.store.write(job)
        return str(url)

    async def _consume(self, state: str) -> dict[str, Any] | None:
        async def job(uow: UnitOfWork) -> dict[str, Any] | None:
            row = await uow.session.get(OidcPendingLogin, _sha256(state))
            if row is None:
                return None
            values = {"browser_hash": row.browser_hash, "provider": row.provider,
                      "nonce": row.nonce, "verifier": row.code_verifier,
                      "redirect_uri": row.redirect_uri, "org": row.org_mailbox,
                      "created_at": row.created_at}
            await uow.session.delete(row)
            return values

        return await self.store.write(job)

    async def finish(self, browser_token: str, state: str, code: str, client_address: str
                     ) -> WebSignInResult:
        """After the provider's redirect: the principal of the ID token, or why not."""
        key = f"oidc@{client_address}"
        if await rate_limited(self.store, key, client_address):
            return WebSignInResult(None, "rate limited")
        pending = await self._consume(state) if state and len(state) <= 200 else None
        if pending is None:
            return await self._fail(key, client_address, "unknown or replayed state")
        if not secrets.compare_digest(pending["browser_hash"], _sha256(browser_token)):
            return await self._fail(key, client_address, "state of another browser")
        if self.store.clock.now() - pending["created_at"] > PENDING_LIFETIME:
            return await self._fail(key, client_address, "expired state")
        try:
            metadata = await self.keys.metadata(pending["provider"])
            async with self._client(pending["redirect_uri"]) as client:
                token = await client.fetch_token(
                    metadata.token_endpoint, grant_type="authorization_code", code=code,
                    code_verifier=pending["verifier"])
        except ProviderUnavailable:
            return WebSignInResult(None, "provider unavailable", temporary=True)
        except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
            log.info("oidc token request refused: %s", type(exc).__name__)
            return await self._fail(key, client_address, "code refused by the provider")
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            return await self._fail(key, client_address, "no ID token")
        try:
            validated = await self.validator.validate(
                id_token, audience=self.settings.client_id, nonce=pending["nonce"])
        except TokenRefused as refused:
            if refused.temporary:
                return WebSignInResult(None, refused.reason, temporary=True)
            return await self._fail(key, client_address, refused.reason)
        found = await sign_in_professional(self.store, validated.rpps, pending["org"] or None)
        if found is None:
            return await self._fail(key, client_address, "no mailbox for this professional")
        if not kinds_allow(self.store.settings.auth, [found.kind], AuthMethod.OIDC):
            return await self._fail(key, client_address, "method refused for this mailbox kind")
        principal = found.principal

        async def succeeded(uow: UnitOfWork) -> None:
            uow.audit(AuditAction.AUTH_SUCCEEDED, principal, target=principal.mailbox or "",
                      detail=f"client={client_address[:320]} webmail oidc")

        await self.store.write(succeeded)
        return WebSignInResult(principal)

    async def _fail(self, key: str, client: str, reason: str) -> WebSignInResult:
        async def job(uow: UnitOfWork) -> None:
            await record_failure(uow, key, client, detail=f"webmail oidc reason={reason}")

        await self.store.write(job)
        return WebSignInResult(None, reason)


def web_sign_in(store: Store, keys: ProviderKeys | None) -> WebSignIn | None:
    """The webmail's sign-in with the provider of `[oidc] web_provider` (or the first with
    a client id); None when there is none."""
    if keys is None:
        return None
    oidc = store.settings.oidc
    names = [oidc.web_provider] if oidc.web_provider else [
        name for name, provider in oidc.providers.items() if provider.client_id]
    if not names or not oidc.providers[names[0]].client_id:
        return None
    return WebSignIn(store, keys, names[0])
