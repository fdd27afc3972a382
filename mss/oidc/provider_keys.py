"""Provider metadata and signing keys, fetched over HTTP and kept for a while.

OpenID Connect Discovery 1.0 §4: the metadata is at
`<issuer>/.well-known/openid-configuration` and its `issuer` must equal the configured
one exactly (§4.3), else a look-alike could hand out its own keys. Keys come from the
metadata's `jwks_uri` (RFC 7517), or from a local file on closed networks.

Invariants:
- metadata and keys are kept `metadata_cache_seconds` by the injected clock (docs/architecture.md
  §8.8);
- a token signed with a key id not in the cached set triggers one fresh fetch (keys
  roll over), at most once per `REFETCH_INTERVAL`, so unknown ids cannot make MSS
  hammer the provider;
- one fetch at a time per provider; a failed fetch raises `ProviderUnavailable` (a
  temporary failure for the listeners) and is not cached.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from mss.clock import Clock
from mss.config import OidcProviderSettings, OidcSettings

WELL_KNOWN = "/.well-known/openid-configuration"
REFETCH_INTERVAL = timedelta(seconds=60)
MAX_DOCUMENT_BYTES = 512 * 1024


class ProviderUnavailable(Exception):
    """The provider's metadata or keys could not be read now (try again later)."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass
class _Cached:
    value: Any
    fetched_at: datetime


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + WELL_KNOWN


class ProviderKeys:
    """Metadata and key sets of every configured provider, shared by all listeners."""

    def __init__(self, settings: OidcSettings, clock: Clock, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.ttl = timedelta(seconds=settings.metadata_cache_seconds)
        self._metadata: dict[str, _Cached] = {}
        self._keys: dict[str, _Cached] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.fetches = 0  # documents fetched (metadata and key sets), for tests and metrics

    @property
    def providers(self) -> dict[str, OidcProviderSettings]:
        return self.settings.providers

    def provider_for_issuer(self, issuer: object) -> str | None:
        for name, provider in self.providers.items():
            if isinstance(issuer, str) and provider.issuer.rstrip("/") == issuer.rstrip("/"):
                return name
        return None

    def _lock(self, what: str, name: str) -> asyncio.Lock:
        return self._locks.setdefault((what, name), asyncio.Lock())

    def _fresh(self, cached: _Cached | None) -> bool:
        return cached is not None and self.clock.now() - cached.fetched_at < self.ttl

    async def _get_json(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        try:
            async with httpx.AsyncClient(transport=self.transport,
                                         timeout=self.settings.fetch_timeout_seconds,
                                         follow_redirects=False) as client:
                response = await client.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable(f"{url}: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise ProviderUnavailable(f"{url}: not JSON") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return document

    async def metadata(self, name: str) -> ProviderMetadata:
        """The provider's metadata (Discovery §3), checked against its issuer (§4.3)."""
        cached = self._metadata.get(name)
        if self._fresh(cached):
            return cached.value  # type: ignore[union-attr,no-any-return]
        async with self._lock("metadata", name):
            cached = self._metadata.get(name)
            if self._fresh(cached):
                return cached.value  # type: ignore[union-attr,no-any-return]
            issuer = self.providers[name].issuer
            document = await self._get_json(discovery_url(issuer))
            fields = ("authorization_endpoint", "token_endpoint", "jwks_uri")
            if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
                raise ProviderUnavailable(f"{name}: metadata names another issuer")
            if not all(isinstance(document.get(f), str) for f in fields):
                raise ProviderUnavailable(f"{name}: metadata lacks endpoints")
            metadata = ProviderMetadata(issuer, *(str(document[f]) for f in fields))
            self._metadata[name] = _Cached(metadata, self.clock.now())
            return metadata

    async def keys(self, name: str, *, unknown_kid: bool = False) -> KeySet:
        """The provider's signing keys; `unknown_kid` asks for a fresh set (rollover)."""
        cached = self._keys.get(name)
        if self._fresh(cached) and not (unknown_kid and self._may_refetch(cached)):
            return cached.value  # type: ignore[union-attr,no-any-return]
        async with self._lock("keys", name):
            cached = self._keys.get(name)
            if self._fresh(cached) and not (unknown_kid and self._may_refetch(cached)):
                return cached.value  # type: ignore[union-attr,no-any-return]
            provider = self.providers[name]
            if provider.jwks_file:
                document = _read_jwks_file(Path(provider.jwks_file))
            else:
                document = await self._get_json((await self.metadata(name)).jwks_uri)
            try:
                key_set = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError):
                raise ProviderUnavailable(f"{name}: the key set is not a valid JWKS") from None
            self._keys[name] = _Cached(key_set, self.clock.now())
            return key_set

    def _may_refetch(self, cached: _Cached | None) -> bool:
        return cached is None or self.clock.now() - cached.fetched_at >= REFETCH_INTERVAL


def _read_jwks_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProviderUnavailable(f"{path}: {exc}") from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{path}: not a JWKS object")
    return document
