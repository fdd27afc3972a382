"""Reply codes, enhanced status codes and rule ids: named once, used by code and tests.

docs/architecture.md §8.4. Codes follow RFC 5321 §4.2 and enhanced codes RFC 3463; rule ids are the
rows of docs/architecture.md §4.
"""

from __future__ import annotations

import enum


class ReplyCode(enum.IntEnum):
    """SMTP reply codes the policy can give (RFC 5321 §4.2.3)."""

    OK = 250
    SERVICE_NOT_AVAILABLE = 421  # temporary, closing the channel (RFC 5321 §3.8)
    MAILBOX_UNAVAILABLE = 550  # policy refusal, unknown or disabled mailbox
    EXCEEDED_STORAGE = 552  # message too large (RFC 1870 §6.2)
    MAILBOX_NAME_NOT_ALLOWED = 553  # MAIL FROM the principal may not use
    TRANSACTION_FAILED = 554  # content refused


class EnhancedStatus(enum.StrEnum):
    """Enhanced status codes (RFC 3463 §3)."""

    OK = "2.0.0"
    SENDER_OK = "2.1.0"  # RFC 3463 X.1.0, given at MAIL
    DESTINATION_VALID = "2.1.5"  # RFC 3463 X.1.5, given at RCPT
    BAD_DESTINATION_MAILBOX = "5.1.1"
    MAILBOX_DISABLED = "5.2.1"
    MESSAGE_TOO_BIG = "5.3.4"
    MEDIA_NOT_SUPPORTED = "5.6.1"
    DELIVERY_NOT_AUTHORIZED = "5.7.1"
    DELIVERY_NOT_AUTHORIZED_YET = "4.7.1"  # temporary: the sender's server retries


class Rule(enum.StrEnum):
    """The rule that decided (docs/architecture.md §4); OK when none refused."""

    T1 = "T1"  # peer operator certificate
    T2 = "T2"  # submission: send-as right
    T3 = "T3"  # recipient domain outside the trust space
    T4 = "T4"  # From/Sender: an author the sender may not name
    R1 = "R1"  # unknown local recipient
    R2 = "R2"  # recipient is an APP mailbox
    R3 = "R3"  # patient opposed or closed
    P1 = "P1"  # patient to patient
    P2 = "P2"  # patient without an open conversation
    S1 = "S1"  # size
    S2 = "S2"  # forbidden attachment type
    S3 = "S3"  # INVISIBLE_PATIENT document to a patient
    OK = "OK"


class Cause(enum.StrEnum):
    """Why a verdict was given: finer than the rule, stable for the webmail and logs."""

    PEER_WITHOUT_CERTIFICATE = "peer_without_certificate"
    PEER_CERTIFICATE_NOT_TRUSTED = "peer_certificate_not_trusted"
    PEER_NOT_LISTED = "peer_not_listed"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    ACTION_NOT_ALLOWED = "action_not_allowed"
    NO_SUCH_CONVERSATION = "no_such_conversation"
    AUTHOR_NOT_ALLOWED = "author_not_allowed"
    AUTHOR_UNREADABLE = "author_unreadable"
    SENDER_NOT_MEMBER = "sender_not_member"
    PEER_AUTHOR_NOT_LISTED = "peer_author_not_listed"
    RELAY_DENIED = "relay_denied"
    DOMAIN_NOT_TRUSTED = "domain_not_trusted"
    UNKNOWN_MAILBOX = "unknown_mailbox"
    UNKNOWN_PATIENT = "unknown_patient"
    APPLICATION_MAILBOX = "application_mailbox"
    PATIENT_OPPOSED = "patient_opposed"
    PATIENT_CLOSED = "patient_closed"
    PATIENT_TO_PATIENT = "patient_to_patient"
    NO_CONVERSATION = "no_conversation"
    CONVERSATION_ENDED = "conversation_ended"
    TOO_LARGE_FOR_PATIENT = "too_large_for_patient"
    TOO_LARGE = "too_large"
    FORBIDDEN_ATTACHMENT = "forbidden_attachment"
    INVISIBLE_TO_PATIENT = "invisible_to_patient"
