"""Faults give one clear line naming the file, never a traceback, and overwrite nothing."""

from __future__ import annotations

import asyncio
import os
import secrets

from sqlalchemy import text

from mss.cli import main
from mss.store.mailboxes import INBOX
from tests.store.conftest import deliver, make_mailbox, sample_message


def _cli(settings, *argv: str) -> list[str]:
    return ["--data", str(settings.data_dir), *argv]


async def _store_with_one_message(store) -> tuple[int, str]:
    mailbox = await make_mailbox(store, "bob@mss.localhost")
    await deliver(store, mailbox, sample_message(1))
    async with store.reading() as session:
        inbox = await store.mail.folders.named(session, mailbox, INBOX)
        entry = (await store.mail.reads.entries(session, inbox.id))[0]
    return mailbox, entry.blob_key


def _run_cli(argv: list[str], settings) -> int:
    """The CLI runs its own event loop: tests call this from a worker thread."""
    saved = os.environ.get("MSS_DATABASE__URL")
    os.environ["MSS_DATABASE__URL"] = settings.database_url
    try:
        return main(argv)
    finally:
        if saved is None:
            os.environ.pop("MSS_DATABASE__URL", None)
        else:
            os.environ["MSS_DATABASE__URL"] = saved


async def test_verify_passes_on_a_healthy_store(store, capsys) -> None:
    await _store_with_one_message(store)
    code = await asyncio.to_thread(_run_cli, _cli(store.settings, "verify"), store.settings)
    out = capsys.readouterr().out
    assert code == 0 and "verify: OK" in out and "blobs checked: 1" in out


async def test_corrupted_blob_is_reported_with_its_place(store, capsys) -> None:
    mailbox, blob_key = await _store_with_one_message(store)
    path = store.blobs.path_for(mailbox, blob_key)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    code = await asyncio.to_thread(_run_cli, _cli(store.settings, "verify"), store.settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "FAULT message" in out and "fails authentication" in out and str(path) in out


async def test_tampered_sealed_header_is_reported(store, capsys) -> None:
    from sqlalchemy import update

    from mss.store.tables import StoredMessage

    await _store_with_one_message(store)

    async def tamper(uow):
        await uow.session.execute(update(StoredMessage).values(sealed_header=b"\x00" * 40))
    await store.write(tamper)
    code = await asyncio.to_thread(_run_cli, _cli(store.settings, "verify"), store.settings)
    out = capsys.readouterr().out
    assert code == 1 and "sealed header fails authentication" in out


async def test_missing_blob_is_reported(store, capsys) -> None:
    mailbox, blob_key = await _store_with_one_message(store)
    store.blobs.path_for(mailbox, blob_key).unlink()
    code = await asyncio.to_thread(_run_cli, _cli(store.settings, "verify"), store.settings)
    assert code == 1 and "blob is missing" in capsys.readouterr().out


async def test_wrong_master_key_is_one_clear_line(store, capsys) -> None:
    await _store_with_one_message(store)
    key_path = store.settings.master_key_path
    key_path.write_text(secrets.token_hex(32))
    code = await asyncio.to_thread(_run_cli, _cli(store.settings, "verify"), store.settings)
    captured = capsys.readouterr()
    assert code == 1
    assert "wrong master key" in captured.out
    assert "Traceback" not in captured.err + captured.out


async def test_newer_schema_is_refused_and_left_untouched(store, capsys) -> None:
    async def future(uow):
        await uow.session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await store.write(future)
    code = await asyncio.to_thread(_run_cli, _cli(store.settings, "verify"), store.settings)
    err = capsys.readouterr().err
    assert code == 1 and "newer than this MSS" in err
    async with store.reading() as session:
        version = (await session.execute(text("SELECT version_num FROM alembic_version")))
        assert version.scalar_one() == "9999"


def test_unreadable_config_names_the_file(tmp_path, capsys) -> None:
    bad = tmp_path / "mss.toml"
    bad.write_text("[server\nhostname = ")
    assert main(["--config", str(bad), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "not valid TOML" in err and "Traceback" not in err


def test_every_config_problem_is_reported_at_once(tmp_path, capsys) -> None:
    bad = tmp_path / "mss.toml"
    bad.write_text("[listeners.mx]\nport = 70000\n[limits]\nmax_recipients = 'many'\n"
                   "[server]\nhostnam = 'x'\n")
    assert main(["--config", str(bad), "config", "check"]) == 1
    err = capsys.readouterr().err
    assert "listeners.mx.port" in err and "max_recipients" in err and "hostnam" in err


def test_config_example_is_loadable(tmp_path, capsys) -> None:
    assert main(["config", "example"]) == 0
    example = tmp_path / "example.toml"
    example.write_text(capsys.readouterr().out)
    assert main(["--config", str(example), "config", "check"]) == 0


def test_verify_without_key_file(tmp_path, capsys) -> None:
    (tmp_path / "none").mkdir()
    assert main(["--data", str(tmp_path / "none"), "verify"]) == 1
    assert "master key file is missing" in capsys.readouterr().err
