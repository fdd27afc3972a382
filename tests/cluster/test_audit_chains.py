"""Two nodes writing the audit trail at once on one PostgreSQL (docs/audit.md, Scale-out):
each node chains onto a head row of its own, so neither waits for the other's, and the
signed checkpoints of either node cover both chains."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from mss.identity import Principal, PrincipalKind
from mss.store.audit_actions import AuditAction
from mss.store.audit_checkpoints import AuditCheckpointer, read_checkpoints
from mss.store.audit_verify import check_chain
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes need PostgreSQL")
DOCTOR = Principal(PrincipalKind.PROFESSIONAL, "10001234567", "Dr Martin")
JOBS = 300


def _read(i: int) -> Any:
    async def job(uow: UnitOfWork) -> None:
        uow.audit(AuditAction.MESSAGE_READ, DOCTOR, target=f"msg:{i}",
                  subject="279035121518989", detail=f"n={i}")
    return job


def _dsn(store: Store) -> str:
    return store.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")


async def _two_nodes(make_settings: Any) -> tuple[Store, Store]:
    settings = make_settings()
    node_a, node_b = await Store.open(settings), await Store.open(settings)
    node_a.node_id, node_b.node_id = "node-a", "node-b"
    return node_a, node_b


async def test_two_nodes_writing_at_once_give_two_verified_chains(make_settings) -> None:
    node_a, node_b = await _two_nodes(make_settings)
    try:
        nodes = [node_a, node_b]
        await asyncio.gather(*(nodes[i % 2].write(_read(i)) for i in range(JOBS)))
        for node in nodes:  # each node checkpoints every chain's head
            writer = AuditCheckpointer(node.settings.data_dir / f"{node.node_id}.jsonl",
                                       node.audit_seal, node.clock, node.node_id)
            async with node.reading() as session:
                assert [p.chain for p in await writer.write_now(session)] == [
                    "node-a", "node-b"]
        for node in nodes:
            points = read_checkpoints(node.settings.data_dir / f"{node.node_id}.jsonl",
                                      node.audit_seal)
            async with node.reading() as session:
                report = await check_chain(session, node.audit_seal,
                                           checkpoints=points.checkpoints)
            assert report.ok, report.first_fault()
            assert {c: s.rows for c, s in report.chains.items()} == {
                "node-a": JOBS // 2, "node-b": JOBS // 2}
        conn = await asyncpg.connect(_dsn(node_a))
        try:
            heads = await conn.fetch("SELECT chain, seq FROM audit_heads ORDER BY chain")
            targets = await conn.fetch("SELECT chain, target FROM audit_events")
        finally:
            await conn.close()
        assert [tuple(h) for h in heads] == [("node-a", JOBS // 2), ("node-b", JOBS // 2)]
        # each row is in the chain of the node that wrote it (even i: node A)
        assert all((int(t.split(":")[1]) % 2 == 0) == (c == "node-a") for c, t in targets)
    finally:
        await node_a.close()
        await node_b.close()


async def test_a_node_writes_while_another_holds_its_own_head(make_settings) -> None:
    """Node A's head row locked (as inside one of A's commits, held as long as one
    likes): node B's audit rows still commit, they lock no row of A's."""
    node_a, node_b = await _two_nodes(make_settings)
    try:
        await node_a.write(_read(0))
        conn = await asyncpg.connect(_dsn(node_a))
        try:
            async with conn.transaction():
                await conn.fetch("SELECT seq FROM audit_heads WHERE chain = 'node-a' "
                                 "FOR UPDATE")
                await node_b.write(_read(1))  # would wait for ever on one shared head
                async with node_b.reading() as session:
                    report = await check_chain(session, node_b.audit_seal)
                assert report.ok and report.chains["node-b"].rows == 1
        finally:
            await conn.close()
        await node_a.write(_read(2))
        async with node_a.reading() as session:
            report = await check_chain(session, node_a.audit_seal)
        assert report.ok and report.chains["node-a"].rows == 2
    finally:
        await node_a.close()
        await node_b.close()
