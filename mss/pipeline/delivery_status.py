"""What became of a message an application submitted: per recipient, delivered here,
refused (with the rule), or queued for another operator with the queue's state.

Only the principal that submitted the message sees it: the audit rows of the pipeline
name the acting principal, and another principal gets nothing (as for an unknown id).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mss.pipeline.tables import OutboundMessage, OutboundRecipient
from mss.store.audit_actions import AuditAction
from mss.store.store import Store
from mss.store.tables import AuditEvent, StoredMessage


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    address: str
    state: str  # delivered | refused | queued | relayed | failed
    rule: str = ""
    attempts: int = 0
    last_error: str = ""


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def delivery_status(store: Store, principal_label: str, sender_mailbox: str,
                          message_ref: str) -> list[RecipientStatus] | None:
    """None when this principal submitted no message with that Message-ID."""
    if not message_ref:
        return None
    pattern = f"%message={_like(message_ref)}%"
    async with store.reading() as session:
        events = (await session.execute(
            select(AuditEvent.action, AuditEvent.target, AuditEvent.detail)
            .where(AuditEvent.principal == principal_label,
                   AuditEvent.action.in_([AuditAction.MESSAGE_DELIVERED.value,
                                          AuditAction.MESSAGE_REFUSED.value,
                                          AuditAction.MESSAGE_QUEUED.value]),
                   AuditEvent.detail.like(pattern, escape="\\"))
            .order_by(AuditEvent.id))).all()
        if not events:
            return None
        queue: dict[str, tuple[str, int, str]] = {}
        if any(a == AuditAction.MESSAGE_QUEUED.value for a, _, _ in events):
            blob_keys = (await session.execute(
                select(StoredMessage.blob_key, StoredMessage.mailbox_id)
                .where(StoredMessage.message_id == message_ref,
                       StoredMessage.mailbox_id.in_(
                           select(OutboundMessage.mailbox_id).distinct())))).all()
            for blob_key, mailbox_id in blob_keys:
                rows = await session.execute(
                    select(OutboundRecipient.recipient, OutboundRecipient.status,
                           OutboundRecipient.attempts, OutboundRecipient.last_error)
                    .join(OutboundMessage, OutboundMessage.id == OutboundRecipient.message_id)
                    .where(OutboundMessage.mailbox_id == mailbox_id,
                           OutboundMessage.blob_key == blob_key,
                           OutboundMessage.mail_from == sender_mailbox))
                for recipient, status, attempts, error in rows.all():
                    queue[recipient] = (status, attempts, error)
    result = []
    for action, target, detail in events:
        if action == AuditAction.MESSAGE_DELIVERED.value:
            result.append(RecipientStatus(target, "delivered"))
        elif action == AuditAction.MESSAGE_REFUSED.value:
            rule = detail.partition("rule=")[2].split(" ")[0]
            result.append(RecipientStatus(target, "refused", rule=rule))
        else:
            status, attempts, error = queue.get(target, ("queued", 0, ""))
            state = {"delivered": "relayed"}.get(status, status)
            result.append(RecipientStatus(target, state, attempts=attempts, last_error=error))
    return result
