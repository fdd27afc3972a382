"""Processing acknowledgements (RFC 8098 MDN) go to the message's sender only, over real
sockets (RFC 8098 §2.1, docs/sender-truth.md): a Disposition-Notification-To naming
another professional or another patient gets nothing, and an audit row says why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mss.directory.operators import set_operator_endpoint
from mss.pipeline.outbound_queue import queue_rows
from mss.pipeline.tables import OutboundMessage
from mss.policy.automatic_replies import WITHHELD_REASON
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from mss.vault.mdn_sending import drain_acknowledgements
from tests.smtp.conftest import DOMAIN_A, stored_messages, submit
from tests.vault import corpus
from tests.vault.conftest import lettre


@pytest.fixture
async def op_a(operators, session_pki):
    return await operators("a", DOMAIN_A, session_pki.operator_a)


def report_for(world, receipt_to: str, to: str) -> bytes:  # type: ignore[no-untyped-def]
    """Alice's message to a patient with an XDM for that patient, asking for an MDN."""
    ins = to.partition("@")[0]
    message = corpus.patient_message(
        [corpus.AttachmentSpec("IHE_XDM.zip", corpus.xdm_archive([lettre(ins)]),
                               "application/zip")],
        sender=f"Dr Alice MARTIN <{world.alice}>", to=to, receipt_to=receipt_to)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def withheld(op, ins: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with op.store.reading() as session:
        events = await events_for_subject(session, ins, limit=200)
    return [(e.target, e.detail) for e in events
            if e.action == AuditAction.ACKNOWLEDGEMENT_WITHHELD]


@pytest.mark.parametrize("named", ["bruno", "paul"])
async def test_acknowledgement_asked_for_a_third_party_is_not_sent(op_a, named: str) -> None:
    world = op_a.world
    third = world.bruno if named == "bruno" else world.paul
    code, _ = await submit(op_a, world.alice, world.password, world.alice, [world.jeanne],
                           report_for(world, f"Destinataire <{third}>", world.jeanne))
    assert code == 250
    await drain_acknowledgements()
    assert await stored_messages(op_a, third) == []
    assert await stored_messages(op_a, world.alice) == []
    assert await withheld(op_a, world.jeanne_ins) == [
        (third, f"{WITHHELD_REASON} <{world.alice}>")]
    assert await queue_rows(op_a.store) == []


async def test_acknowledgement_to_the_sender_is_delivered(op_a) -> None:
    world = op_a.world
    code, _ = await submit(op_a, world.alice, world.password, world.alice, [world.jeanne],
                           report_for(world, f"{world.bruno}, Dr Alice MARTIN <{world.alice}>",
                                      world.jeanne))
    assert code == 250
    await drain_acknowledgements()
    [mdn] = await stored_messages(op_a, world.alice)
    assert b"Disposition: automatic-action/MDN-sent-automatically; processed" in mdn
    assert f"To: {world.alice}\r\n".encode() in mdn  # the third party is not even named
    assert await stored_messages(op_a, world.bruno) == []
    assert await withheld(op_a, world.jeanne_ins) == [
        (world.bruno, f"{WITHHELD_REASON} <{world.alice}>")]


async def test_acknowledgement_to_a_remote_sender_leaves_with_the_null_sender(pair) -> None:
    a, b = pair
    await set_operator_endpoint(a.store, b.settings.server.patient_domain, "127.0.0.1",
                                b.port("mx"))
    code, _ = await submit(a, a.world.alice, a.world.password, a.world.alice, [b.world.jeanne],
                           report_for(a.world, a.world.alice, b.world.jeanne))
    assert code == 250
    assert await a.worker.run_once() == 1  # to B's MX, which files it for Jeanne
    await drain_acknowledgements()
    [row] = await queue_rows(b.store)
    assert row.recipient == a.world.alice
    async with b.store.reading() as session:
        message = await session.get(OutboundMessage, row.message_id)
        assert message is not None and message.mail_from == ""  # RFC 8098 §3
        assert (await session.execute(select(OutboundMessage))).scalars().all() == [message]
    assert await b.worker.run_once() == 1
    [mdn] = await stored_messages(a, a.world.alice)
    assert b"message/disposition-notification" in mdn

