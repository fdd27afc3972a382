"""Sign-in with a bearer token (SASL XOAUTH2 / OAUTHBEARER at IMAP and SMTP).

Invariants:
- the same answer for every failure (bad token, unknown professional, no right on the
  named ORG mailbox, method refused by `[auth]`): `BearerOutcome(None)`; only a
  provider that cannot be reached is told apart (`temporary`), so that the client
  retries rather than asks the user for a new token;
- failures count in the password rate limiter (per client address, and per named
  mailbox or per client for tokens without one, from that address: bad tokens sent
  from elsewhere never lock out a user's valid one) and are audited AUTH_FAILED with a
  reason, never the token, and answered after the same growing delay;
- the principal is the professional of the token's national id, acting on their PER
  mailbox or on the ORG mailbox named as authorisation identity (docs/architecture.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mss.directory.auth_policy import AuthMethod, kinds_allow
from mss.directory.authentication import (
    DEFAULT_LIMITS,
    FAILURE_PAUSE,
    RateLimits,
    failure_delay,
    rate_limited,
    record_failure,
)
from mss.directory.professional_sign_in import sign_in_professional
from mss.identity import Principal
from mss.oidc.provider_keys import ProviderKeys, discovery_url
from mss.oidc.tokens import TokenRefused, TokenValidator
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class BearerOutcome:
    principal: Principal | None
    temporary: bool = False


class BearerLogin:
    def __init__(self, store: Store, keys: ProviderKeys, *,
                 limits: RateLimits = DEFAULT_LIMITS) -> None:
        self.store = store
        self.keys = keys
        self.validator = TokenValidator(keys, store.clock)
        self.limits = limits

    @property
    def openid_configuration(self) -> str:
        """Discovery URL of the first provider, for the RFC 7628 §3.2.2 error status."""
        first = next(iter(self.keys.providers.values()), None)
        return discovery_url(first.issuer) if first is not None else ""

    async def sign_in(self, token: str, authzid: str | None, client_address: str, *,
                      via: str) -> BearerOutcome:
        """`via` names the listener and mechanism for the audit ("imap XOAUTH2")."""
        wanted = (authzid or "").strip().lower() or None
        key = wanted or f"oidc@{client_address}"
        if await rate_limited(self.store, key, client_address, limits=self.limits):
            return BearerOutcome(None)
        reason = ""
        principal = None
        try:
            validated = await self.validator.validate(token)
        except TokenRefused as refused:
            if refused.temporary:
                return BearerOutcome(None, temporary=True)
            reason = refused.reason
        else:
            found = await sign_in_professional(self.store, validated.rpps, wanted)
            if found is None:
                reason = "no mailbox for this professional"
            elif not kinds_allow(self.store.settings.auth, [found.kind], AuthMethod.OIDC):
                reason = "method refused for this mailbox kind"
            else:
                principal = found.principal
        await self.store.write(self._settle(principal, key, client_address,
                                            f"{via} oidc", reason))
        if principal is None:  # answered after the pair's failure delay, as passwords are
            await FAILURE_PAUSE(await failure_delay(self.store, key, client_address,
                                                    limits=self.limits))
        return BearerOutcome(principal)

    def _settle(self, principal: Principal | None, key: str, client: str, via: str,
                reason: str) -> Any:
        async def job(uow: UnitOfWork) -> None:
            if principal is None:
                await record_failure(uow, key, client, limits=self.limits,
                                     detail=f"{via} reason={reason}")
                return
            uow.audit(AuditAction.AUTH_SUCCEEDED, principal, target=principal.mailbox or "",
                      detail=f"client={client[:320]} {via}")

        return job


def provider_keys(store: Store) -> ProviderKeys | None:
    """The process's one metadata and key cache, None without providers (built once, at
    the composition root, and given to every listener that signs in with a token)."""
    if not store.settings.oidc.providers:
        return None
    return ProviderKeys(store.settings.oidc, store.clock)


def bearer_login(store: Store, keys: ProviderKeys | None) -> BearerLogin | None:
    """The bearer sign-in IMAP and SMTP share, None without providers."""
    return None if keys is None else BearerLogin(store, keys)
