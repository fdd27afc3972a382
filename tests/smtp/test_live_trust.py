"""Trust changes apply while `mss serve` runs. A revocation: to the next session and to
the next command of the open ones, on the MX, on submission (AUTH EXTERNAL) and on
IMAP. A trust-list import made by another process: to the next MX session. A new
server certificate and key: to the next handshake.

Each test revokes in the operator's own copy of the dev PKI, as `mss certs revoke`
does, and waits for the process to load the new CRL (its generation), never a delay.
"""

from __future__ import annotations

import asyncio
import imaplib
import socket
import ssl
from collections.abc import Callable

import aiosmtplib
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from mss.certs import DevPki, IssuedCertificate
from mss.certs.key_files import replace_private_file, write_public_file
from mss.config import Settings
from mss.directory.certificate_bindings import bind_certificate
from mss.smtp.replies import CERTIFICATE_REVOKED, CERTIFICATE_UNKNOWN_CA
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from mss.store.events import CRL_CHANGED
from mss.store.unit_of_work import UnitOfWork
from tests.smtp.conftest import DOMAIN_A, DOMAIN_B, ORGANISATION, Operator, message

RELOAD_BOUND = 60.0  # seconds: generous, a loaded machine still makes it


def events_only(settings: Settings) -> None:
    """No file check within the test: only the change event can bring the new CRL."""
    settings.trust.crl_check_seconds = 3600


def with_imaps(settings: Settings) -> None:
    settings.listeners.imaps.enabled = True
    settings.listeners.imaps.port = 0


def own_pki(operator: Operator) -> DevPki:
    return DevPki.load(operator.settings.pki_dir)


async def revoke(operator: Operator, certificate: IssuedCertificate, *, announce: bool) -> None:
    """Revoke in the operator's PKI folder; with `announce`, publish the "crl" event as
    the CLI does; then wait until the running process uses the new CRL."""
    live = operator.app.live_trust
    assert live is not None
    generation = live.generation
    assert await asyncio.to_thread(own_pki(operator).revoke, certificate.serial)
    if announce:
        async def job(uow: UnitOfWork) -> None:
            uow.publish(CRL_CHANGED)

        await operator.store.write(job)
    await asyncio.wait_for(live.wait_for_generation(generation + 1), RELOAD_BOUND)


async def mx_session(operator: Operator, certificate: IssuedCertificate) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=operator.port("mx"), start_tls=False,
                             tls_context=operator.client_context(certificate=certificate),
                             timeout=30)
    await client.connect()
    await client.starttls()
    return client


async def refusal_of(command: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await command()  # type: ignore[misc]
    return refused.value.code, refused.value.message


def reply_text(line: str) -> tuple[int, str]:
    code, _, text = line.partition(" ")
    return int(code), text


async def refused_certificates(operator: Operator) -> list[str]:
    async with operator.store.reading() as session:
        events = await events_for_subject(session, "", limit=500)
    return [e.detail for e in events if e.action == AuditAction.CERT_REFUSED]


@pytest.mark.parametrize("announce", [True, False], ids=["change-event", "file-check"])
async def test_a_revoked_peer_certificate_is_refused_without_a_restart(
    operators, session_pki, announce: bool
) -> None:
    b = await operators("b", DOMAIN_B, session_pki.operator_b,
                        configure=events_only if announce else None)
    # A's DN (listed for A's domain) on a certificate B's PKI folder can revoke
    peer = own_pki(b).issue_operator(f"mx.{DOMAIN_A}", "1000000001", ORGANISATION,
                                     "Paris (75)")
    open_session = await mx_session(b, peer)
    assert (await open_session.mail(f"dr.a@{DOMAIN_A}")).code == 250

    await revoke(b, peer, announce=announce)

    # the open session: closed at its next command
    assert await refusal_of(lambda: open_session.rcpt(b.world.bruno)) == reply_text(
        CERTIFICATE_REVOKED)
    # the next session: the handshake passes, the first command is refused
    fresh = await mx_session(b, peer)
    assert await refusal_of(lambda: fresh.mail(f"dr.a@{DOMAIN_A}")) == reply_text(
        CERTIFICATE_REVOKED)
    # a certificate that is not revoked still delivers
    other = await mx_session(b, session_pki.operator_a)
    raw = message(f"dr.a@{DOMAIN_A}", b.world.bruno, subject="Encore reçu")
    refused, _ = await other.sendmail(f"dr.a@{DOMAIN_A}", [b.world.bruno], raw)
    assert refused == {}
    await other.quit()
    details = await refused_certificates(b)
    assert details and all("listener=mx" in d and "reason=revoked" in d for d in details)
    sample = b.app.metrics.tls_peer_refusals.labels("mx", "revoked")._value.get()
    assert sample == len(details) == 2


async def test_a_revoked_application_certificate_is_refused_on_submission(
    operators, session_pki
) -> None:
    a = await operators("a", DOMAIN_A, session_pki.operator_a, configure=events_only)
    issued = own_pki(a).issue_application("Laboratoire revoque", "1000000009", "LABO")
    await bind_certificate(a.store, a.world.noreply, subject_dn=issued.subject_dn)

    async def external_session() -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=a.port("submission"),
                                 start_tls=False, timeout=30,
                                 tls_context=a.client_context(certificate=issued))
        await client.connect()
        await client.starttls()
        return client

    logged_in = await external_session()
    await logged_in.ehlo()
    response = await logged_in.execute_command(b"AUTH", b"EXTERNAL", b"=")
    assert response.code == 235

    await revoke(a, issued, announce=True)

    assert await refusal_of(lambda: logged_in.mail(a.world.noreply)) == reply_text(
        CERTIFICATE_REVOKED)
    fresh = await external_session()
    assert await refusal_of(fresh.ehlo) == reply_text(CERTIFICATE_REVOKED)
    assert all("listener=submission" in d for d in await refused_certificates(a))


