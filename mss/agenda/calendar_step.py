"""The agenda's step of the pipeline: iCalendar parts of a message a professional-side
mailbox (PER, ORG, APP) sends to a patient become changes of her agenda.

It has the vault step's shape (`prepare` before the delivering transaction, `commit`
inside it): calendars are read and recurrences expanded outside the shared write
transaction, and the appointments commit with the delivery or not at all. A calendar
MSS cannot read never stops the message: it is delivered, and the audit trail says
why its calendar was ignored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select

from mss.agenda.appointments import apply_change
from mss.agenda.invitations import (
    MAX_CALENDAR_BYTES,
    CalendarChange,
    CalendarUnreadable,
    read_calendar,
)
from mss.identity import MailboxKind
from mss.policy.addresses import canonical_address
from mss.policy.facts import Correspondent
from mss.store.audit_actions import AuditAction, AuditOutcome
from mss.store.store import Store
from mss.store.tables import Mailbox
from mss.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class ParsedMessage(Protocol):
    """What the pipeline hands its patient steps (the agenda never imports the pipeline)."""

    @property
    def message(self) -> EmailMessage: ...

CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})
MAX_CALENDAR_PARTS = 5
ORGANISER_KINDS = frozenset({MailboxKind.PER, MailboxKind.ORG, MailboxKind.APP})


def calendar_parts(message: EmailMessage) -> list[bytes]:
    """The iCalendar objects a message carries: `text/calendar` parts (inline, as mail
    clients send invitations) and `.ics` attachments, at most MAX_CALENDAR_PARTS."""
    found: list[bytes] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = (part.get_filename() or "").lower()
        if part.get_content_type() not in CALENDAR_TYPES and not name.endswith(".ics"):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found.append(payload[: MAX_CALENDAR_BYTES + 1])
        if len(found) >= MAX_CALENDAR_PARTS:
            break
    return found


@dataclass(frozen=True, slots=True)
class PreparedCalendars:
    changes: tuple[CalendarChange, ...] = ()
    unreadable: tuple[str, ...] = ()  # reasons, for the audit trail


class AgendaStep:
    """`prepare`/`commit` for each patient recipient (see mss.pipeline.accept)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def prepare(self, parsed: ParsedMessage, patient_mailbox: str) -> PreparedCalendars:
        try:
            parts = calendar_parts(parsed.message)
        except Exception as error:  # a broken MIME structure: the message still goes
            return PreparedCalendars(unreadable=(f"parts: {type(error).__name__}",))
        if not parts:
            return PreparedCalendars()
        now = self.store.clock.now()
        changes, unreadable = [], []
        for data in parts:
            try:
                changes.append(await asyncio.to_thread(read_calendar, data, now=now))
            except CalendarUnreadable as reason:
                unreadable.append(str(reason))
        return PreparedCalendars(tuple(changes), tuple(unreadable))

    async def commit(
        self, uow: UnitOfWork, prepared: object, parsed: ParsedMessage, patient_mailbox: str,
        sender: Correspondent, message_ref: str,
    ) -> None:
        assert isinstance(prepared, PreparedCalendars)
        if not prepared.changes and not prepared.unreadable:
            return
        ins = canonical_address(patient_mailbox).partition("@")[0].upper()
        organizer = canonical_address(sender.address)
        actor = f"mailbox:{organizer}"
        if sender.entry is None or sender.entry.kind not in ORGANISER_KINDS:
            uow.audit(AuditAction.AGENDA_CALENDAR_IGNORED, actor, target=organizer,
                      outcome=AuditOutcome.REFUSED, subject=ins,
                      detail=f"message={message_ref[:200]} reason=sender-not-a-professional")
            return
        for reason in prepared.unreadable:
            uow.audit(AuditAction.AGENDA_CALENDAR_IGNORED, actor, target=organizer,
                      outcome=AuditOutcome.REFUSED, subject=ins,
                      detail=f"message={message_ref[:200]} reason={reason[:200]}")
        name = (await uow.session.execute(select(Mailbox.display_name).where(
            Mailbox.address == organizer))).scalar_one_or_none() or organizer
        for change in prepared.changes:
            try:
                async with uow.session.begin_nested():
                    await apply_change(uow, change, patient_ins=ins, organizer=organizer,
                                       organizer_name=name, actor=actor, source="message",
                                       message_ref=message_ref)
            except Exception as error:  # never lose the message for its calendar
                log.error("agenda change from %s for %s failed; the message is delivered",
                          organizer, ins, exc_info=error)
                uow.audit(AuditAction.AGENDA_CALENDAR_IGNORED, actor, target=organizer,
                          outcome=AuditOutcome.ERROR, subject=ins,
                          detail=f"message={message_ref[:200]} reason=internal-error")
