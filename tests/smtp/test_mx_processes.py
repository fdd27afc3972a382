"""`smtp.mx_processes = 2`: a second process shares the MX port (issue #5).

The kernel spreads connections between the main process and the MX process; whichever
accepts a message, it is stored once, audited in one unbroken chain, and announced to
the IMAP sessions of the main process. Stopping the node stops the MX process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any

import aiosmtplib
import httpx
import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient
from prometheus_client.parser import text_string_to_metric_families

from mss.app import App
from mss.certs import DevPki, ensure_server_pki, server_context
from mss.demo import seed_world
from mss.directory.trust_store import import_trust_list
from mss.pipeline.accept import Submission
from mss.policy import Channel
from mss.smtp import mx_processes as mx_processes_module
from mss.smtp.mx_processes import MxProcesses
from mss.smtp.replies import CERTIFICATE_REVOKED
from mss.smtp.service import SmtpService
from mss.store.audit_verify import verify_chain
from mss.store.events import CRL_CHANGED
from mss.store.unit_of_work import UnitOfWork
from tests.smtp.conftest import (
    DOMAIN_A,
    DOMAIN_B,
    ORGANISATION,
    install_pki,
    message,
    operator_settings,
    stored_messages,
    trust_list_xml,
)

SESSIONS = 24  # all of them on one process by chance: 2 ** -23
PER_SESSION = 2


@pytest.fixture
async def node(make_settings, session_pki) -> Any:
    async with started_node(make_settings, session_pki) as running:
        yield running


@contextlib.asynccontextmanager
async def started_node(make_settings, session_pki, **notify: object) -> Any:
    settings = operator_settings(make_settings, "b", DOMAIN_B)
    for name, value in notify.items():
        setattr(settings.notify, name, value)
    settings.listeners.imaps.enabled = True
    settings.listeners.imaps.port = 0
    settings.smtp.mx_processes = 2
    install_pki(settings, session_pki, session_pki.operator_b)
    app = App(settings)
    app.queue_worker = False
    await app.start()
    try:
        assert app.store is not None and app.pipeline is not None
        world = await seed_world(app.store)
        await import_trust_list(app.store, trust_list_xml(
            [(DOMAIN_A, session_pki.operator_a.subject_dn)]))
        accepted_here: list[object] = []
        app.pipeline.after_accept.append(lambda result, _: accepted_here.append(result))
        yield app, world, accepted_here
    finally:
        await app.stop()


def mx_processes(app: App) -> MxProcesses:
    smtp = next(s for s in app.services if isinstance(s, SmtpService))
    assert smtp.mx_processes is not None
    return smtp.mx_processes


def client_context(app: App, certificate: Any) -> ssl.SSLContext:
    assert app.pki is not None
    context = ssl.create_default_context(cafile=str(app.pki.paths.ca_bundle))
    context.load_cert_chain(certificate.chain_path, certificate.key_path)
    context.check_hostname = False
    return context


async def send_from_many_sessions(app: App, certificate: Any, rcpt: str,
                                  per_session: int = PER_SESSION) -> None:
    """SESSIONS concurrent TLS sessions with a client certificate, `per_session` each."""
    port = app.smtp.listeners["mx"].port

    async def session(number: int) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                                 tls_context=client_context(app, certificate))
        await client.connect()
        await client.starttls()
        for index in range(per_session):
            raw = message(f"dr.a@{DOMAIN_A}", rcpt, subject=f"s{number}-{index}")
            refused, reply = await client.sendmail(f"dr.a@{DOMAIN_A}", [rcpt], raw)
            assert refused == {} and reply.startswith("2.0.0")
        await client.quit()

    await asyncio.gather(*(session(n) for n in range(SESSIONS)))


async def test_both_processes_accept_and_every_message_is_stored_once(
    node, session_pki
) -> None:
    app, world, accepted_here = node
    await send_from_many_sessions(app, session_pki.operator_a, world.bruno)
    total = SESSIONS * PER_SESSION
    stored = await stored_messages_of(app, world.bruno)
    assert sorted(stored) == sorted(f"s{n}-{i}" for n in range(SESSIONS)
                                    for i in range(PER_SESSION))
    # the main process accepted some of them, the MX process the rest
    assert 0 < len(accepted_here) < total
    assert app.store is not None
    # one chain, written by two processes
    async with app.store.reading() as session_:
        assert await verify_chain(session_, app.store.audit_seal) == []


async def test_the_admin_metrics_count_what_every_process_accepted(node, session_pki) -> None:
    """/metrics on the main process adds the MX process's counters to its own."""
    app, world, accepted_here = node
    await send_from_many_sessions(app, session_pki.operator_a, world.bruno)
    total = SESSIONS * PER_SESSION
    assert 0 < len(accepted_here) < total  # the MX process accepted the rest
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{app.admin.port}/metrics",
                                 timeout=30)).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    delivered = [s.value for s in families["mss_events"].samples
                 if s.name == "mss_events_total"
                 and s.labels == {"action": "message.delivered", "outcome": "ok"}]
    assert delivered == [float(total)]
    [accepted] = [s.value for s in families["mss_accept_seconds"].samples
                  if s.name == "mss_accept_seconds_count"]
    assert accepted == float(total)
    own = {f.name: f for f in text_string_to_metric_families(
        app.metrics.render().decode())}
    [own_accepted] = [s.value for s in own["mss_accept_seconds"].samples
                      if s.name == "mss_accept_seconds_count"]
    assert own_accepted == float(len(accepted_here))


