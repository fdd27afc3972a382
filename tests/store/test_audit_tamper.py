"""An attacker with the database (not the master key) cannot rewrite the audit trail
unnoticed: edits, deletions, reorderings and a cut-off end are named by
`mss audit verify` and `mss verify` in one line with a non-zero exit (issue 17 §6).

The tampering is done for real, from outside MSS: plain SQL on a connection of its own
(sqlite3 on the file, asyncpg on PostgreSQL), recomputing the rows' hashes as an
attacker who knows the algorithm but not the key would.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from mss.cli import main
from mss.config import Settings
from mss.identity import Principal, PrincipalKind
from mss.store.audit import AuditSeal, row_body, row_hash
from mss.store.audit_actions import AuditAction
from mss.store.audit_checkpoints import AuditCheckpointer, read_checkpoints
from mss.store.audit_verify import verify_chain
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

    async def rows(self, chain: str) -> list[tuple[Any, ...]]:
        return await self.run(f"SELECT {COLUMNS} FROM audit_events WHERE chain = ? "
                              "ORDER BY seq", chain)

    async def rehash_plainly(self, chain: str, from_seq: int) -> None:
        """Recompute a chain's hashes from `from_seq` on and move its head, as one
        without the key."""
        rows = await self.rows(chain)
        previous = next((r[9] for r in rows if r[0] == from_seq - 1), "0" * 64)
        for row in rows:
            seq = row[0]
            if seq < from_seq:
                continue
            at = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(row[1])
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            digest = row_hash(seq=seq, at=at, principal=row[2], action=row[3], target=row[4],
                              outcome=row[5], subject=row[6], detail=row[7], prev_hash=previous)
            await self.run("UPDATE audit_events SET prev_hash = ?, hash = ? "
                           "WHERE chain = ? AND seq = ?", previous, digest, chain, seq)
            previous = digest
        last = max(r[0] for r in rows)
        await self.run("UPDATE audit_heads SET seq = ?, hash = ? WHERE chain = ?",
                       last, previous, chain)


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
        assert await writer.write_now(session) != []


async def _cli(store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("MSS_DATABASE__URL", store.settings.database_url)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["--data", str(store.settings.data_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def trail(store: Store) -> AsyncIterator[tuple[Store, RawDatabase]]:
    """Two nodes on one database, six rows in each node's chain, written at once; node
    A's checkpoint covers both heads."""
    other = await Store.open(store.settings, clock=store.clock)
    store.node_id, other.node_id = "node-a", "node-b"
    try:
        await asyncio.gather(_write_rows(store, 6), _write_rows(other, 6))
    finally:
        await other.close()
    await _checkpoint(store)
    yield store, RawDatabase(store.settings.database_url)


async def test_an_untouched_trail_verifies(trail, monkeypatch, capsys) -> None:
    store, db = trail
    code, out, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
    assert code == 0, err
    assert out.startswith("audit chain: OK, 12 rows in 2 chain(s), 1 signed checkpoint(s), "
                          "key ed25519:")
    heads = await db.run("SELECT chain, seq FROM audit_heads ORDER BY chain")
    assert heads == [("node-a", 6), ("node-b", 6)]  # no head row shared by the nodes


async def _edit_and_rehash(db: RawDatabase) -> None:
    await db.run("UPDATE audit_events SET principal = 'professional:someone-else' "
                 "WHERE chain = 'node-b' AND seq = 3")
    await db.rehash_plainly("node-b", 3)


