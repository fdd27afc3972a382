"""Node files travel between running nodes through the database (issue 24 §3,
mss.store.node_file_sync): two nodes, each with its own data folder, one PostgreSQL.

A certificate revoked on node A by `mss certs revoke` (the CLI, as an operator runs
it) is refused by node B's MX after B's node-file pass: at the next command of a
session open before, and at the first command of a new one. A server certificate and a
DKIM key renewed on node A are, after the passes, the certificate B's listeners present
at the next handshake and the key B signs with. The passes are driven by the test and
the reloads awaited on the live trust's generation, never on time."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiosmtplib
import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding

from mss.app import App
from mss.certs import DevPki, IssuedCertificate, ca_client_context
from mss.certs.dkim_keys import public_value
from mss.certs.key_files import private_key_pem, replace_private_file
from mss.certs.live_trust import LiveTrust
from mss.certs.server_pki import LOCAL_NAMES
from mss.clock import ManualClock
from mss.config import Settings
from mss.directory.trust_store import import_trust_list
from mss.smtp.outbound_worker import QueueWorker
from mss.smtp.replies import CERTIFICATE_REVOKED
from mss.store.node_file_sync import NodeFileSync
from tests.conftest import PG_URL
from tests.smtp.conftest import trust_list_xml

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL")
ROOT = Path(__file__).parents[2]
DOMAIN = "mss-a.localhost"
PEER = "mss-b.localhost"
ORGANISATION = "MSS TEST OPERATOR"
RELOAD_BOUND = 60.0  # seconds: a safety net on a loaded machine, not the synchronisation


def node_settings(make_settings: Callable[..., Settings], name: str,
                  first: Settings | None = None) -> Settings:
    """One operator's node: MX and IMAPS on free ports; no file check nor periodic pass
    within the test (only the passes it drives and the change events move files)."""
    zero = {"port": 0, "host": "127.0.0.1"}
    off = {"enabled": False}
    overrides: dict[str, object] = {
        "server": {"hostname": f"mx.{DOMAIN}", "domain": DOMAIN,
                   "patient_domain": f"patient.{DOMAIN}", "node_id": name},
        "listeners": {"mx": zero, "submission": off, "submissions": off, "imap": off,
                      "imaps": zero, "http": off},
        "trust": {"crl_check_seconds": 3600, "node_files_seconds": 3600},
    }
    if first is not None:
        overrides["database"] = {"url": first.database_url}
    settings = make_settings(name, **overrides)
    if first is not None:  # a node made from the database URL and the master key alone
        shutil.copy(first.master_key_path, settings.master_key_path)
    return settings


@pytest.fixture
async def nodes(make_settings) -> AsyncIterator[Callable[..., object]]:
    started: list[App] = []

    async def start(name: str, first: App | None = None) -> App:
        app = App(node_settings(make_settings, name, first.settings if first else None),
                  clock=ManualClock(), queue_worker=False)
        started.append(app)
        await app.start()
        return app

    yield start
    for app in reversed(started):
        await app.stop()


def node_files(app: App) -> NodeFileSync:
    assert app.node_files is not None, "a clustered main process runs the node-file pass"
    return app.node_files


def live_trust(app: App) -> LiveTrust:
    assert app.live_trust is not None
    return app.live_trust


async def mx_session(node: App, certificate: IssuedCertificate) -> aiosmtplib.SMTP:
    context = ca_client_context(node.settings.pki_dir / "ca-bundle.pem",
                                cert_chain=certificate.chain_path, key=certificate.key_path)
    context.check_hostname = False
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=node.smtp.listeners["mx"].port,
                             start_tls=False, tls_context=context, timeout=30)
    await client.connect()
    await client.starttls()
    return client


async def refusal_of(command: Callable[[], object]) -> str:
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await command()  # type: ignore[misc]
    return f"{refused.value.code} {refused.value.message}"


async def mss_cli(node: App, *args: str) -> str:
    """`mss --data <node> ARGS` beside the running node."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSS_")}
    env.update({"PYTHONPATH": str(ROOT), "MSS_DATABASE__URL": node.settings.database_url})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mss", "--data", str(node.settings.data_dir), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()



async def pass_on_b_then_reload(b: App, generation: int) -> None:
    await node_files(b).sync_now()
    await asyncio.wait_for(live_trust(b).wait_for_generation(generation + 1), RELOAD_BOUND)


