"""The one error type of the vault's extraction core, and the acknowledgement codes.

Hostile or broken input never escapes as anything but `VaultExtractionError` (MSS choice:
one error type per component, docs/architecture.md §8.3); per-document problems travel in the plan
instead.
"""

from __future__ import annotations

import enum


class VaultExtractionError(Exception):
    """An attachment or archive that cannot be read safely; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProcessingErrorCode(enum.IntEnum):
    """Error codes of the MSSanté processing acknowledgement (MDN `processed/Error:`).

    Labels are plain ASCII so that they fit an RFC 8098 field without encoding.
    """

    UNKNOWN_PATIENT = 902
    INS_MISSING = 903
    INS_MISMATCH = 904
    INS_INCOMPLETE = 905
    OTHER = 906

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: dict[ProcessingErrorCode, str] = {
    ProcessingErrorCode.UNKNOWN_PATIENT: "Patient inconnu",
    ProcessingErrorCode.INS_MISSING: "INS absent",
    ProcessingErrorCode.INS_MISMATCH: "INS non concordant",
    ProcessingErrorCode.INS_INCOMPLETE: "INS incomplet",
    ProcessingErrorCode.OTHER: "Erreur de traitement",
}
