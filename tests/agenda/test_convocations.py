"""A convocation sent over a real SMTP submission socket (aiosmtplib) lands in the
patient's agenda; its cancellation cancels it; a broken calendar never stops the mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from mss.agenda.appointments import read_agenda
from mss.agenda.reminders import ReminderService
from mss.notify.notice_queue import notices
from mss.store.tables import AuditEvent
from tests.smtp.conftest import (  # noqa: F401  (fixtures)
    DOMAIN_A,
    Operator,
    one_hash_per_password,
    operators,
    session_pki,
    stored_messages,
    submit,
)

from .calendars import convocation


@pytest.fixture
async def op(operators, session_pki) -> Operator:  # noqa: F811
    return await operators("a", DOMAIN_A, session_pki.operator_a)


def invitation(op: Operator, calendar: bytes, *, as_attachment: bool = False) -> EmailMessage:
    """As mail clients send invitations: text and an inline text/calendar alternative,
    or (scheduling software) an .ics attachment."""
    world = op.world
    message = EmailMessage()
    message["From"] = f"Dr Alice MARTIN <{world.alice}>"
    message["To"] = world.jeanne
    message["Subject"] = "Votre rendez-vous"
    message["Message-ID"] = make_msgid(domain="hopital.example")
    message.set_content("Vous êtes convoquée le 15 décembre à 9 h 30.")
    if as_attachment:
        message.add_attachment(calendar, maintype="application", subtype="ics",
                               filename="rendez-vous.ics")
    else:
        message.add_alternative(calendar.decode(), subtype="calendar",
                                params={"method": "REQUEST"})
    return message


async def send(op: Operator, message: EmailMessage) -> int:
    world = op.world
    code, _ = await submit(op, world.alice, world.password, world.alice, [world.jeanne],
                           message.as_bytes())
    return code


async def test_an_invitation_becomes_an_appointment_and_its_cancel_cancels_it(op) -> None:
    world = op.world
    sent = invitation(op, convocation())
    assert await send(op, sent) == 250
    (entry,) = await read_agenda(op.store, world.jeanne_ins, world.jeanne_principal)
    assert entry.starts_at == datetime(2026, 12, 15, 8, 30, tzinfo=UTC)
    assert entry.summary == "Échographie cardiaque"
    assert entry.organizer == world.alice and entry.organizer_name == "Dr Alice MARTIN"
    assert entry.message_ref == sent["Message-ID"] and not entry.cancelled

    # the day before, one reminder notice (the node's own reminder task may race this pass:
    # the claim lets only one of them queue it)
    op.clock.advance(entry.starts_at - timedelta(hours=23) - op.clock.now())
    await ReminderService(op.store, node_id="test").run_once()
    assert [n.kind for n in await notices(op.store)].count("reminder") == 1

    cancel = invitation(op, convocation(method="CANCEL", sequence=1), as_attachment=True)
    assert await send(op, cancel) == 250
    (entry,) = await read_agenda(op.store, world.jeanne_ins, world.jeanne_principal)
    assert entry.cancelled


async def test_a_broken_calendar_is_delivered_and_the_trace_says_why(op) -> None:
    world = op.world
    before = len(await stored_messages(op, world.jeanne))
    assert await send(op, invitation(op, b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nGARBAGE",
                                     as_attachment=True)) == 250
    assert len(await stored_messages(op, world.jeanne)) == before + 1
    assert await read_agenda(op.store, world.jeanne_ins, world.jeanne_principal) == []
    async with op.store.reading() as session:
        ignored = (await session.execute(select(AuditEvent.detail).where(
            AuditEvent.action == "agenda.calendar_ignored",
            AuditEvent.subject == world.jeanne_ins))).scalars().all()
    assert len(ignored) == 1 and "reason=" in ignored[0]