async def stored_messages_of(app: App, address: str) -> list[str]:
    class View:  # what tests.smtp.conftest.stored_messages reads
        store = app.store

    raws = await stored_messages(View, address)  # type: ignore[arg-type]
    return [raw.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode() for raw in raws]


async def test_idle_in_the_main_process_hears_of_every_delivery(node, session_pki) -> None:
    """imapclient IDLEs on the main process while both processes deliver."""
    app, world, _ = node
    imaps = app.imap.addresses["imaps"][1]
    assert app.pki is not None
    context = ssl.create_default_context(cafile=str(app.pki.paths.ca_bundle))
    context.check_hostname = False
    client = await asyncio.to_thread(IMAPClient, "127.0.0.1", port=imaps, ssl=True,
                                     ssl_context=context, timeout=30)
    await asyncio.to_thread(client.login, world.bruno, world.password)
    before = (await asyncio.to_thread(client.select_folder, "INBOX"))[b"EXISTS"]
    await asyncio.to_thread(client.idle)
    total = SESSIONS * PER_SESSION

    def until_all_announced() -> int:
        highest = before
        while highest < before + total:
            responses = client.idle_check(timeout=30)
            assert responses, "IDLE heard nothing for 30 s"
            highest = max([highest, *(n for n, what in responses if what == b"EXISTS")])
        return highest

    sending = asyncio.create_task(send_from_many_sessions(app, session_pki.operator_a,
                                                          world.bruno))
    assert await asyncio.to_thread(until_all_announced) == before + total
    await sending
    await asyncio.to_thread(client.idle_done)
    await asyncio.to_thread(client.logout)


async def test_stopping_the_node_stops_its_mx_process(make_settings, session_pki) -> None:
    settings = operator_settings(make_settings, "b", DOMAIN_B)
    settings.smtp.mx_processes = 2
    install_pki(settings, session_pki, session_pki.operator_b)
    app = App(settings)
    app.queue_worker = False
    lines = await app.start()
    port = app.smtp.listeners["mx"].port
    assert f"MX also served by 1 more process(es) on port {port}" in lines
    processes = mx_processes(app)
    worker = processes.processes[1]
    assert worker.is_alive()
    await app.stop()
    assert not worker.is_alive() and worker.exitcode == 0
    assert not processes.hub.path.exists()


