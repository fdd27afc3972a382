"""Rules decided at RCPT TO, per recipient, in the order of docs/architecture.md §4: T3, R1, R2, R3,
P1, P2. They need only the envelope and the recipient, so SMTP can refuse before DATA."""

from __future__ import annotations

from mss.identity import MailboxKind, PatientSpaceState
from mss.policy.codes import Cause
from mss.policy.facts import Channel, Correspondent, Envelope, OperatorFacts
from mss.policy.refusals import accepted_at_rcpt, refusal
from mss.policy.reply_rights import ReplyRight, reply_right
from mss.policy.verdict import Verdict


def _trust_space_refusal(
    operator: OperatorFacts, envelope: Envelope, recipient: Correspondent
) -> Verdict | None:
    """MSS policy T3: no relay to the open Internet, and no relay for peers at all."""
    if operator.is_local(recipient.domain):
        return None
    if envelope.channel is Channel.INBOUND:
        return refusal(Cause.RELAY_DENIED)
    if not operator.trust_list.is_trusted(recipient.domain):
        return refusal(Cause.DOMAIN_NOT_TRUSTED)
    return None


def _mailbox_refusal(operator: OperatorFacts, recipient: Correspondent) -> Verdict | None:
    """MSS policy R1 (unknown local), R2 (APP without responsible mailbox), R3 (patient
    opposed or closed: "messagerie fermée")."""
    entry = recipient.entry
    if entry is None:
        if not operator.is_local(recipient.domain):
            return None
        if recipient.is_patient:
            return refusal(Cause.UNKNOWN_PATIENT)
        return refusal(Cause.UNKNOWN_MAILBOX)
    if entry.kind is MailboxKind.APP and not entry.responsible_mailbox:
        return refusal(Cause.APPLICATION_MAILBOX)
    if entry.kind is MailboxKind.PAT:
        if entry.patient_state is PatientSpaceState.OPPOSED:
            return refusal(Cause.PATIENT_OPPOSED)
        if entry.patient_state is PatientSpaceState.CLOSED:
            return refusal(Cause.PATIENT_CLOSED)
    return None


def _patient_sender_refusal(envelope: Envelope, recipient: Correspondent) -> Verdict | None:
    """MSS policy P1 (patient to patient) and P2 (no open conversation, pharmacy aside)."""
    if not envelope.sender.is_patient:
        return None
    if recipient.is_patient:
        return refusal(Cause.PATIENT_TO_PATIENT)
    right = reply_right(envelope.sender_relations, recipient, envelope.at)
    if right is ReplyRight.CONVERSATION_ENDED:
        return refusal(Cause.CONVERSATION_ENDED)
    if not right.allowed:
        return refusal(Cause.NO_CONVERSATION)
    return None


def decide_recipient(
    operator: OperatorFacts, envelope: Envelope, recipient: Correspondent
) -> Verdict:
    """The RCPT verdict: the first refusal among T3, R1-R3, P1, P2, else accepted
    (with `redirect_to` when the recipient is an APP with a responsible mailbox, R2)."""
    refused = (
        _trust_space_refusal(operator, envelope, recipient)
        or _mailbox_refusal(operator, recipient)
        or _patient_sender_refusal(envelope, recipient)
    )
    if refused is not None:
        return refused
    redirect = None
    if recipient.entry is not None and recipient.entry.kind is MailboxKind.APP:
        redirect = recipient.entry.responsible_mailbox
    return accepted_at_rcpt(redirect)
