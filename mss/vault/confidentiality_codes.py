"""Confidentiality codes of the French patient record (OID 1.2.250.1.213.1.1.4.13).

`INVISIBLE_PATIENT`: never sent to a patient mailbox (docs/architecture.md §4 rule S3).
`MASQUE_PS`: hidden from professionals (docs/architecture.md §6).
"""

from __future__ import annotations

INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
MASQUE_PS = "MASQUE_PS"


def has_code(codes: tuple[str, ...], code: str) -> bool:
    return any(candidate.strip().upper() == code for candidate in codes)