async def test_an_mx_process_that_dies_is_restarted_and_serves_again(
    node, session_pki, monkeypatch
) -> None:
    app, world, accepted_here = node
    monkeypatch.setattr(mx_processes_module, "RESTART_DELAY", 0.0)  # it died young
    processes = mx_processes(app)
    first = processes.processes[1]
    first.kill()  # SIGKILL: no chance to finish anything
    await asyncio.wait_for(processes.restarted.wait(), 60)
    second = processes.processes[1]
    assert second.pid != first.pid and second.is_alive() and processes.restarts == 1
    assert first.exitcode == -9
    await send_from_many_sessions(app, session_pki.operator_a, world.bruno)
    total = SESSIONS * PER_SESSION
    assert len(await stored_messages_of(app, world.bruno)) == total
    assert 0 < len(accepted_here) < total  # the new MX process took its share
    assert app.store is not None
    async with app.store.reading() as session:
        assert await verify_chain(session, app.store.audit_seal) == []


async def test_a_revocation_reaches_the_mx_process_by_its_event(
    make_settings, session_pki
) -> None:
    """The CRL file is not watched within the test (an hour between checks): the "crl"
    event published in the main process reaches the MX process through the hub."""
    settings = operator_settings(make_settings, "b", DOMAIN_B)
    settings.smtp.mx_processes = 2
    settings.trust.crl_check_seconds = 3600
    install_pki(settings, session_pki, session_pki.operator_b)
    pki = DevPki.load(settings.pki_dir)
    peer = pki.issue_operator(f"mx.{DOMAIN_A}", "1000000001", ORGANISATION, "Paris (75)")
    app = App(settings)
    app.queue_worker = False
    await app.start()
    try:
        assert app.store is not None and app.live_trust is not None
        await seed_world(app.store)
        await import_trust_list(app.store, trust_list_xml([(DOMAIN_A, peer.subject_dn)]))
        port = app.smtp.listeners["mx"].port
        assert await refused_sessions(port, app, peer) == 0
        generation = app.live_trust.generation
        await asyncio.to_thread(pki.revoke, peer.serial)

        async def announce(uow: UnitOfWork) -> None:
            uow.publish(CRL_CHANGED)

        await app.store.write(announce)
        await asyncio.wait_for(app.live_trust.wait_for_generation(generation + 1), 60)
        # the MX process reloads on the relayed event: poll, with a generous bound
        deadline = asyncio.get_running_loop().time() + 60
        while await refused_sessions(port, app, peer) < SESSIONS:
            assert asyncio.get_running_loop().time() < deadline, "the MX process kept it"
    finally:
        await app.stop()


async def refused_sessions(port: int, app: App, certificate: Any) -> int:
    """How many of SESSIONS concurrent MX sessions with `certificate` are refused."""

    async def session() -> bool:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                                 tls_context=client_context(app, certificate), timeout=30)
        await client.connect()
        await client.starttls()
        try:
            await client.mail(f"dr.a@{DOMAIN_A}")
        except aiosmtplib.SMTPResponseException as refused:
            assert (refused.code, refused.message) == (
                421, CERTIFICATE_REVOKED.split(" ", 1)[1])
            return True
        await client.quit()
        return False

    return sum(await asyncio.gather(*(session() for _ in range(SESSIONS))))


