"""Identifiers of the trust space: INS (NIR + key), RPPS, ADELI, mail addresses.

Pure functions, no I/O: the CLI, the directory import and the services share them so a
value refused at one door is refused at every door.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from email_validator.syntax import validate_email_local_part

_NIR_SHAPE = re.compile(r"^[1-478][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}$")
_DIGITS = re.compile(r"^[0-9]+$")
INS_LENGTH = 15
RPPS_LENGTH = 11
ADELI_LENGTH = 9
_EMBEDDED_SUFFIX = ".localhost"


class InvalidIdentifier(ValueError):
    """An identifier or address that does not follow its published rule."""


def nir_key(nir: str) -> int:
    """The 2-digit key of a 13-character NIR: 97 - (NIR mod 97).

    INSEE rule: Corsica's departments `2A` and `2B` count as 19 and 18 for the computation.
    """
    if not _NIR_SHAPE.match(nir):
        raise InvalidIdentifier(f"not a 13-character NIR: {nir!r}")
    numeric = nir.replace("2A", "19", 1) if nir[5:7] == "2A" else nir
    numeric = numeric.replace("2B", "18", 1) if nir[5:7] == "2B" else numeric
    return 97 - int(numeric) % 97


def is_valid_ins(ins: str) -> bool:
    """INS (NIR form): 13-character NIR followed by its 2-digit key (docs/architecture.md §9)."""
    if len(ins) != INS_LENGTH or not _NIR_SHAPE.match(ins[:13]) or not ins[13:].isdigit():
        return False
    return int(ins[13:]) == nir_key(ins[:13])


def check_ins(ins: str) -> str:
    """The INS, upper-cased (`2a` → `2A`), or InvalidIdentifier saying why it is refused."""
    value = ins.strip().upper()
    if len(value) != INS_LENGTH:
        raise InvalidIdentifier(f"INS must have {INS_LENGTH} characters: {ins!r}")
    if not _NIR_SHAPE.match(value[:13]) or not value[13:].isdigit():
        raise InvalidIdentifier(f"INS is not a NIR followed by a 2-digit key: {ins!r}")
    if int(value[13:]) != nir_key(value[:13]):
        raise InvalidIdentifier(f"INS key is wrong: {ins!r}")
    return value


def luhn_is_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a string of digits, check digit last."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_valid_rpps(rpps: str) -> bool:
    """RPPS: 11 digits, the last a Luhn check digit (ANS, répertoire partagé)."""
    return len(rpps) == RPPS_LENGTH and bool(_DIGITS.match(rpps)) and luhn_is_valid(rpps)


def is_valid_adeli(adeli: str) -> bool:
    """ADELI: 9 digits (the older registry, still used by some professions)."""
    return len(adeli) == ADELI_LENGTH and bool(_DIGITS.match(adeli))


def check_professional_id(ident: str) -> str:
    """An RPPS or ADELI identifier, or InvalidIdentifier."""
    value = ident.strip()
    if is_valid_rpps(value) or is_valid_adeli(value):
        return value
    raise InvalidIdentifier(f"not an RPPS (11 digits, Luhn) nor an ADELI (9 digits): {ident!r}")


def professional_id_type(ident: str) -> str:
    """`RPPS` or `ADELI`, from the length of a checked identifier."""
    return "RPPS" if len(ident) == RPPS_LENGTH else "ADELI"


def check_address(address: str) -> str:
    """A mail address checked by email-validator (syntax only, no DNS), lower-cased.

    MSS compares addresses case-insensitively as a whole (see mss.policy.addresses).
    The embedded default domains end in `.localhost` (RFC 6761 §6.3), a special-use name
    email-validator refuses: such a domain is checked with `.fr` standing in for it.
    """
    text = address.strip()
    local, at, domain = text.rpartition("@")
    embedded = bool(at) and domain.lower().endswith(_EMBEDDED_SUFFIX)
    candidate = f"{local}@{domain[: -len(_EMBEDDED_SUFFIX)]}.fr" if embedded else text
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentifier(f"not a valid address: {address!r}: {exc}") from None
    normalised = checked.normalized.lower()
    if embedded:
        normalised = normalised[: -len(".fr")] + _EMBEDDED_SUFFIX
    return normalised


class BulkAddressChecker:
    """`check_address` for a stream of addresses (the national directory import).

    email-validator spends most of its time on the domain, and an extract holds a few
    thousand domains for half a million addresses: the domain is checked once (by
    `check_address` on a stand-in local part) and remembered, the local part on every
    call by email-validator's own local-part rules. Anything unusual (quotes, non-ASCII,
    no `@`) goes through the full `check_address`. Memory stays bounded: the remembered
    domains are forgotten past MAX_DOMAINS.
    """

    MAX_DOMAINS = 100_000
    MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3 path length, as email-validator enforces

    def __init__(self) -> None:
        self._domains: dict[str, str | None] = {}

    def _domain(self, domain: str) -> str | None:
        if domain not in self._domains:
            if len(self._domains) >= self.MAX_DOMAINS:
                self._domains.clear()
            try:
                self._domains[domain] = check_address(f"a@{domain}")[2:]
            except InvalidIdentifier:
                self._domains[domain] = None
        return self._domains[domain]

    def check(self, address: str) -> str:
        text = address.strip()
        local, at, domain = text.rpartition("@")
        if not at or not local or '"' in local or not text.isascii():
            return check_address(text)
        checked_domain = self._domain(domain)
        if checked_domain is None or len(text) > self.MAX_LENGTH:
            return check_address(text)  # raises with email-validator's own reason
        try:
            result = validate_email_local_part(local, allow_smtputf8=False)
        except EmailNotValidError as exc:
            raise InvalidIdentifier(f"not a valid address: {address!r}: {exc}") from None
        return f"{result['local_part']}@{checked_domain}".lower()


def patient_address(ins: str, patient_domain: str) -> str:
    """`<INS>@<patient domain>` (docs/architecture.md §9: patient mailboxes)."""
    return f"{check_ins(ins)}@{patient_domain.lower()}"


def ins_of_patient_address(address: str, patient_domain: str) -> str | None:
    """The INS of a patient address of this operator, or None if it is not one."""
    local, at, domain = address.strip().rpartition("@")
    if not at or domain.lower() != patient_domain.lower():
        return None
    try:
        return check_ins(local)
    except InvalidIdentifier:
        return None
