"""AUTH XOAUTH2 and OAUTHBEARER (RFC 7628) for submission, as aiosmtpd `auth_<NAME>` hooks.

Invariants:
- offered only when providers are configured (`excluded_mechanisms` otherwise) and, as
  every AUTH here, only under TLS (aiosmtpd `auth_require_tls`, `538 5.7.11`);
- a refused token gets the RFC 7628 §3.2.2 exchange: `334 <base64 JSON status>`, the
  client's dummy response, then `535 5.7.8` (the same reply as a wrong password); an
  unreachable provider gives `454 4.7.0` (RFC 4954 §6: temporary) so the client keeps
  its token;
- the token is never logged (aiosmtpd redacts AUTH lines; mss.oidc logs reasons only).
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import MISSING, AuthResult

from mss.identity import Principal
from mss.oidc.bearer_login import BearerLogin
from mss.oidc.sasl import (
    MECHANISMS,
    OAUTHBEARER,
    XOAUTH2,
    SaslMalformed,
    error_challenge,
    parse_bearer,
)
from mss.smtp.replies import AUTH_TEMP_FAIL

AUTH_LINE_LIMIT = 12288  # RFC 4954 §4: AUTH lines and responses up to 12288 octets
BAD_BASE64 = "501 5.5.2 Cannot decode base64"
BAD_BEARER = "501 5.5.2 Cannot parse the bearer token message"
UNKNOWN_MECHANISM = "504 5.5.4 Unrecognized authentication type"


class BearerMechanisms:
    """Mixed into the submission handler; `oauth` is set by the SMTP service."""

    oauth: BearerLogin | None = None
    log_auth: Callable[[Any, str, str, Principal | None], None]  # CommonHooks'

    @property
    def excluded_mechanisms(self) -> tuple[str, ...]:
        return () if self.oauth is not None else MECHANISMS

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        return await self._bearer(server, args, XOAUTH2)

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:
        return await self._bearer(server, args, OAUTHBEARER)

    async def _bearer(self, server: Any, args: list[str], mechanism: str) -> AuthResult:
        if self.oauth is None:
            await server.push(UNKNOWN_MECHANISM)
            return AuthResult(success=False, handled=True)
        if len(args) > 1:
            try:
                blob: Any = b"" if args[1] == "=" else b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                await server.push(BAD_BASE64)
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        try:
            credentials = parse_bearer(mechanism, blob)
        except SaslMalformed:
            await server.push(BAD_BEARER)
            return AuthResult(success=False, handled=True)
        outcome = await self.oauth.sign_in(
            credentials.token, credentials.authzid, server.session.client_ip or "unknown",
            via=f"smtp {mechanism}")
        if outcome.temporary:
            return AuthResult(success=False, handled=False, message=AUTH_TEMP_FAIL)
        self.log_auth(server.session, mechanism, credentials.authzid or "", outcome.principal)
        if outcome.principal is None:
            status = error_challenge(mechanism,
                                     openid_configuration=self.oauth.openid_configuration)
            answer = await server.challenge_auth(status)
            return AuthResult(success=False, handled=answer is MISSING)
        return self._authenticated(server.session, outcome.principal)

    def _authenticated(self, session: Any, principal: Principal) -> AuthResult:
        raise NotImplementedError  # the submission handler's