async def _delete_one(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events WHERE chain = 'node-b' AND seq = 3")


async def _delete_and_renumber(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events WHERE chain = 'node-b' AND seq = 3")
    for seq in (4, 5, 6):
        await db.run("UPDATE audit_events SET seq = ? WHERE chain = 'node-b' AND seq = ?",
                     seq - 1, seq)
    await db.rehash_plainly("node-b", 3)


async def _swap_two(db: RawDatabase) -> None:
    rows = {r[0]: r for r in await db.rows("node-b")}
    for here, there in ((2, 4), (4, 2)):
        await db.run("UPDATE audit_events SET target = ?, detail = ? "
                     "WHERE chain = 'node-b' AND seq = ?", rows[there][4], rows[there][7], here)


async def _reorder_rows(db: RawDatabase) -> None:
    """Rows 2 and 4 of node B's chain trade places whole (seq, links and MACs kept)."""
    await db.run("UPDATE audit_events SET seq = -2 WHERE chain = 'node-b' AND seq = 2")
    await db.run("UPDATE audit_events SET seq = 2 WHERE chain = 'node-b' AND seq = 4")
    await db.run("UPDATE audit_events SET seq = 4 WHERE chain = 'node-b' AND seq = -2")


async def _cut_the_end(db: RawDatabase) -> None:
    rows = {r[0]: r for r in await db.rows("node-b")}
    await db.run("DELETE FROM audit_events WHERE chain = 'node-b' AND seq > 4")
    await db.run("UPDATE audit_heads SET seq = 4, hash = ? WHERE chain = 'node-b'", rows[4][9])


async def _drop_a_whole_chain(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events WHERE chain = 'node-b'")
    await db.run("DELETE FROM audit_heads WHERE chain = 'node-b'")


async def _move_a_row_to_the_other_chain(db: RawDatabase) -> None:
    """Node A's last row becomes node B's seventh, linked and the heads moved."""
    b_rows = {r[0]: r for r in await db.rows("node-b")}
    a_rows = {r[0]: r for r in await db.rows("node-a")}
    await db.run("UPDATE audit_events SET chain = 'node-b', seq = 7, prev_hash = ? "
                 "WHERE chain = 'node-a' AND seq = 6", b_rows[6][9])
    await db.run("UPDATE audit_heads SET seq = 7, hash = ? WHERE chain = 'node-b'",
                 a_rows[6][9])
    await db.run("UPDATE audit_heads SET seq = 5, hash = ? WHERE chain = 'node-a'",
                 a_rows[5][9])


async def _claim_it_was_never_keyed(db: RawDatabase) -> None:
    await db.run("UPDATE audit_heads SET keyed_from = 100 WHERE chain = 'node-b'")
    await db.rehash_plainly("node-b", 1)


async def _empty_the_table(db: RawDatabase) -> None:
    await db.run("DELETE FROM audit_events")
    await db.run("DELETE FROM audit_heads")


B = "audit row {} of chain node-b: "
A = "audit row {} of chain node-a: "
TAMPERINGS = [
    (_edit_and_rehash, B.format(3) + "edited: its MAC does not match"),
    (_delete_one, B.format(3) + "row 3 is missing (deleted)"),
    (_delete_and_renumber, B.format(3) + "edited: its MAC does not match"),
    (_swap_two, B.format(2) + "edited: its MAC does not match"),
    (_reorder_rows, B.format(2) + "does not follow the row before it"),
    (_cut_the_end, B.format(5) + "the chain ends at row 4 but the signed checkpoint"),
    (_drop_a_whole_chain, B.format(1) + "the chain ends at row 0 but the signed checkpoint"),
    (_move_a_row_to_the_other_chain, A.format(6) + "the chain ends at row 5 but the signed"),
    (_claim_it_was_never_keyed, B.format(6) + "differs from the signed checkpoint"),
    (_empty_the_table, A.format(1) + "the chain ends at row 0 but the signed checkpoint"),
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


async def test_a_moved_row_is_named_in_the_chain_it_joined(trail) -> None:
    store, db = trail
    await _move_a_row_to_the_other_chain(db)
    async with store.reading() as session:
        faults = [str(f) for f in await verify_chain(session, store.audit_seal)]
    assert B.format(7) + "edited: its MAC does not match" in "\n".join(faults), faults


async def test_the_whole_chain_gone_is_said(trail) -> None:
    store, db = trail
    await _drop_a_whole_chain(db)
    points = read_checkpoints(store.settings.audit_checkpoint_path, store.audit_seal)
    async with store.reading() as session:
        faults = await verify_chain(session, store.audit_seal, checkpoints=points.checkpoints)
    assert [str(f).split(": ")[-1] for f in faults] == ["the whole chain is gone"]


async def test_truncation_after_the_last_checkpoint_is_the_documented_window(trail) -> None:
    """Rows written after the last checkpoint can vanish unnoticed (docs/audit.md: at most
    one checkpoint interval); the ones it saw cannot."""
    store, db = trail
    await _write_rows(store, 2)  # rows 7 and 8 of node A's chain, not checkpointed
    rows = {r[0]: r for r in await db.rows("node-a")}
    await db.run("DELETE FROM audit_events WHERE chain = 'node-a' AND seq > 6")
    await db.run("UPDATE audit_heads SET seq = 6, hash = ? WHERE chain = 'node-a'", rows[6][9])
    async with store.reading() as session:
        assert await verify_chain(session, store.audit_seal) == []


async def test_a_forged_checkpoint_line_is_refused(trail, monkeypatch, capsys) -> None:
    store, _ = trail
    path = store.settings.audit_checkpoint_path
    line = path.read_text().splitlines()[0].replace('["node-a",6,', '["node-a",60,')
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
    assert len(lines) == 2 and '["node-a",9,' in lines[1] and '["node-b",6,' in lines[1]


async def test_an_unmoved_head_writes_no_new_checkpoint(trail) -> None:
    store, _ = trail
    writer = AuditCheckpointer(store.settings.audit_checkpoint_path, store.audit_seal,
                               store.clock, "node-a")
    async with store.reading() as session:
        assert await writer.write_now(session) != []
        assert await writer.write_now(session) == []


@asynccontextmanager
async def _legacy_database(make_settings: Any) -> AsyncIterator[Settings]:
    """A data folder whose database is still empty of any schema (to build old ones)."""
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
        yield settings
    finally:
        if database:
            pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _insert_rows(conn: Any, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import text

    from tests.conftest import PG_URL

    for row in rows:
        at = row["at"]
        await conn.execute(text(
            "INSERT INTO audit_events (seq, at, principal, action, target, outcome, "
            "subject, detail, prev_hash, hash) VALUES (:seq, :at, :principal, :action, "
            ":target, :outcome, :subject, :detail, :prev_hash, :hash)"),
            {**row, "at": at if PG_URL else at.replace(tzinfo=None)})


def _old_rows(clock: Any, seqs: range, previous: str,
              seal: AuditSeal | None) -> list[dict[str, Any]]:
    """Rows as schema 0010 (plain SHA-256) or 0011 to 0020 (one keyed chain) wrote them."""
    rows = []
    for seq in seqs:
        values = dict(seq=seq, at=clock.now(), principal="system:mss",
                      action="server.started", target="old", outcome="ok", subject="",
                      detail="")
        digest = (row_hash(prev_hash=previous, **values) if seal is None  # type: ignore[arg-type]
                  else seal.mac("", seq, previous, row_body(**{  # type: ignore[arg-type]
                      k: v for k, v in values.items() if k != "seq"})))
        rows.append({**values, "prev_hash": previous, "hash": digest})
        previous = digest
    return rows


async def test_rows_from_before_the_key_verify_and_stay_guarded(make_settings, clock) -> None:
    """Schema 0011 keyed the chain from the row after the head; the plain rows before it
    still verify after schema 0021 closed that chain, and rewriting them breaks every
    node's chain, each of which starts from that chain's last MAC."""
    from sqlalchemy import text

    from mss.store import schema
    from mss.store.audit_verify import check_chain
    from mss.store.db import create_engine

    async with _legacy_database(make_settings) as settings:
        engine = create_engine(settings.database_url)
        await schema.upgrade(engine, "0010")
        rows = _old_rows(clock, range(1, 4), "0" * 64, None)
        async with engine.begin() as conn:
            await _insert_rows(conn, rows)
            await conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :h)"),
                               {"h": rows[-1]["hash"]})
        await schema.upgrade(engine)
        await engine.dispose()
        store = await Store.open(settings, clock=clock)
        store.node_id = "node-a"
        try:
            await _write_rows(store, 2)
            async with store.reading() as session:
                report = await check_chain(session, store.audit_seal)
            assert report.ok and report.rows == 5 and report.unkeyed == 3
            assert report.chains[""].keyed_from == 4 and report.chains["node-a"].rows == 2
            db = RawDatabase(settings.database_url)
            await db.run("UPDATE audit_events SET target = 'rewritten' WHERE seq = 2")
            async with store.reading() as session:
                assert (await check_chain(session, store.audit_seal)).first_fault().startswith(
                    "audit row 2: edited: its hash does not match")
            await db.rehash_plainly("", 2)  # a consistent plain rewrite up to the head
            async with store.reading() as session:
                assert (await check_chain(session, store.audit_seal)).first_fault().startswith(
                    "audit row 1 of chain node-a: does not follow the row before it")
        finally:
            await store.close()


async def test_one_chain_and_its_checkpoints_carry_over_to_chains_per_node(
        make_settings, clock, monkeypatch, capsys) -> None:
    """A trail of schema 0020 (one keyed chain, one head, checkpoint lines of one head)
    becomes the chain "" of schema 0021: it verifies with the new chains, and its old
    checkpoints still catch its end cut off."""
    from sqlalchemy import text

    from mss.store import schema
    from mss.store.db import create_engine
    from mss.store.keys import Keyring, load_master_key

    async with _legacy_database(make_settings) as settings:
        seal = AuditSeal.from_keyring(Keyring(load_master_key(settings.master_key_path)))
        engine = create_engine(settings.database_url)
        await schema.upgrade(engine, "0020")
        rows = _old_rows(clock, range(1, 5), "0" * 64, seal)
        async with engine.begin() as conn:
            await _insert_rows(conn, rows)
            await conn.execute(text("INSERT INTO audit_head (id, seq, hash, keyed_from) "
                                    "VALUES (1, 4, :h, 1)"), {"h": rows[-1]["hash"]})
        old = {"seq": 4, "hash": rows[-1]["hash"], "keyed_from": 1, "at": "2026-12-02T20:00:00",
               "node": "mss-1"}
        signed = b"mss-audit-checkpoint-v1|" + json.dumps(
            list(old.values()), separators=(",", ":")).encode()
        settings.audit_checkpoint_path.write_text(
            json.dumps({**old, "sig": seal.sign(signed)}) + "\n")
        await schema.upgrade(engine)
        await engine.dispose()
        store = await Store.open(settings, clock=clock)
        store.node_id = "node-a"
        try:
            await _write_rows(store, 2)
            await _checkpoint(store)
            code, out, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
            assert code == 0, err
            assert out.startswith("audit chain: OK, 6 rows in 2 chain(s), "
                                  "2 signed checkpoint(s)")
            db = RawDatabase(settings.database_url)
            await db.run("DELETE FROM audit_events WHERE chain = '' AND seq = 4")
            await db.run("UPDATE audit_heads SET seq = 3, hash = ? WHERE chain = ''",
                         rows[2]["hash"])
            code, _, err = await _cli(store, monkeypatch, capsys, "audit", "verify")
            assert code == 1 and err.startswith(
                "mss: audit row 4: the chain ends at row 3 but the signed checkpoint of "
                "2026-12-02T20:00:00 (line 1) saw row 4"), err
        finally:
            await store.close()
