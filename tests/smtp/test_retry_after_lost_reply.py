"""A client whose 250 was lost retries: the message is answered as accepted and is not
delivered twice (issue 17 §7, mss/pipeline/delivery_keys.py). Real smtplib clients on
submission and on the MX (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl

import pytest
from sqlalchemy import func, select

from mss.pipeline.accept import AcceptResult
from mss.pipeline.tables import DeliveryKey
from mss.store.audit import events_for_subject
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, Operator, message, stored_messages


@pytest.fixture
async def node(operators, session_pki) -> Operator:
    return await operators("a", DOMAIN_A, session_pki.operator_a)


def send_unanswered(port: int, context: ssl.SSLContext, login: tuple[str, str] | None,
                    mail_from: str, rcpt: str, raw: bytes) -> smtplib.SMTP:
    """Send the whole DATA, final dot included, and read no reply: once the server has
    committed, closing this client loses its 250 (the connection dropped)."""
    client = smtplib.SMTP("127.0.0.1", port, timeout=60)
    client.starttls(context=context)
    if login is not None:
        client.login(*login)
    else:
        client.ehlo("mx.mss-b.localhost")
    assert client.mail(mail_from)[0] == 250
    assert client.rcpt(rcpt)[0] == 250
    client.putcmd("data")
    assert client.getreply()[0] == 354
    client.send(raw + b".\r\n")
    return client


async def lose_the_reply(operator: Operator, port: int, context: ssl.SSLContext,
                         login: tuple[str, str] | None, mail_from: str, rcpt: str,
                         raw: bytes) -> AcceptResult:
    seen: asyncio.Queue[AcceptResult] = asyncio.Queue()
    operator.pipeline.after_accept.append(lambda result, _: seen.put_nowait(result))
    client = await asyncio.to_thread(send_unanswered, port, context, login, mail_from,
                                     rcpt, raw)
    first = await seen.get()  # committed (after_accept runs after COMMIT)
    assert client.sock is not None
    client.sock.close()  # the 250 is never read
    return first


def send(port: int, context: ssl.SSLContext, login: tuple[str, str] | None,
         mail_from: str, rcpt: str, raw: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.starttls(context=context)
        if login is not None:
            client.login(*login)
        else:
            client.ehlo("mx.mss-b.localhost")
        assert client.mail(mail_from)[0] == 250
        assert client.rcpt(rcpt)[0] == 250
        return client.data(raw)


async def retried_rows(operator: Operator) -> list[str]:
    async with operator.store.reading() as session:
        events = await events_for_subject(session, "", limit=500)
    return [e.detail for e in events if e.action == "message.retried"]


async def test_a_submission_retried_after_a_lost_250_is_delivered_once(node) -> None:
    world = node.world
    login = (world.alice, world.password)
    raw = message(world.alice, world.bruno, subject="Compte rendu", body="Une fois.")
    first = await lose_the_reply(node, node.port("submission"), node.client_context(),
                                 login, world.alice, world.bruno, raw)
    assert [r.address for r in first.accepted] == [world.bruno]
    code, reply = await asyncio.to_thread(send, node.port("submission"),
                                          node.client_context(), login, world.alice,
                                          world.bruno, raw)
    assert code == 250
    assert reply.decode().endswith(f"queued as {first.queue_id}")  # the first one's id
    assert len(await stored_messages(node, world.bruno)) == 1
    assert len(await stored_messages(node, world.alice, "Sent")) == 1
    [detail] = await retried_rows(node)
    assert f"queue_id={first.queue_id}" in detail


async def test_a_new_message_is_not_taken_for_a_retry(node) -> None:
    """Same Message-ID, other content: delivered (only a true retry is recognised); no
    Message-ID of the sender's: delivered each time (nothing tells it from a retry)."""
    world = node.world
    login = (world.alice, world.password)
    port, context = node.port("submission"), node.client_context()
    first = message(world.alice, world.bruno, subject="Suivi", body="Premier.")
    second = message(world.alice, world.bruno, subject="Suivi", body="Second.")
    bare = (f"From: <{world.alice}>\r\nTo: <{world.bruno}>\r\nSubject: Sans id\r\n\r\n"
            "Bonjour.\r\n").encode()
    for raw in (first, second, bare, bare):
        code, _ = await asyncio.to_thread(send, port, context, login, world.alice,
                                          world.bruno, raw)
        assert code == 250
    assert len(await stored_messages(node, world.bruno)) == 4
    assert await retried_rows(node) == []