class NoticeRelay:
    """The outside relay patient notices go through: an aiosmtpd sink with STARTTLS."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.arrived = asyncio.Event()
        self.expected = 0
        self.loop = asyncio.get_running_loop()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        if len(self.messages) >= self.expected:
            self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"


async def test_a_message_accepted_by_an_mx_process_tells_the_patient(
    make_settings, session_pki
) -> None:
    """The notice hook is the same in every process: each message to a patient, whichever
    process accepted it, produces one notice through the relay, sent exactly once (by
    the main process's worker, woken through the process link)."""
    relay_pki = ensure_server_pki(make_settings("relay"))
    relay = NoticeRelay()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        relay_port = int(probe.getsockname()[1])
    controller = Controller(relay, hostname="127.0.0.1", port=relay_port,
                            tls_context=server_context(relay_pki.paths), require_starttls=True,
                            ready_timeout=120)  # a bound on an event, generous under load
    controller.start()
    try:
        async with started_node(make_settings, session_pki, relay_host="localhost",
                                relay_port=relay_port,
                                relay_ca_file=str(relay_pki.paths.ca_bundle)) as running:
            app, world, accepted_here = running
            relay.expected = SESSIONS
            await send_from_many_sessions(app, session_pki.operator_a, world.jeanne,
                                          per_session=1)
            assert 0 < len(accepted_here) < SESSIONS  # the MX process accepted some
            await asyncio.wait_for(relay.arrived.wait(), 300)
        # stopped: every worker has finished; nothing is sent twice
        assert len(relay.messages) == SESSIONS
        assert all(rcpts == ["jeanne.dupont@example.org"] for rcpts, _ in relay.messages)
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def imap_node(make_settings, session_pki) -> Any:
    """`imap.processes = 2` (MX in the main process only): one extra process shares the
    IMAP ports."""
    settings = operator_settings(make_settings, "b", DOMAIN_B, with_imap=True)
    settings.imap.processes = 2
    install_pki(settings, session_pki, session_pki.operator_b)
    app = App(settings)
    app.queue_worker = False
    await app.start()
    try:
        assert app.store is not None
        yield app, await seed_world(app.store)
    finally:
        await app.stop()


async def test_idle_sessions_in_both_imap_processes_see_each_others_changes(
        make_settings, session_pki) -> None:
    """Clients connect until one is served by each process (the main process counts
    its own connections); a delivery reaches IDLE in both, and a flag set through one
    process reaches IDLE in the other, both ways."""
    async with imap_node(make_settings, session_pki) as (app, world):
        processes = mx_processes(app)
        assert processes.ports == {"IMAPS": (app.imap.addresses["imaps"][1], 1)}
        server = app.imap.servers[0]
        assert app.pki is not None
        context = ssl.create_default_context(cafile=str(app.pki.paths.ca_bundle))
        context.check_hostname = False
        port = app.imap.addresses["imaps"][1]
        main_side: list[IMAPClient] = []
        extra_side: list[IMAPClient] = []

        def connect() -> IMAPClient:
            client = IMAPClient("127.0.0.1", port=port, ssl=True, ssl_context=context,
                                timeout=30)
            client.login(world.bruno, world.password)
            client.select_folder("INBOX")
            return client

        try:
            for _ in range(64):  # all on one process 64 times: 2 ** -64
                before = server.connections
                client = await asyncio.to_thread(connect)
                (main_side if server.connections > before else extra_side).append(client)
                if main_side and extra_side:
                    break
            assert main_side and extra_side
            here, there = main_side[0], extra_side[0]
            for client in (here, there):
                await asyncio.to_thread(client.idle)

            async def heard(client: IMAPClient, what: bytes) -> list[Any]:
                def wait() -> list[Any]:
                    responses = client.idle_check(timeout=30)
                    while not any(len(r) > 1 and r[1] == what for r in responses):
                        more = client.idle_check(timeout=30)
                        assert more, f"IDLE heard no {what!r} for 30 s"
                        responses += more
                    return responses
                return await asyncio.to_thread(wait)

            # a delivery (main process) reaches both
            assert app.pipeline is not None
            await app.pipeline.ensure_spool_mailbox()
            result = await app.pipeline.accept(Submission(
                mail_from=world.alice, recipients=[world.bruno],
                raw=message(world.alice, world.bruno, subject="Aux deux processus"),
                channel=Channel.SUBMISSION, principal=world.alice_principal,
                save_to_sent=False))
            assert result.results[0].accepted
            for client in (here, there):
                await heard(client, b"EXISTS")

            # a flag set in one process is announced in the other, both ways
            for writer, reader, flag in ((there, here, "$Label1"), (here, there, "$Label2")):
                await asyncio.to_thread(writer.idle_done)
                uids = await asyncio.to_thread(writer.search, ["SUBJECT", "Aux deux processus"])
                await asyncio.to_thread(writer.add_flags, uids, [flag], True)  # silent
                fetched = await heard(reader, b"FETCH")
                assert any(flag.encode() in repr(r).encode() for r in fetched), fetched
                await asyncio.to_thread(writer.idle)
        finally:
            for client in main_side + extra_side:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(client.logout)
