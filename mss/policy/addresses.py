"""Canonical forms of mail addresses and certificate DNs, so every rule compares alike.

MSS choice: addresses compare case-insensitively as a whole (RFC 5321 §2.4 allows a
case-sensitive local part, but no operator of the trust space uses one).
"""

from __future__ import annotations

import re

PATIENT_SUBDOMAIN = "patient."
"""Patient mailboxes are `<INS>@patient.<domain>` (docs/architecture.md §9, Mailboxes)."""

_INS = re.compile(r"^[0-9]{13}[0-9]{2}$")


def canonical_address(address: str) -> str:
    """The form under which an address is compared and stored: no brackets, lower case."""
    return address.strip().strip("<>").strip().lower()


def domain_of(address: str) -> str:
    """Domain part of an address, lower case; empty for the null reverse-path `<>`."""
    canonical = canonical_address(address)
    _, at, domain = canonical.rpartition("@")
    return domain if at else ""


def is_patient_address(address: str) -> bool:
    """True for `<15-digit INS>@patient.<domain>`: lets the policy know a patient it
    cannot look up (a remote one) by the address alone."""
    local, at, domain = canonical_address(address).rpartition("@")
    return bool(at) and domain.startswith(PATIENT_SUBDOMAIN) and bool(_INS.match(local))

