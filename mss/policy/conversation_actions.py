"""Ending and reopening a conversation from the webmail or the API (docs/architecture.md §4: "the
professional may also end it from the webmail or the API")."""

from __future__ import annotations

from mss.identity import PrincipalKind
from mss.policy.codes import Cause
from mss.policy.conversation_state import Conversation, Transition, TransitionKind
from mss.policy.facts import ActingRights
from mss.policy.refusals import accepted, refusal
from mss.policy.verdict import Decision

_ACTING_KINDS = (PrincipalKind.PROFESSIONAL, PrincipalKind.APPLICATION, PrincipalKind.SYSTEM)


def may_act_on(rights: ActingRights, conversation: Conversation) -> bool:
    """Who may end or reopen: whoever may send as the professional mailbox, or as its
    contact mailbox (the human behind an APP's Reply-To). Never the patient."""
    if rights.principal.kind not in _ACTING_KINDS:
        return False
    if rights.may_send_as(conversation.professional):
        return True
    return conversation.contact is not None and rights.may_send_as(conversation.contact)


def _act(
    rights: ActingRights, conversation: Conversation | None, kind: TransitionKind
) -> Decision:
    if conversation is None:
        # Only a message opens a conversation: an action may not create one, or anyone
        # could make themself "in care" of any patient (and see their documents).
        return Decision(refusal(Cause.NO_SUCH_CONVERSATION))
    if not may_act_on(rights, conversation):
        return Decision(refusal(Cause.ACTION_NOT_ALLOWED))
    already = conversation.is_open == (kind is TransitionKind.OPEN)
    if already:
        return Decision(accepted())
    transition = Transition(kind, conversation.professional, conversation.patient)
    return Decision(accepted(), (transition,))


def end_conversation(rights: ActingRights, conversation: Conversation | None) -> Decision:
    """End the conversation: the patient can no longer write (MSS policy P2). Ending an
    ended conversation is accepted and changes nothing."""
    return _act(rights, conversation, TransitionKind.END)


def reopen_conversation(rights: ActingRights, conversation: Conversation | None) -> Decision:
    """Reopen an ended conversation without writing a message (MSS choice, as a new
    message would). Reopening an open one changes nothing."""
    return _act(rights, conversation, TransitionKind.OPEN)