async def test_a_revoked_application_certificate_is_refused_on_imap(
    operators, session_pki
) -> None:
    def configure(settings: Settings) -> None:
        events_only(settings)
        with_imaps(settings)

    a = await operators("a", DOMAIN_A, session_pki.operator_a, configure=configure)
    issued = own_pki(a).issue_application("Laboratoire IMAP", "1000000009", "LABO")
    await bind_certificate(a.store, a.world.noreply, subject_dn=issued.subject_dn)
    port = a.app.imap.addresses["imaps"][1]

    def connect() -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(a.settings.pki_dir / "ca-bundle.pem"))
        context.load_cert_chain(str(issued.chain_path), str(issued.key_path))
        return imaplib.IMAP4_SSL("localhost", port, ssl_context=context, timeout=30)

    def log_in(client: imaplib.IMAP4_SSL) -> str:
        typ, _ = client.authenticate("EXTERNAL", lambda _: b"")
        return typ

    open_client = await asyncio.to_thread(connect)
    assert "AUTH=EXTERNAL" in open_client.capabilities
    assert await asyncio.to_thread(log_in, open_client) == "OK"

    await revoke(a, issued, announce=True)

    with pytest.raises(imaplib.IMAP4.abort, match="revoked"):
        await asyncio.to_thread(open_client.select, "INBOX")
    with pytest.raises(imaplib.IMAP4.error, match="revoked"):
        await asyncio.to_thread(connect)  # `* BYE` instead of the greeting
    refused = a.app.metrics.tls_peer_refusals.labels("imap", "revoked")._value.get()
    assert refused == 2


async def test_a_trust_list_import_by_another_process_applies_to_the_next_session(
    operators, session_pki
) -> None:
    """The import runs on its own store, as `mss trust import` does: no event reaches
    the server on SQLite, its trust-list cache sees the newer import within a second."""
    from mss.directory.trust_store import import_trust_list
    from mss.policy import Cause
    from mss.policy.refusals import refusal
    from mss.store.store import Store
    from tests.smtp.conftest import trust_list_xml

    b = await operators("b", DOMAIN_B, session_pki.operator_b)
    before = await mx_session(b, session_pki.operator_a)
    assert (await before.mail(f"dr.a@{DOMAIN_A}")).code == 250
    await before.quit()
    cli = await Store.open(b.settings)
    try:
        only_b = trust_list_xml([(DOMAIN_B, session_pki.operator_b.subject_dn)])
        await import_trust_list(cli, only_b)
    finally:
        await cli.close()
    expected = reply_text(refusal(Cause.PEER_NOT_LISTED).smtp_reply())
    deadline = asyncio.get_running_loop().time() + RELOAD_BOUND
    while True:
        client = await mx_session(b, session_pki.operator_a)
        try:
            await client.mail(f"dr.a@{DOMAIN_A}")
        except aiosmtplib.SMTPResponseException as refused:
            assert (refused.code, refused.message) == expected
            break
        finally:
            client.close()
        assert asyncio.get_running_loop().time() < deadline, "the old trust list kept"


