"""`mss backup` while SMTP clients deliver, then `mss restore`: the same operator back.

Every message acknowledged (250) before the backup began is in the restored store with
its UID under the same UIDVALIDITY; `mss verify` is clean on the restored folder (blobs,
references, audit chain); the restored node presents the same server certificate to a
TLS client, and keeps the same CA and DKIM keys. On PostgreSQL the database part is
pg_dump then psql into a new, empty database.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from pathlib import Path

import aiosmtplib
import pytest

from mss.app import App
from mss.cli import main
from mss.clock import ManualClock
from mss.config import load_settings
from mss.store.backup import BackupError, backup, restore
from mss.store.mailboxes import find_mailbox
from tests.conftest import PG_URL, _pg_url_for, pg_admin
from tests.hardening.conftest import Node, NodeFactory, node_overrides

CLIENTS = 3


async def _inbox(store, address: str) -> tuple[int, dict[str, int]]:
    """UIDVALIDITY of the INBOX and subject -> UID."""
    async with store.reading() as session:
        mailbox = await find_mailbox(session, address)
        folder = await store.mail.folders.named(session, mailbox.id, "INBOX")
        entries = await store.mail.reads.entries(session, folder.id)
    return folder.uidvalidity, {e.subject: e.uid for e in entries}


async def _load(node: Node, client_no: int, acked: list[tuple[str, bool]],
                backup_started: asyncio.Event, stop: asyncio.Event,
                enough: asyncio.Event) -> None:
    """One submission session sending until told to stop; notes each 250 and whether it
    came before the backup began."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=node.port("submission"),
                             start_tls=False, tls_context=node.client_context(), timeout=60)
    await client.connect()
    await client.starttls()
    await client.login(node.world.alice, node.world.password)
    n = 0
    try:
        while not stop.is_set():
            subject = f"backup load {client_no}-{n}"
            raw = (f"From: <{node.world.alice}>\r\nTo: <{node.world.bruno}>\r\n"
                   f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@t>\r\n\r\n"
                   ).encode() + b"x" * 70 + b"\r\n" * (n % 7 + 1)
            errors, _ = await client.sendmail(node.world.alice, [node.world.bruno], raw)
            assert not errors  # a 250 for the message: it must survive a backup
            acked.append((subject, not backup_started.is_set()))
            n += 1
            if len(acked) >= 10 * CLIENTS:
                enough.set()
    finally:
        client.close()


def _restore_settings(tmp_path: Path, name: str) -> tuple[object, str]:
    url = ""
    if PG_URL:
        db = f"mss_r_{uuid.uuid4().hex[:12]}"
        pg_admin(f'CREATE DATABASE "{db}"')
        url = _pg_url_for(db)
    overrides = node_overrides(name)
    overrides["data_dir"] = str(tmp_path / name)
    if url:
        overrides["database"] = {"url": url}
    return load_settings(environ={}, overrides=overrides), url


async def test_backup_under_load_then_restore(nodes: NodeFactory, tmp_path, monkeypatch,
                                              capsys) -> None:
    node = await nodes("node")
    settings = node.app.settings
    acked: list[tuple[str, bool]] = []
    started, stop, enough = asyncio.Event(), asyncio.Event(), asyncio.Event()
    load = [asyncio.ensure_future(_load(node, n, acked, started, stop, enough))
            for n in range(CLIENTS)]
    await enough.wait()
    started.set()
    report = await asyncio.to_thread(backup, settings, tmp_path / "backup")
    during = len(acked)
    stop.set()
    await asyncio.gather(*load)
    assert len(acked) > during  # the clients kept delivering through the backup
    assert not report.key_copied
    assert (tmp_path / "backup" / "data" / "pki").is_dir()
    assert (tmp_path / "backup" / "data" / "dkim").is_dir() or not (
        settings.data_dir / "dkim").exists()
    before = [subject for subject, early in acked if early]
    assert len(before) >= 10 * CLIENTS

    original_validity, original_uids = await _inbox(node.store, node.world.bruno)
    restored_settings, url = _restore_settings(tmp_path, "restored")
    with pytest.raises(BackupError, match="master key is not in this backup"):
        await restore(tmp_path / "backup", restored_settings)
    assert not (tmp_path / "restored").exists()
    done = await restore(tmp_path / "backup", restored_settings,
                         key_file=settings.master_key_path)
    assert done.data_dir == tmp_path / "restored"

    if url:
        monkeypatch.setenv("MSS_DATABASE__URL", url)
    assert await asyncio.to_thread(main, ["--data", str(tmp_path / "restored"), "verify"]) == 0
    assert "verify: OK" in capsys.readouterr().out

    pki_files = [p for p in (settings.data_dir / "pki").rglob("*")
                 if p.is_file() and not p.name.startswith(".")]
    assert any(p.name == "server-chain.pem" for p in pki_files)
    for original in [*pki_files, *(settings.data_dir / "dkim").glob("*")]:
        restored = tmp_path / "restored" / original.relative_to(settings.data_dir)
        assert restored.read_bytes() == original.read_bytes(), original

    app = App(restored_settings, clock=ManualClock())
    app.queue_worker = False
    await app.start()
    try:
        assert app.store is not None
        validity, uids = await _inbox(app.store, node.world.bruno)
        assert validity == original_validity
        for subject in before:
            assert uids.get(subject) == original_uids[subject], subject
        assert set(uids) <= set(original_uids)
        restored_port = Node(app, node.world, node.pki).port("submission")
        peer_original = await _server_certificate(node.port("submission"), node)
        peer_restored = await _server_certificate(restored_port, node)
        assert peer_restored == peer_original
    finally:
        await app.stop()
    if url:
        pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def _server_certificate(port: int, node: Node) -> bytes:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                             tls_context=node.client_context(), timeout=60)
    await client.connect()
    try:
        await client.starttls()
        transport = client.transport
        assert transport is not None
        tls: ssl.SSLObject = transport.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True)
        assert der
        return der
    finally:
        client.close()


def test_backup_and_restore_refuse_what_they_must(make_settings, tmp_path, capsys,
                                                  monkeypatch) -> None:
    settings = make_settings()
    if PG_URL:
        monkeypatch.setenv("MSS_DATABASE__URL", settings.database_url)
    data = ["--data", str(settings.data_dir)]
    existing = tmp_path / "file"
    existing.write_text("x")
    assert main([*data, "backup", str(existing)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    full = tmp_path / "full"
    full.mkdir()
    (full / "a").write_text("x")
    assert main([*data, "backup", str(full)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main([*data, "backup", str(tmp_path / "b"), "--with-key"]) == 0
    capsys.readouterr()
    assert main(["--data", str(settings.data_dir), "restore", str(tmp_path / "b")]) == 1
    assert "restore target" in capsys.readouterr().err  # never over a live folder
    assert main(["--data", str(tmp_path / "r"), "restore", str(full)]) == 1
    assert "not an MSS backup" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
