"""Token validation against a real provider over HTTP: signature, issuer, audience,
times with the injected clock, key rollover and the metadata cache."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from mss.clock import ManualClock
from mss.oidc.dev_provider import ES256_KID, RS256_KID, DevProvider
from mss.oidc.provider_keys import ProviderKeys
from mss.oidc.tokens import TokenRefused, TokenValidator

from .conftest import ALICE, provider_settings


def validator(provider: DevProvider, clock: ManualClock, **overrides: object
              ) -> TokenValidator:
    return TokenValidator(ProviderKeys(provider_settings(provider, **overrides), clock), clock)


async def refused(check: TokenValidator, token: str, **kwargs: object) -> str:
    with pytest.raises(TokenRefused) as caught:
        await check.validate(token, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


@pytest.mark.parametrize("kid", [RS256_KID, ES256_KID])
async def test_a_signed_token_gives_the_rpps(provider: DevProvider, clock: ManualClock,
                                             kid: str) -> None:
    valid = await validator(provider, clock).validate(provider.mint(ALICE, kid=kid))
    assert valid.rpps == ALICE.rpps and valid.provider == "psc"
    assert valid.subject == ALICE.subject


async def test_expiry_follows_the_injected_clock_with_skew(provider: DevProvider,
                                                           clock: ManualClock) -> None:
    check = validator(provider, clock, clock_skew_seconds=30)
    token = provider.mint(ALICE, lifetime=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5, seconds=20))  # past exp, within the skew
    assert (await check.validate(token)).rpps == ALICE.rpps
    clock.advance(timedelta(seconds=20))
    assert await refused(check, token) == "expired"


async def test_not_before_and_issued_at_in_the_future(provider: DevProvider,
                                                      clock: ManualClock) -> None:
    check = validator(provider, clock, clock_skew_seconds=60)
    later = clock.now() + timedelta(minutes=5)
    assert await refused(check, provider.mint(ALICE, issued_at=later)) == "not yet valid"
    token = provider.mint(ALICE, extra={"nbf": int(clock.now().timestamp()),
                                        "iat": int(later.timestamp())})
    assert await refused(check, token) == "issued in the future"
    assert await refused(check, provider.mint(ALICE, extra={"exp": None})) == "no expiry"


async def test_wrong_audience_issuer_and_missing_rpps(provider: DevProvider,
                                                      clock: ManualClock) -> None:
    check = validator(provider, clock)
    assert await refused(check, provider.mint(ALICE, audience="another-service")) == (
        "wrong audience")
    assert await refused(check, provider.mint(ALICE, extra={"iss": "https://evil.example"})
                         ) == "unknown issuer"
    assert await refused(check, provider.mint(ALICE, extra={"SubjectNameID": "12"})) == (
        "no professional id in the token")
    listed = provider.mint(ALICE, audience=["other", provider.audience])  # type: ignore[arg-type]
    assert (await check.validate(listed)).rpps == ALICE.rpps


async def test_a_token_signed_by_another_key_is_refused(provider: DevProvider,
                                                        clock: ManualClock) -> None:
    check = validator(provider, clock)
    forged_rsa = RSAKey.generate_key(2048, parameters={"kid": RS256_KID})
    forged_ec = ECKey.generate_key("P-256", parameters={"kid": ES256_KID})
    assert await refused(check, provider.mint(ALICE, key=forged_rsa)) == "bad signature"
    assert await refused(check, provider.mint(ALICE, kid=ES256_KID, key=forged_ec)) == (
        "bad signature")


async def test_algorithms_other_than_rs256_and_es256_are_refused(provider: DevProvider,
                                                                 clock: ManualClock) -> None:
    check = validator(provider, clock)
    claims = {"iss": provider.issuer, "aud": provider.audience,
              "SubjectNameID": ALICE.national_id,
              "exp": int((clock.now() + timedelta(minutes=5)).timestamp())}
    hmac_token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(b"k" * 32))
    assert await refused(check, hmac_token) == "algorithm not allowed"
    payload = provider.mint(ALICE).split(".")[1]
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    assert await refused(check, f"{none_header}.{payload}.") == "algorithm not allowed"
    assert await refused(check, "not-a-token") == "malformed token"


async def test_keys_are_cached_and_refetched_once_for_a_new_kid(provider: DevProvider,
                                                                clock: ManualClock) -> None:
    keys = ProviderKeys(provider_settings(provider), clock)
    check = TokenValidator(keys, clock)
    for _ in range(3):
        await check.validate(provider.mint(ALICE))
    assert keys.fetches == 2  # metadata and JWKS once
    rolled = RSAKey.generate_key(2048, parameters={"kid": "rolled", "use": "sig"})
    provider.keys.keys.append(rolled)
    clock.advance(timedelta(seconds=61))  # fresh fetches are spaced by a minute at least
    assert (await check.validate(provider.mint(ALICE, kid="rolled"))).rpps == ALICE.rpps
    assert keys.fetches == 3  # one fresh JWKS for the unknown kid
    provider.keys.keys.remove(rolled)
    unknown = RSAKey.generate_key(2048, parameters={"kid": "unknown"})
    assert await refused(check, provider.mint(ALICE, kid="unknown", key=unknown)) == (
        "unknown signing key")
    assert keys.fetches == 3  # no second fetch within the refetch interval
    clock.advance(timedelta(hours=2))
    await check.validate(provider.mint(ALICE))
    assert keys.fetches == 5  # TTL passed: metadata and JWKS again


async def test_a_local_jwks_file_works_without_the_network(provider: DevProvider,
                                                           clock: ManualClock,
                                                           tmp_path: Path) -> None:
    jwks = tmp_path / "psc.jwks"
    jwks.write_text(json.dumps(provider.public_jwks()))
    offline = ProviderKeys(provider_settings(provider, jwks_file=str(jwks)), clock)
    token = provider.mint(ALICE)
    assert (await TokenValidator(offline, clock).validate(token)).rpps == ALICE.rpps
    assert offline.fetches == 0


async def test_an_unreachable_provider_is_a_temporary_failure(provider: DevProvider,
                                                              clock: ManualClock,
                                                              caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    keys = ProviderKeys(provider_settings(provider, issuer=closed), clock)
    token = provider.mint(ALICE, extra={"iss": closed})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TokenRefused) as caught:
        await TokenValidator(keys, clock).validate(token)
    assert caught.value.temporary
    assert token not in caplog.text and token.split(".")[2] not in caplog.text
