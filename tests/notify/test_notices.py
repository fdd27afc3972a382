"""Patient notices: queued on delivery and on break-glass, sent through an outside relay
with STARTTLS (a local aiosmtpd sink here), no health data, retried with backoff on the
injected clock (issue 8, mss.notify)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from mss.certs import ensure_server_pki, server_context
from mss.notify.notice_queue import FAILED, RETRY_DELAYS, SENT, notices
from mss.notify.notifier import Notifier
from mss.notify.relay_settings import RelaySettings
from mss.store.tables import AuditEvent
from tests.webmail.conftest import Web


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def relay(web: Web) -> Iterator[tuple[Sink, RelaySettings]]:
    pki = ensure_server_pki(web.store.settings)
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port,
                            tls_context=server_context(pki.paths), require_starttls=True)
    controller.start()
    settings = RelaySettings(host="localhost", port=port, tls="starttls",
                             ca_file=str(pki.paths.ca_bundle), sender="avis@mss.localhost",
                             webmail_url="https://mss.localhost/")
    yield sink, settings
    controller.stop()


async def test_new_message_notice_has_no_health_data(web: Web, relay) -> None:
    sink, settings = relay
    notifier = Notifier(web.store, settings)
    web.pipeline.in_delivery.append(notifier.on_delivery)
    await web.send(subject="Résultats de biologie : glycémie", body="Glycémie 1,8 g/L")
    await notifier.drain()
    assert await notifier.run_once() == 1
    ((mail_from, rcpts, content),) = sink.messages
    assert rcpts == ["jeanne.dupont@example.org"] and mail_from == "avis@mss.localhost"
    message = message_from_bytes(content, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "nouveau message sur votre messagerie santé" in text
    assert "https://mss.localhost/" in text
    for leak in ("glycémie", "Glycémie", "biologie", "Alice", "MARTIN", web.world.alice,
                 web.world.jeanne_ins):
        assert leak not in content.decode("utf-8", "replace") and leak not in text
    assert [n.status for n in await notices(web.store)] == [SENT]


async def test_professional_mailbox_gets_no_notice(web: Web, relay) -> None:
    _, settings = relay
    notifier = Notifier(web.store, settings)
    web.pipeline.in_delivery.append(notifier.on_delivery)
    await web.send(to=web.world.bruno, subject="Avis")
    await notifier.drain()
    assert await notices(web.store) == []


async def test_break_glass_notice(web: Web, relay) -> None:
    sink, settings = relay
    notifier = Notifier(web.store, settings)
    web.vault.on_break_glass.append(notifier.on_break_glass)
    await web.vault.break_glass(web.bruno, web.world.jeanne_ins, "Urgence vitale")
    await notifier.drain()
    assert await notifier.run_once() == 1
    text = sink.messages[0][2].decode("utf-8", "replace")
    assert "Urgence vitale" not in text and "PETIT" not in text
    assert "urgence" in message_from_bytes(sink.messages[0][2], policy=policy.default
                                           ).get_body(("plain",)).get_content()


async def test_relay_down_is_retried_with_backoff(web: Web, relay) -> None:
    sink, settings = relay
    down = RelaySettings(host="127.0.0.1", port=free_port(), tls="starttls",
                         sender=settings.sender, webmail_url=settings.webmail_url,
                         timeout_seconds=5)
    notifier = Notifier(web.store, down)
    web.pipeline.in_delivery.append(notifier.on_delivery)
    await web.send()
    await notifier.drain()
    assert await notifier.run_once() == 0
    (state,) = await notices(web.store)
    assert state.attempts == 1 and state.last_error
    assert state.next_attempt_at == web.store.clock.now() + RETRY_DELAYS[0]
    assert await notifier.run_once() == 0 and (await notices(web.store))[0].attempts == 1
    web.store.clock.advance(RETRY_DELAYS[0])  # type: ignore[attr-defined]
    notifier.relay = settings  # the relay is back
    assert await notifier.run_once() == 1
    assert (await notices(web.store))[0].status == SENT and len(sink.messages) == 1
    async with web.store.reading() as session:  # each attempt is in the audit trail
        rows = (await session.execute(select(AuditEvent).where(
            AuditEvent.action.startswith("notice.")).order_by(AuditEvent.seq))).scalars()
        trail = [(r.action, r.detail.split(" error=")[0]) for r in rows]
    notice = f"notice={state.id} kind=new_message"
    assert [action for action, _ in trail] == ["notice.queued", "notice.failed", "notice.sent"]
    assert trail[1][1] == f"{notice} attempt=1 status=pending to_domain=example.org"
    assert trail[2][1] == f"{notice} attempt=2 status=sent to_domain=example.org"


async def test_gives_up_after_the_last_retry(web: Web) -> None:
    down = RelaySettings(host="127.0.0.1", port=free_port(), tls="none", sender="a@b.fr",
                         webmail_url="x", timeout_seconds=5)
    notifier = Notifier(web.store, down)
    web.pipeline.in_delivery.append(notifier.on_delivery)
    await web.send()
    await notifier.drain()
    for delay in (*RETRY_DELAYS, timedelta(0)):
        await notifier.run_once()
        web.store.clock.advance(delay)  # type: ignore[attr-defined]
    assert (await notices(web.store))[0].status == FAILED


async def test_new_message_notice_commits_with_the_delivery(web: Web) -> None:
    """The notice row is written in the delivering transaction: no window to lose it."""
    notifier = Notifier(web.store, RelaySettings())
    web.pipeline.in_delivery.append(notifier.on_delivery)
    await web.send(subject="Compte rendu")
    queued = await notices(web.store)  # no drain, no task: already committed
    assert [(n.kind, n.status, n.recipient) for n in queued] == [
        ("new_message", "pending", "jeanne.dupont@example.org")]
