"""Validation of OpenID Connect tokens (JWT, RFC 7519) from the configured providers.

Checked, in this order (RFC 7519 §7.2, RFC 8725, OpenID Connect Core §3.1.3.7):
- the compact form and its size, and the algorithm: only RS256 and ES256 (never
  `none`, never HMAC: a provider's public key must not become a shared secret);
- the issuer, which chooses the provider (an unknown issuer is refused unverified);
- the signature with the provider's keys (one fresh key fetch for an unknown key id);
- `aud` contains the expected audience, `exp` is in the future, `nbf` and `iat` are
  not in the future, each with the provider's allowed clock skew; time is the
  injected clock's (docs/architecture.md §8.8);
- for ID tokens, the `nonce` of the authorisation request;
- the national id claim (`rpps_claim`) holds an RPPS.

Invariant: a token is never logged, never put in an error message, never audited;
errors carry a short reason only (`TokenRefused.reason`).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError

from mss.clock import Clock
from mss.directory.professional_sign_in import rpps_from_national_id
from mss.oidc.provider_keys import ProviderKeys, ProviderUnavailable

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_CHARS = 16 * 1024


class TokenRefused(Exception):
    """The token is not acceptable; `reason` is safe to log (it never holds the token)."""

    def __init__(self, reason: str, *, temporary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


@dataclass(frozen=True, slots=True)
class ValidatedToken:
    provider: str
    rpps: str
    subject: str
    claims: dict[str, Any]


def _unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before the signature is checked: only to pick the provider."""
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise TokenRefused("malformed token") from None
    if not isinstance(claims, dict):
        raise TokenRefused("malformed token")
    return compact.headers(), claims


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefused(f"{name} is not a number")
    return float(value)


class TokenValidator:
    def __init__(self, keys: ProviderKeys, clock: Clock) -> None:
        self.keys = keys
        self.clock = clock

    async def validate(self, token: str, *, audience: str | None = None,
                       nonce: str | None = None) -> ValidatedToken:
        """The checked token, or `TokenRefused`. `audience` defaults to the provider's
        (access tokens at IMAP/SMTP); the web flow passes its client id and nonce."""
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
            raise TokenRefused("malformed token")
        header, unverified = _unverified_claims(token)
        if header.get("alg") not in ALGORITHMS:
            raise TokenRefused("algorithm not allowed")
        name = self.keys.provider_for_issuer(unverified.get("iss"))
        if name is None:
            raise TokenRefused("unknown issuer")
        provider = self.keys.providers[name]
        try:
            decoded = await self._verify(name, token)
        except ProviderUnavailable as exc:
            log.warning("oidc provider %s unavailable: %s", name, exc)
            raise TokenRefused("provider unavailable", temporary=True) from None
        claims = dict(decoded.claims)
        self._check_times(claims, provider.clock_skew_seconds)
        expected = audience or provider.audience or provider.client_id
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if not isinstance(audiences, list) or expected not in audiences:
            raise TokenRefused("wrong audience")
        if nonce is not None and not (isinstance(claims.get("nonce"), str) and
                                      hmac.compare_digest(claims["nonce"], nonce)):
            raise TokenRefused("wrong nonce")
        rpps = rpps_from_national_id(claims.get(provider.rpps_claim))
        if rpps is None:
            raise TokenRefused("no professional id in the token")
        return ValidatedToken(name, rpps, str(claims.get("sub", "")), claims)

    async def _verify(self, name: str, token: str) -> jwt.Token:
        key_set = await self.keys.keys(name)
        try:
            return jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
        except InvalidKeyIdError:
            pass  # perhaps a new key: fetch the set once more (rollover)
        except BadSignatureError:
            raise TokenRefused("bad signature") from None
        except (JoseError, ValueError):
            raise TokenRefused("malformed token") from None
        key_set = await self.keys.keys(name, unknown_kid=True)
        try:
            return jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
        except InvalidKeyIdError:
            raise TokenRefused("unknown signing key") from None
        except BadSignatureError:
            raise TokenRefused("bad signature") from None
        except (JoseError, ValueError):
            raise TokenRefused("malformed token") from None

    def _check_times(self, claims: dict[str, Any], skew: int) -> None:
        now = self.clock.now().timestamp()
        expires = _number(claims, "exp")
        if expires is None:
            raise TokenRefused("no expiry")
        if now - skew >= expires:
            raise TokenRefused("expired")
        not_before = _number(claims, "nbf")
        if not_before is not None and not_before > now + skew:
            raise TokenRefused("not yet valid")
        issued = _number(claims, "iat")
        if issued is not None and issued > now + skew:
            raise TokenRefused("issued in the future")
