"""The whole per-recipient decision after DATA: T3 to S3 in the order of docs/architecture.md §4,
then the conversation transitions for an accepted recipient. T1 and T2 are decided earlier,
at MAIL FROM (`mail_from_rules`)."""

from __future__ import annotations

from dataclasses import replace

from mss.policy.content_rules import decide_content
from mss.policy.conversation_state import Conversation
from mss.policy.conversation_transitions import conversation_transitions
from mss.policy.facts import Content, Correspondent, Envelope, OperatorFacts
from mss.policy.recipient_rules import decide_recipient
from mss.policy.verdict import Decision


def decide(
    operator: OperatorFacts,
    envelope: Envelope,
    content: Content,
    recipient: Correspondent,
    conversation: Conversation | None = None,
) -> Decision:
    """Verdict and transitions for one recipient. `conversation` is the stored
    conversation (sender mailbox, recipient) when the recipient is a patient, else None.
    A refused recipient gets no transitions."""
    at_rcpt = decide_recipient(operator, envelope, recipient)
    if at_rcpt.refused:
        return Decision(at_rcpt)
    verdict = decide_content(operator, content, recipient)
    if verdict.refused:
        return Decision(verdict)
    transitions = conversation_transitions(
        operator, envelope.sender, content, recipient, conversation
    )
    return Decision(replace(verdict, redirect_to=at_rcpt.redirect_to), transitions)
