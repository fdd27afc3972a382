"""mss.policy: the rules of docs/architecture.md §4 as pure functions over plain facts.

Facts in (`facts`), a `Verdict` per recipient out, plus the conversation `Transition`s
to apply. No I/O, no clock: the time is a fact. Imports only the stdlib and mss.identity.

At MAIL FROM: `decide_peer` (T1, inbound) or `decide_sender` (T2, submission).
At RCPT TO:   `decide_recipient` (T3, R1-R3, P1, P2).
After DATA:   `decide_author` / `decide_peer_author` (T4, the From and Sender fields),
              `decide` (T3 to S3 and transitions) or `decide_content` (S1-S3) alone.
Webmail/API:  `reply_right` / `patient_may_write_to`, `end_conversation`,
              `reopen_conversation`.
"""

from mss.policy.attachment_types import ForbiddenKind, forbidden_kind
from mss.policy.author_rules import decide_author, decide_peer_author
from mss.policy.codes import Cause, EnhancedStatus, ReplyCode, Rule
from mss.policy.content_rules import INVISIBLE_PATIENT, decide_content
from mss.policy.conversation_actions import end_conversation, may_act_on, reopen_conversation
from mss.policy.conversation_state import (
    Conversation,
    ConversationStatus,
    Transition,
    TransitionKind,
    apply_transition,
    apply_transitions,
)
from mss.policy.conversation_transitions import conversation_transitions, ends_conversation
from mss.policy.decision import decide
from mss.policy.facts import (
    ActingRights,
    Attachment,
    AuthorCompletion,
    AuthorFields,
    Channel,
    Content,
    Correspondent,
    DirectoryEntry,
    Dispensation,
    Envelope,
    OperatorFacts,
    PatientRelations,
    PeerCertificate,
    SizeLimits,
    TrustList,
)
from mss.policy.mail_from_rules import decide_peer, decide_sender
from mss.policy.recipient_rules import decide_recipient
from mss.policy.reply_rights import ReplyRight, patient_may_write_to, reply_right
from mss.policy.verdict import Decision, Verdict

__all__ = [
    "INVISIBLE_PATIENT",
    "ActingRights",
    "Attachment",
    "AuthorCompletion",
    "AuthorFields",
    "Cause",
    "Channel",
    "Content",
    "Conversation",
    "ConversationStatus",
    "Correspondent",
    "Decision",
    "DirectoryEntry",
    "Dispensation",
    "EnhancedStatus",
    "Envelope",
    "ForbiddenKind",
    "OperatorFacts",
    "PatientRelations",
    "PeerCertificate",
    "ReplyCode",
    "ReplyRight",
    "Rule",
    "SizeLimits",
    "Transition",
    "TransitionKind",
    "TrustList",
    "Verdict",
    "apply_transition",
    "apply_transitions",
    "conversation_transitions",
    "decide",
    "decide_author",
    "decide_content",
    "decide_peer",
    "decide_peer_author",
    "decide_recipient",
    "decide_sender",
    "end_conversation",
    "ends_conversation",
    "forbidden_kind",
    "may_act_on",
    "patient_may_write_to",
    "reopen_conversation",
    "reply_right",
]
