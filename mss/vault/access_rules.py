"""Who may see which document of a patient: pure rules over plain facts (docs/architecture.md §6).

- the patient sees all their documents (INVISIBLE_PATIENT ones are never deposited);
- a professional sees a document when the patient is in their care (a conversation
  exists between a mailbox they act for and the patient, MSS choice: open or ended; or
  they are her médecin traitant) AND the access matrix gives their profession that
  document (mss.vault.access_matrix); under an unexpired break-glass grant, the matrix's
  emergency subset only; never a MASQUE_PS document, never one the patient hid from
  them, nothing at all when she blocked them (even under break-glass: the patient's
  choice holds, MSS choice);
- nobody else (applications, other patients, peer operators) sees anything;
- a deleted upload is seen by nobody.
Break-glass needs a stated reason and is refused when the patient objected (space
`opposed` or `closed`; docs/architecture.md §9 "unless the patient objected").
"""

from __future__ import annotations

import enum

from mss.identity import PatientSpaceState

MAX_REASON = 500


class Standing(enum.StrEnum):
    """How a principal stands towards one patient's record."""

    OWNER = "owner"
    IN_CARE = "in care"
    BREAK_GLASS = "break-glass"
    BLOCKED = "blocked"  # the patient closed her record to this professional
    NONE = "none"

    @property
    def is_professional(self) -> bool:
        return self in (Standing.IN_CARE, Standing.BREAK_GLASS)


class Refusal(enum.StrEnum):
    """Why the vault refuses; the value is the code the webmail and API render."""

    NOT_FOUND = "not_found"
    NOT_IN_CARE = "not_in_care"
    NOT_THE_PATIENT = "not_the_patient"
    REASON_REQUIRED = "reason_required"
    PATIENT_OBJECTED = "patient_objected"
    INVALID_UPLOAD = "invalid_upload"
    NOT_AN_UPLOAD = "not_an_upload"


def standing_of(*, is_owner: bool, in_care: bool, break_glass: bool) -> Standing:
    if is_owner:
        return Standing.OWNER
    if in_care:
        return Standing.IN_CARE
    if break_glass:
        return Standing.BREAK_GLASS
    return Standing.NONE


def may_see(
    standing: Standing, *, masque_ps: bool, hidden_from_viewer: bool, deleted: bool,
    matrix_allows: bool,
) -> bool:
    """`matrix_allows`: the matrix row of the viewer's profession covers the document
    (its `emergency` set under break-glass); ignored for the owner."""
    if deleted:
        return False
    if standing is Standing.OWNER:
        return True
    if not standing.is_professional:
        return False
    return matrix_allows and not masque_ps and not hidden_from_viewer


def clean_reason(reason: str) -> str:
    """One line of printable text, bounded: it goes into an audit row."""
    return " ".join("".join(c if c.isprintable() else " " for c in reason).split())[:MAX_REASON]


def break_glass_refusal(reason: str, patient_state: PatientSpaceState,
                        blocked: bool = False) -> Refusal | None:
    if blocked:
        return Refusal.PATIENT_OBJECTED
    if not clean_reason(reason):
        return Refusal.REASON_REQUIRED
    if patient_state is not PatientSpaceState.ACTIVE:
        return Refusal.PATIENT_OBJECTED
    return None
