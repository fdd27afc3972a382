"""An attacker with the database (not the master key) cannot rewrite the audit trail
unnoticed: edits, deletions, reorderings and a cut-off end are named by
`mss audit verify` and `mss verify` in one line with a non-zero exit (issue 17 §6).

The tampering is done for real, from outside MSS: plain SQL on a connection of its own
(sqlite3 on the file, asyncpg on PostgreSQL), recomputing the rows' hashes as an
attacker who knows the algorithm but not the key would.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from mss.cli import main
from mss.identity import Principal, PrincipalKind
from mss.store.audit import row_hash, verify_chain
from mss.store.audit_actions import AuditAction
from mss.store.audit_checkpoints import AuditCheckpointer
from mss.store.store import Store

DOCTOR = Principal(PrincipalKind.PROFESSIONAL, "10001234567", "Dr Martin")
COLUMNS = "seq, at, principal, action, target, outcome, subject, detail, prev_hash, hash"


class RawDatabase:
    """The attacker's own connection: `?` placeholders, run outside the store."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def run(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            return await asyncio.to_thread(self._sqlite, sql, args)
        import asyncpg

        n = 0

        def number(_: Any) -> str:
            nonlocal n
            n += 1
            return f"${n}"

        import re

        conn = await asyncpg.connect(self.url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await conn.fetch(re.sub(r"\?", number, sql), *args)
        finally:
            await conn.close()
        return [tuple(r) for r in rows]

    def _sqlite(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(make_url(self.url).database or "")
        try:
            rows = conn.execute(sql, args).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    async def rows(self) -> list[tuple[Any, ...]]:
        return await self.run(f"SELECT {COLUMNS} FROM audit_events ORDER BY seq")

    async def rehash_plainly(self, from_seq: int) -> None:
        """Recompute hashes from `from_seq` on and move the head, as one without the key."""
        rows = await self.rows()
        previous = next((r[9] for r in rows if r[0] == from_seq - 1), "0" * 64)
        for row in rows:
            seq = row[0]
            if seq < from_seq:
                continue
            at = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(row[1])
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            digest = row_hash(seq=seq, at=at, principal=row[2], action=row[3], target=row[4],
                              outcome=row[5], subject=row[6], detail=row[7], prev_hash=previous)
            await self.run("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?",
                           previous, digest, seq)
            previous = digest
        last = max(r[0] for r in rows)
        await self.run("UPDATE audit_head SET seq = ?, hash = ?", last, previous)


async def _write_rows(store: Store, n: int) -> None:
    for i in range(n):
        async def job(uow: Any, i: int = i) -> None:
            uow.audit(AuditAction.MESSAGE_READ, DOCTOR, target=f"msg:{i + 1}",
                      subject="279035121518989", detail=f"n={i + 1}")

        await store.write(job)


async def _checkpoint(store: Store) -> None:
    writer = AuditCheckpointer(store.settings.audit_checkpoint_path, store.audit_seal,
                               store.clock, "node-a")
    async with store.reading() as session:
        assert await writer.write_now(session) is not None


async def _cli(store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("MSS_DATABASE__URL", store.settings.database_url)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["--data", str(store.settings.data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def trail(store: Store) -> tuple[Store, RawDatabase]:
    await _write_rows(store, 6)
    await _checkpoint(store)
    return store, RawDatabase(store.settings.database_url)


async def test_an_untouched_trail_verifies(trail, monkeypatch, capsys) -> None:
    store, _ = trail
    code, out, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
    assert code == 0, err
    assert out.startswith("audit chain: OK, 6 rows, 1 signed checkpoint(s), key ed25519:")


async def _edit_and_rehash(db: RawDatabase) -> None:
    await db.run("UPDATE audit_events SET principal = 'professional:someone-else' "
                 "WHERE seq = 3")
    await db.rehash_plainly(3)


async def _delete_one(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events WHERE seq = 3")


async def _delete_and_renumber(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events WHERE seq = 3")
    for seq in (4, 5, 6):
        await db.run("UPDATE audit_events SET seq = ? WHERE seq = ?", seq - 1, seq)
    await db.rehash_plainly(3)


async def _swap_two(db: RawDatabase) -> None:
    rows = {r[0]: r for r in await db.rows()}
    for here, there in ((2, 4), (4, 2)):
        await db.run("UPDATE audit_events SET target = ?, detail = ? WHERE seq = ?",
                     rows[there][4], rows[there][7], here)


async def _cut_the_end(db: RawDatabase) -> None:
    rows = {r[0]: r for r in await db.rows()}
    await db.run("DELETE FROM audit_events WHERE seq > 4")
    await db.run("UPDATE audit_head SET seq = 4, hash = ?", rows[4][9])


async def _claim_it_was_never_keyed(db: RawDatabase) -> None:
    await db.run("UPDATE audit_head SET keyed_from = 100")
    await db.rehash_plainly(1)


async def _empty_the_table(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events")
    await db.run("DELETE FROM audit_head")


TAMPERINGS = [
    (_edit_and_rehash, "audit row 3: edited: its MAC does not match"),
    (_delete_one, "audit row 3: row 3 is missing (deleted)"),
    (_delete_and_renumber, "audit row 3: edited: its MAC does not match"),
    (_swap_two, "audit row 2: edited: its MAC does not match"),
    (_cut_the_end, "audit row 5: the chain ends at row 4 but the signed checkpoint"),
    (_claim_it_was_never_keyed, "audit row 6: differs from the signed checkpoint"),
    (_empty_the_table, "audit row 1: the chain ends at row 0 but the signed checkpoint"),
]


@pytest.mark.parametrize(("tamper", "first_line"), TAMPERINGS,
                         ids=[t.__name__.strip("_") for t, _ in TAMPERINGS])
async def test_tampering_is_named_in_one_line(trail, monkeypatch, capsys, tamper,
                                              first_line) -> None:
    store, db = trail
    await tamper(db)
    code, out, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"mss: {first_line}"), err
    code, out, _ = await _cli(store, monkeypatch, capsys, "verify")
    assert code == 1
    faults = [line for line in out.splitlines() if line.startswith("FAULT ")]
    assert faults[0].startswith(f"FAULT {first_line}"), out


async def test_truncation_after_the_last_checkpoint_is_the_documented_window(trail) -> None:
    """Rows written after the last checkpoint can vanish unnoticed (docs/audit.md: at most
    one checkpoint interval); the ones it saw cannot."""
    store, db = trail
    await _write_rows(store, 2)  # rows 7 and 8, not checkpointed
    rows = {r[0]: r for r in await db.rows()}
    await db.run("DELETE FROM audit_events WHERE seq > 6")
    await db.run("UPDATE audit_head SET seq = 6, hash = ?", rows[6][9])
    async with store.reading() as session:
        assert await verify_chain(session, store.audit_seal) == []


async def test_a_forged_checkpoint_line_is_refused(trail, monkeypatch, capsys) -> None:
    store, _ = trail
    path = store.settings.audit_checkpoint_path
    line = path.read_text().splitlines()[0].replace('"seq":6', '"seq":60')
    path.write_text(path.read_text() + line + "\n")
    code, _, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
    assert code == 1
    assert err.startswith("mss: ") and "line 2: signature does not verify" in err
    assert err.count("\n") == 1


async def test_a_checkpoint_of_another_key_is_refused(trail, make_settings, clock,
                                                      monkeypatch, capsys) -> None:
    store, _ = trail
    other = await Store.open(make_settings("other"), clock=clock)
    try:
        await _write_rows(other, 1)
        await _checkpoint(other)
        foreign = other.settings.audit_checkpoint_path.read_text()
    finally:
        await other.close()
    path = store.settings.audit_checkpoint_path
    path.write_text(path.read_text() + foreign)
    code, _, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
    assert code == 1 and "signature does not verify" in err


async def test_rows_keep_verifying_after_a_checkpoint_and_more_writes(trail) -> None:
    store, _ = trail
    await _write_rows(store, 3)
    await _checkpoint(store)
    async with store.reading() as session:
        assert await verify_chain(session, store.audit_seal) == []
    lines = store.settings.audit_checkpoint_path.read_text().splitlines()
    assert len(lines) == 2 and '"seq":9' in lines[1]


async def test_an_unmoved_head_writes_no_new_checkpoint(trail) -> None:
    store, _ = trail
    writer = AuditCheckpointer(store.settings.audit_checkpoint_path, store.audit_seal,
                               store.clock, "node-a")
    async with store.reading() as session:
        assert await writer.write_now(session) is not None
        assert await writer.write_now(session) is None



async def test_rows_from_before_the_key_verify_and_stay_guarded(make_settings, clock) -> None:
    """Schema 0011 keys the chain from the row after the head; the plain rows before it
    still verify, and rewriting them breaks the first keyed row."""
    from sqlalchemy import text

    from mss.store import schema
    from mss.store.audit import check_chain
    from mss.store.db import create_engine
    from tests.conftest import PG_URL, _pg_url_for, pg_admin

    database = ""
    if PG_URL:
        database = f"mss_t_{uuid.uuid4().hex[:12]}"
        pg_admin(f'CREATE DATABASE "{database}"')
        settings = make_settings("legacy", database={"url": _pg_url_for(database)})
    else:
        settings = make_settings("legacy")
        (settings.data_dir / "mss.db").unlink()
    try:
        engine = create_engine(settings.database_url)
        await schema.upgrade(engine, "0010")
        previous = "0" * 64
        async with engine.begin() as conn:
            for seq in (1, 2, 3):
                at = clock.now()
                values = dict(seq=seq, at=at, principal="system:mss", action="server.started",
                              target="old", outcome="ok", subject="", detail="")
                digest = row_hash(prev_hash=previous, **values)  # type: ignore[arg-type]
                await conn.execute(text(
                    "INSERT INTO audit_events (seq, at, principal, action, target, outcome, "
                    "subject, detail, prev_hash, hash) VALUES (:seq, :at, :principal, :action, "
                    ":target, :outcome, :subject, :detail, :prev, :hash)"),
                    {**values, "at": at if PG_URL else at.replace(tzinfo=None),
                     "prev": previous, "hash": digest})
                previous = digest
            await conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :h)"),
                               {"h": previous})
        await schema.upgrade(engine)
        await engine.dispose()
        store = await Store.open(settings, clock=clock)
        try:
            await _write_rows(store, 2)
            async with store.reading() as session:
                report = await check_chain(session, store.audit_seal)
            assert report.ok and report.keyed_from == 4 and report.rows == 5
            db = RawDatabase(settings.database_url)
            await db.run("UPDATE audit_events SET target = 'rewritten' WHERE seq = 2")
            async with store.reading() as session:
                assert (await check_chain(session, store.audit_seal)).first_fault().startswith(
                    "audit row 2: edited: its hash does not match")
            await db.rehash_plainly(2)  # a consistent plain rewrite up to the head
            async with store.reading() as session:
                assert (await check_chain(session, store.audit_seal)).first_fault().startswith(
                    "audit row 4: edited: its MAC does not match")
        finally:
            await store.close()
    finally:
        if database:
            pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
