"""The log lines of one message through the pipeline, written after its commit.

Postfix writes one line per step with the queue id first; so does MSS
(docs/logging.md): `message.accepted` (queue id, Message-ID, from, each recipient, size,
principal), then per recipient `message.delivered` (mailbox and folder),
`message.queued` or `message.refused` (rule and reply), then the vault's
`document.deposited` / `document.rejected` rows of the same transaction.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from mss.event_log import audited_rows, event
from mss.store.audit_actions import AuditAction

if TYPE_CHECKING:
    from mss.pipeline.accept import AcceptResult, Submission

_VAULT_ACTIONS = frozenset({AuditAction.DOCUMENT_DEPOSITED.value,
                            AuditAction.DOCUMENT_REJECTED.value})


def new_queue_id() -> str:
    """A short random id for the Received field, the 250 reply and every log line
    about the message (like Postfix's queue id)."""
    return secrets.token_hex(6).upper()


def log_accepted(submission: Submission, result: AcceptResult,
                 audited: list[dict[str, object]]) -> None:
    qid = result.queue_id
    accepted = result.accepted
    if accepted:
        event(AuditAction.MESSAGE_ACCEPTED, queue_id=qid, message_id=result.message_id,
              **{"from": submission.mail_from or "<>"},
              to=",".join(r.address for r in accepted), size=result.size,
              principal=submission.principal.label(), channel=submission.channel.value,
              via=submission.via)
    for recipient in result.results:
        if not recipient.accepted:
            verdict = recipient.verdict
            event(AuditAction.MESSAGE_REFUSED, queue_id=qid, to=recipient.address,
                  rule=verdict.rule, reply=verdict.smtp_reply(), stage="data")
        elif recipient.delivered_to is not None:
            event(AuditAction.MESSAGE_DELIVERED, queue_id=qid, to=recipient.address,
                  mailbox=recipient.delivered_to, folder="INBOX")
        elif recipient.queued:
            event(AuditAction.MESSAGE_QUEUED, queue_id=qid, to=recipient.address)
    if result.kept_in_sent and accepted:
        event(AuditAction.MESSAGE_DELIVERED, queue_id=qid, mailbox=submission.mail_from,
              folder="Sent")
    audited_rows([row for row in audited if row["action"] in _VAULT_ACTIONS], queue_id=qid)