async def test_a_peer_operator_retrying_after_a_lost_250_delivers_once(node) -> None:
    world = node.world
    sender = f"dr.someone@{DOMAIN_B}"
    raw = message(sender, world.bruno, subject="Résultats", body="Une seule fois.")
    context = node.client_context(certificate=node.pki.operator_b)
    first = await lose_the_reply(node, node.port("mx"), context, None, sender,
                                 world.bruno, raw)
    assert first.accepted
    code, reply = await asyncio.to_thread(send, node.port("mx"), context, None, sender,
                                          world.bruno, raw)
    assert code == 250 and reply.decode().endswith(f"queued as {first.queue_id}")
    assert len(await stored_messages(node, world.bruno)) == 1
    assert len(await retried_rows(node)) == 1


async def test_a_retry_past_the_window_is_a_new_delivery(node) -> None:
    """`limits.retry_window_hours` later the key is forgotten (the heartbeat deletes it):
    the same message sent again is delivered again."""
    from datetime import timedelta

    world = node.world
    login = (world.alice, world.password)
    raw = message(world.alice, world.bruno, subject="Rappel", body="Encore.")
    port, context = node.port("submission"), node.client_context()
    assert (await asyncio.to_thread(send, port, context, login, world.alice, world.bruno,
                                    raw))[0] == 250
    node.clock.advance(timedelta(hours=node.settings.limits.retry_window_hours + 1))
    await node.app.beat()
    async with node.store.reading() as session:
        assert (await session.execute(select(func.count()).select_from(DeliveryKey))
                ).scalar_one() == 0
    assert (await asyncio.to_thread(send, port, context, login, world.alice, world.bruno,
                                    raw))[0] == 250
    assert len(await stored_messages(node, world.bruno)) == 2
    assert await retried_rows(node) == []


async def test_the_same_message_from_two_sessions_at_once_is_delivered_once(node) -> None:
    """Both attempts are accepted as new ones and claim the key with their batch; the
    later claim finds the key taken, its job alone is undone, and it is answered from the
    key (issue 19: the key is no longer read inside the transaction of each message)."""
    world = node.world
    sender = f"dr.someone@{DOMAIN_B}"
    raw = message(sender, world.bruno, subject="Double envoi", body="Deux sessions.")
    context = node.client_context(certificate=node.pki.operator_b)
    replies = await asyncio.gather(*(
        asyncio.to_thread(send, node.port("mx"), context, None, sender, world.bruno, raw)
        for _ in range(2)))
    assert [code for code, _ in replies] == [250, 250]
    queue_ids = {reply.decode().rsplit(" ", 1)[-1] for _, reply in replies}
    assert len(queue_ids) == 1  # the retry is answered with the first one's id
    assert len(await stored_messages(node, world.bruno)) == 1
    assert len(await retried_rows(node)) == 1


async def test_a_key_past_the_window_not_yet_forgotten_is_a_new_delivery(node) -> None:
    """The heartbeat has not deleted the old key yet: the claim finds it, and the message
    is delivered as new all the same, the key row now saying this acceptance."""
    from datetime import timedelta

    world = node.world
    login = (world.alice, world.password)
    raw = message(world.alice, world.bruno, subject="Rappel tardif", body="Encore.")
    port, context = node.port("submission"), node.client_context()
    assert (await asyncio.to_thread(send, port, context, login, world.alice, world.bruno,
                                    raw))[0] == 250
    node.clock.advance(timedelta(hours=node.settings.limits.retry_window_hours + 1))
    code, reply = await asyncio.to_thread(send, port, context, login, world.alice,
                                          world.bruno, raw)
    assert code == 250
    assert len(await stored_messages(node, world.bruno)) == 2
    assert await retried_rows(node) == []
    async with node.store.reading() as session:
        [queue_id] = (await session.execute(select(DeliveryKey.queue_id))).scalars().all()
    assert reply.decode().endswith(f"queued as {queue_id}")