def replace_file(path, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """As a PKI job or an operator would: a new file renamed over the old one."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_bytes(data)
    fresh.replace(path)


async def test_a_ca_added_to_then_removed_from_the_bundle_applies_without_a_restart(
    operators, session_pki
) -> None:
    """The CA bundle is reloaded like the CRL (mss.certs.live_trust): a CA added reaches
    the next handshake; a CA removed refuses the next command of every session."""
    b = await operators("b", DOMAIN_B, session_pki.operator_b)
    live = b.app.live_trust
    assert live is not None
    paths = own_pki(b).paths
    bundle, crl = paths.ca_bundle.read_bytes(), paths.crl.read_bytes()
    foreign = session_pki.foreign.paths
    stranger = session_pki.foreign_operator  # A's DN, from a CA b does not trust yet
    with pytest.raises((ssl.SSLError, aiosmtplib.SMTPException, ConnectionError)):
        refused = await mx_session(b, stranger)
        await refused.mail(f"dr.a@{DOMAIN_A}")

    generation = live.generation
    replace_file(paths.crl, crl + foreign.crl.read_bytes())  # the new CA's CRL first
    replace_file(paths.ca_bundle, bundle + foreign.ca_bundle.read_bytes())
    await asyncio.wait_for(live.wait_for_generation(generation + 1), RELOAD_BOUND)
    open_session = await mx_session(b, stranger)  # the handshake now passes
    assert (await open_session.mail(f"dr.a@{DOMAIN_A}")).code == 250

    replace_file(paths.ca_bundle, bundle)  # the CA is no longer trusted
    await asyncio.wait_for(live.wait_for_generation(generation + 2), RELOAD_BOUND)
    assert await refusal_of(lambda: open_session.rcpt(b.world.bruno)) == reply_text(
        CERTIFICATE_UNKNOWN_CA)
    fresh = await mx_session(b, stranger)
    assert await refusal_of(lambda: fresh.mail(f"dr.a@{DOMAIN_A}")) == reply_text(
        CERTIFICATE_UNKNOWN_CA)
    # the operator's own peers are untouched
    other = await mx_session(b, session_pki.operator_a)
    assert (await other.mail(f"dr.a@{DOMAIN_A}")).code == 250
    await other.quit()
    details = await refused_certificates(b)
    assert len(details) == 2 and all("reason=unknown_ca" in d for d in details)


def presented_certificate(operator: Operator) -> bytes:
    """The certificate (DER) the operator's IMAPS listener presents in a new handshake."""
    context = ssl.create_default_context(cafile=str(operator.settings.pki_dir /
                                                    "ca-bundle.pem"))
    context.check_hostname = False
    port = operator.app.imap.addresses["imaps"][1]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, \
            context.wrap_socket(raw) as tls:
        certificate = tls.getpeercert(binary_form=True)
    assert certificate is not None
    return certificate


async def test_a_new_server_certificate_is_presented_at_the_next_handshake(
    operators, session_pki
) -> None:
    """Written beside the running process (as `mss certs` or the node-file pass does): a
    chain without its key yet keeps the pair in force; once both are there, the next
    handshake presents the new certificate, and the relay makes its client context
    again."""
    def configure(settings: Settings) -> None:
        events_only(settings)
        with_imaps(settings)

    a = await operators("a", DOMAIN_A, session_pki.operator_a, configure=configure)
    live = a.app.live_trust
    assert live is not None
    der = Encoding.DER
    installed = session_pki.operator_a.load_certificate().public_bytes(der)
    assert await asyncio.to_thread(presented_certificate, a) == installed
    relay_context = a.worker.tls_context
    generation = live.generation
    renewed = own_pki(a).issue_operator(f"mx.{DOMAIN_A}", "1000000001", ORGANISATION,
                                        "Paris (75)")
    paths = own_pki(a).paths

    write_public_file(paths.server_chain, renewed.chain_path.read_bytes())
    assert not await asyncio.to_thread(live.reload)  # the key does not match the chain
    assert await asyncio.to_thread(presented_certificate, a) == installed

    replace_private_file(paths.server_key, renewed.key_path.read_bytes())
    live.changed()
    await asyncio.wait_for(live.wait_for_generation(generation + 1), RELOAD_BOUND)
    assert await asyncio.to_thread(presented_certificate, a) == \
        renewed.load_certificate().public_bytes(der)
    assert a.worker.tls_context is not relay_context
