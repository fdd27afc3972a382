"""May this patient write to this address? The one implementation of MSS policy P2, used
by the policy and by the webmail to show the reply button.

docs/architecture.md §9: only a professional starts a conversation; a patient writes only to a
mailbox that wrote to them and has not ended the exchange, and, when the professional
set a Reply-To, only to that contact. Exception: a pharmacy's ORG mailbox where the
patient had a reimbursed dispensation within the last year.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from mss.policy.addresses import canonical_address
from mss.policy.facts import Correspondent, PatientRelations

DISPENSATION_WINDOW = timedelta(days=365)
"""MSS policy P2: "in the past year", counted as 365 days back from the decision time."""


class ReplyRight(enum.StrEnum):
    CONVERSATION_OPEN = "conversation_open"
    PHARMACY_DISPENSATION = "pharmacy_dispensation"
    CONVERSATION_ENDED = "conversation_ended"
    NO_CONVERSATION = "no_conversation"

    @property
    def allowed(self) -> bool:
        return self in (ReplyRight.CONVERSATION_OPEN, ReplyRight.PHARMACY_DISPENSATION)


def _recent_dispensation(relations: PatientRelations, pharmacy: str, at: datetime) -> bool:
    """A dispensation no older than 365 days (a future date, clock skew, counts as recent)."""
    return any(
        canonical_address(d.pharmacy) == pharmacy and at - d.dispensed_at <= DISPENSATION_WINDOW
        for d in relations.dispensations
    )


def reply_right(
    relations: PatientRelations | None, recipient: Correspondent, at: datetime
) -> ReplyRight:
    """Why the patient may, or may not, write to `recipient` at time `at` (MSS policy P2).

    An open conversation counts only through its allowed contact (the Reply-To the
    professional set, else the professional mailbox itself).
    """
    if relations is None:
        return ReplyRight.NO_CONVERSATION
    address = recipient.canonical
    patient = canonical_address(relations.patient)
    reaching = [
        c
        for c in relations.conversations
        if canonical_address(c.patient) == patient and c.allowed_contact == address
    ]
    if any(c.is_open for c in reaching):
        return ReplyRight.CONVERSATION_OPEN
    if recipient.is_pharmacy_org and _recent_dispensation(relations, address, at):
        return ReplyRight.PHARMACY_DISPENSATION
    if reaching:
        return ReplyRight.CONVERSATION_ENDED
    return ReplyRight.NO_CONVERSATION


def patient_may_write_to(
    relations: PatientRelations | None, recipient: Correspondent, at: datetime
) -> bool:
    """True when the webmail may offer the patient to write to `recipient` (P2)."""
    return reply_right(relations, recipient, at).allowed