async def test_a_certificate_revoked_on_node_a_is_refused_by_node_b_after_its_pass(
    nodes,
) -> None:
    a: App = await nodes("node-a")
    peer = DevPki.load(a.settings.pki_dir).issue_operator(
        f"mx.{PEER}", "1000000002", ORGANISATION, "Paris (75)")
    assert a.store is not None
    await import_trust_list(a.store, trust_list_xml([(PEER, peer.subject_dn)]))
    b: App = await nodes("node-b", a)
    assert (b.settings.pki_dir / "crl.pem").read_bytes() == \
        (a.settings.pki_dir / "crl.pem").read_bytes()
    open_session = await mx_session(b, peer)
    assert (await open_session.mail(f"dr.b@{PEER}")).code == 250
    generation = live_trust(b).generation

    told = await mss_cli(a, "certs", "revoke", peer.serial_hex)
    assert "sealed in the database" in told, told
    await pass_on_b_then_reload(b, generation)

    assert (b.settings.pki_dir / "crl.pem").read_bytes() == \
        (a.settings.pki_dir / "crl.pem").read_bytes()
    assert await refusal_of(lambda: open_session.rcpt(f"someone@{DOMAIN}")) == \
        CERTIFICATE_REVOKED
    fresh = await mx_session(b, peer)
    assert await refusal_of(lambda: fresh.mail(f"dr.b@{PEER}")) == CERTIFICATE_REVOKED
    refused = b.metrics.tls_peer_refusals.labels("mx", "revoked")._value.get()
    assert refused == 2


def presented_certificate(node: App) -> bytes:
    """The certificate (DER) node's IMAPS listener presents in a new handshake."""
    context = ssl.create_default_context(cafile=str(node.settings.pki_dir / "ca-bundle.pem"))
    context.check_hostname = False
    port = node.imap.addresses["imaps"][1]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw, \
            context.wrap_socket(raw) as tls:
        certificate = tls.getpeercert(binary_form=True)
    assert certificate is not None
    return certificate


def dkim_verifies(signed: bytes, record: str) -> bool:
    return bool(dkim.verify(signed, dnsfunc=lambda name, timeout=5: record.encode()))


async def test_a_server_certificate_and_dkim_key_renewed_on_node_a_are_used_by_node_b(
    nodes,
) -> None:
    a: App = await nodes("node-a")
    b: App = await nodes("node-b", a)
    old_certificate = await asyncio.to_thread(presented_certificate, b)
    worker_b = b.smtp.worker
    assert isinstance(worker_b, QueueWorker)
    selector = worker_b.options.dkim_selector
    raw = (f"From: <dr.a@{DOMAIN}>\r\nTo: <x@{PEER}>\r\nSubject: signed\r\n"
           "Message-ID: <renewed@test>\r\n\r\nBonjour.\r\n").encode()
    old_record = (a.settings.data_dir / "dkim" / f"{selector}.dkim.txt").read_text().strip()
    assert dkim_verifies(worker_b.signer.sign(raw), old_record)
    generation = live_trust(b).generation

    # on A: a new server certificate installed, the Ed25519 DKIM key replaced
    pki = DevPki.load(a.settings.pki_dir)
    renewed = pki.issue_operator(a.settings.server.hostname, "0000000000", ORGANISATION,
                                 "Paris (75)", extra_dns_names=LOCAL_NAMES)
    pki.install_server_certificate(renewed)
    new_key = ed25519.Ed25519PrivateKey.generate()
    replace_private_file(a.settings.data_dir / "dkim" / f"{selector}.dkim.key",
                         private_key_pem(new_key))
    published = set((await node_files(a).sync_now()).published)
    assert {"pki/server-chain.pem", "pki/private/server.key",
            f"dkim/{selector}.dkim.key"} <= published

    await pass_on_b_then_reload(b, generation)

    renewed_der = renewed.load_certificate().public_bytes(Encoding.DER)
    assert await asyncio.to_thread(presented_certificate, b) == renewed_der != old_certificate
    signed = await asyncio.to_thread(worker_b.signer.sign, raw)
    new_record = f"v=DKIM1; k=ed25519; p={public_value(new_key)}"
    assert dkim_verifies(signed, new_record)
    assert not dkim_verifies(signed, old_record)


async def test_a_certificate_issued_on_a_node_keeps_a_revocation_made_on_another(
    nodes,
) -> None:
    """`mss certs issue` on A after a certificate issued and revoked on B that A's
    folder never saw: the issue is made over the cluster's index (brought first), so
    the revocation stays in the index every later CRL is signed from."""
    a: App = await nodes("node-a")
    b: App = await nodes("node-b", a)
    await a.stop()  # no pass of A's between: only the CLI can bring B's change to A
    issued = DevPki.load(b.settings.pki_dir).issue_application("Labo B", "1000000009", "LABO")
    await mss_cli(b, "certs", "revoke", issued.serial_hex)

    out = await mss_cli(a, "certs", "issue", "application", "--name", "Labo A",
                        "--structure-id", "1000000010", "--org", "LABO")
    assert "serial:" in out
    on_a = {i.subject_dn: i.revoked_at for i in DevPki.load(a.settings.pki_dir).issued()}
    assert on_a[issued.subject_dn] is not None
    assert any("Labo A" in dn for dn in on_a)
    await node_files(b).sync_now()
    on_b = {i.subject_dn: i.revoked_at for i in DevPki.load(b.settings.pki_dir).issued()}
    assert on_b == on_a
