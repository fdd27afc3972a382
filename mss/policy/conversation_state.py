"""Conversation state between a professional-side mailbox and a patient (docs/architecture.md §4).

A conversation is keyed by (professional, patient). The professional is the mailbox that
wrote (PER, ORG, or APP when its Reply-To named a trust-space mailbox). The patient may
write to the conversation's allowed contact while it is open.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mss.policy.addresses import canonical_address


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Conversation:
    """One stored conversation row; addresses are kept canonical (`canonical_address`).

    `contact` is the Reply-To address the professional set (docs/architecture.md §9: that address,
    not the sender, becomes the patient's allowed contact); None means the professional
    mailbox itself.
    """

    professional: str
    patient: str
    status: ConversationStatus = ConversationStatus.OPEN
    contact: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status is ConversationStatus.OPEN

    @property
    def allowed_contact(self) -> str:
        """The one address the patient may write to in this conversation (MSS policy P2)."""
        return canonical_address(self.contact or self.professional)


class TransitionKind(enum.StrEnum):
    """What changes; the pipeline audits each one (AuditAction.CONVERSATION_OPENED,
    CONVERSATION_ENDED, CONVERSATION_CONTACT_SET)."""

    OPEN = "open"
    END = "end"
    SET_CONTACT = "set_contact"


@dataclass(frozen=True, slots=True)
class Transition:
    """A change to apply to the conversation (professional, patient).

    For SET_CONTACT, `contact` is the new allowed contact; None resets it to the
    professional mailbox itself. Applying a transition to a missing conversation creates it.
    """

    kind: TransitionKind
    professional: str
    patient: str
    contact: str | None = None


def apply_transition(current: Conversation | None, transition: Transition) -> Conversation:
    """The conversation after `transition`: what the pipeline stores (one implementation,
    so that the store, the webmail and the tests agree)."""
    base = current or Conversation(
        professional=transition.professional,
        patient=transition.patient,
        status=ConversationStatus.ENDED,
    )
    if transition.kind is TransitionKind.OPEN:
        return Conversation(base.professional, base.patient, ConversationStatus.OPEN, base.contact)
    if transition.kind is TransitionKind.END:
        return Conversation(base.professional, base.patient, ConversationStatus.ENDED, base.contact)
    return Conversation(base.professional, base.patient, base.status, transition.contact)


def apply_transitions(
    current: Conversation | None, transitions: tuple[Transition, ...]
) -> Conversation | None:
    """Apply transitions in order; returns `current` unchanged when there are none."""
    for transition in transitions:
        current = apply_transition(current, transition)
    return current
