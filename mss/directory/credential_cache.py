"""Verified passwords remembered for a while, so that a client logging in again and again
(IMAP clients reconnect for every sync) does not cost an argon2id hash each time.

Like Dovecot's `auth_cache_*` but keyed so that it can only ever confirm what argon2
confirmed before:
- an entry is made only after argon2 verified the password, and holds a keyed digest
  (HMAC-SHA256 under a key drawn at process start, never stored) of the password
  together with the stored hash it matched; the password itself is never kept;
- a lookup names the stored hash read from the database for this login, so a changed
  password (a new hash) or a removed credential never matches an old entry;
- a wrong password never matches, and falls through to the full argon2 verification:
  a failure costs what it costs without the cache (the uniform-failure rule of
  `mss.directory.authentication`);
- entries are trusted `ttl` seconds at most (setting `auth.password_cache_seconds`;
  0 turns the cache off) and the cache holds `capacity` entries (least
  recently used dropped first); only successful logins add entries, so nobody can fill
  it without passwords.
A cached success is faster than an uncached one: that tells an observer only that the
same password succeeded recently, as with Dovecot's cache.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable


class VerifiedPasswords:
    """Keyed digests of recently verified (stored hash, password) pairs."""

    def __init__(self, *, capacity: int = 10_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self.capacity = capacity
        self._monotonic = monotonic
        self.hits = 0
        self.misses = 0

    def _digest(self, stored_hash: str, password: str) -> bytes:
        material = stored_hash.encode() + b"\0" + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, material, hashlib.sha256).digest()

    def confirms(self, stored_hash: str, password: str, ttl: float) -> bool:
        """True only when this very password was verified against this very hash within
        the last `ttl` seconds."""
        entry = self._entries.get(stored_hash)
        if entry is not None and self._monotonic() - entry[1] > ttl:
            del self._entries[stored_hash]
            entry = None
        if entry is None or not hmac.compare_digest(entry[0], self._digest(stored_hash,
                                                                           password)):
            self.misses += 1
            return False
        self._entries.move_to_end(stored_hash)
        self.hits += 1
        return True

    def remember(self, stored_hash: str, password: str) -> None:
        """Called after argon2 verified `password` against `stored_hash`."""
        self._entries[stored_hash] = (self._digest(stored_hash, password), self._monotonic())
        self._entries.move_to_end(stored_hash)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


PROCESS_CACHE = VerifiedPasswords()  # one per process: every listener's logins share it
