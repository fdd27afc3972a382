"""How a delivered message changes the conversation (professional mailbox × patient),
docs/architecture.md §4 and docs/architecture.md §9 "Patient messaging rules".

- A message from a PER or ORG mailbox to a patient opens (or reopens) the conversation.
- From an APP mailbox, only when its Reply-To names a trust-space professional mailbox;
  that address becomes the contact. Otherwise no conversation (an APP receives nothing).
- A Reply-To naming a trust-space professional mailbox makes it the allowed contact.
  MSS choice: the latest message decides, so a message without such a Reply-To resets the
  contact to the sending mailbox itself.
- Subject exactly `[FIN]` or a header `X-MSS-MES: FIN` ends the conversation; the message
  itself is still delivered. MSS choice: only surrounding whitespace is ignored (header
  unfolding leaves some); case counts, so `[fin]` and `Re: [FIN]` do not end it.
- A patient's message changes nothing.
"""

from __future__ import annotations

from mss.identity import MailboxKind
from mss.policy.addresses import canonical_address
from mss.policy.conversation_state import Conversation, Transition, TransitionKind
from mss.policy.facts import Content, Correspondent, OperatorFacts

END_SUBJECT = "[FIN]"
END_HEADER_VALUE = "FIN"


def ends_conversation(content: Content) -> bool:
    """True when the message carries the end marker (subject or X-MSS-MES)."""
    if content.subject.strip() == END_SUBJECT:
        return True
    return any(value.strip() == END_HEADER_VALUE for value in content.x_mss_mes)


def is_trust_space_professional(operator: OperatorFacts, correspondent: Correspondent) -> bool:
    """A PER or ORG mailbox of the trust space: a known local one, or an address in a
    trusted domain that is neither a patient nor an APP mailbox."""
    if not correspondent.canonical or not operator.in_trust_space(correspondent.domain):
        return False
    if correspondent.kind in (MailboxKind.PAT, MailboxKind.APP):
        return False
    if operator.is_local(correspondent.domain):
        return correspondent.entry is not None
    return True


def contact_from_reply_to(operator: OperatorFacts, content: Content) -> str | None:
    """The first Reply-To address that is a trust-space professional mailbox."""
    for candidate in content.reply_to:
        if is_trust_space_professional(operator, candidate):
            return candidate.canonical
    return None


def is_professional_sender(operator: OperatorFacts, sender: Correspondent) -> bool:
    """PER, ORG or APP; an unknown remote address of the trust space counts as a
    professional one (MSS choice: only professionals and patients have addresses there)."""
    kind = sender.kind
    if kind is not None:
        return kind in (MailboxKind.PER, MailboxKind.ORG, MailboxKind.APP)
    return bool(sender.canonical) and not operator.is_local(sender.domain)


def conversation_transitions(
    operator: OperatorFacts,
    sender: Correspondent,
    content: Content,
    recipient: Correspondent,
    current: Conversation | None,
) -> tuple[Transition, ...]:
    """The transitions for one accepted recipient. `current` is the stored conversation
    (sender mailbox, recipient) or None; only real changes are returned, in the order
    to apply them (OPEN, SET_CONTACT, END)."""
    if not recipient.is_patient or not is_professional_sender(operator, sender):
        return ()
    professional, patient = sender.canonical, recipient.canonical
    ends = ends_conversation(content)
    is_open = current is not None and current.is_open
    contact = contact_from_reply_to(operator, content)
    if contact == professional:
        contact = None

    def transition(kind: TransitionKind, new_contact: str | None = None) -> Transition:
        return Transition(kind, professional, patient, new_contact)

    if sender.kind is MailboxKind.APP and contact is None:
        return (transition(TransitionKind.END),) if ends and is_open else ()
    changes: list[Transition] = []
    if not is_open:
        changes.append(transition(TransitionKind.OPEN))
    stored_contact = current.contact if current is not None else None
    if (canonical_address(stored_contact) if stored_contact else None) != contact:
        changes.append(transition(TransitionKind.SET_CONTACT, contact))
    if ends:
        changes.append(transition(TransitionKind.END))
    return tuple(changes)
