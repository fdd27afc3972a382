"""The audit trail is a hash chain: complete under concurrency, and edits are detected."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from mss.identity import Principal, PrincipalKind
from mss.store.audit import events_for_subject
from mss.store.audit_actions import AuditAction
from mss.store.audit_verify import verify_chain
from mss.store.tables import AuditEvent

DOCTOR = Principal(PrincipalKind.PROFESSIONAL, "10001234567", "Dr Martin")


async def _write_events(store, n: int, subject: str = "279035121518989") -> None:
    async def job(uow):
        uow.audit(AuditAction.MESSAGE_READ, DOCTOR, target="msg:1", subject=subject)

    await asyncio.gather(*(store.write(job) for _ in range(n)))


async def test_concurrent_writers_keep_one_unbroken_chain(store) -> None:
    await _write_events(store, 50)
    async with store.reading() as session:
        assert await verify_chain(session, store.audit_seal) == []
        rows = await events_for_subject(session, "279035121518989", limit=100)
    assert len(rows) == 50
    assert [r.seq for r in rows] == list(range(50, 0, -1))  # newest first


async def test_an_edited_row_is_detected(store) -> None:
    await _write_events(store, 5)

    async def tamper(uow):
        await uow.session.execute(
            update(AuditEvent).where(AuditEvent.seq == 3).values(principal="professional:x")
        )
    await store.write(tamper)
    async with store.reading() as session:
        faults = await verify_chain(session, store.audit_seal)
    assert [f.seq for f in faults] == [3]
    assert "its MAC does not match" in faults[0].problem


async def test_a_failed_job_leaves_no_audit_row_and_no_gap(store) -> None:
    async def fails(uow):
        uow.audit(AuditAction.MESSAGE_READ, DOCTOR, target="msg:2")
        raise ValueError("refused by a later check")

    async def succeeds(uow):
        uow.audit(AuditAction.MESSAGE_READ, DOCTOR, target="msg:3")

    results = await asyncio.gather(store.write(fails), store.write(succeeds),
                                   return_exceptions=True)
    assert isinstance(results[0], ValueError) and results[1] is None
    async with store.reading() as session:
        assert await verify_chain(session, store.audit_seal) == []
        rows = await events_for_subject(session, "", limit=10)
    assert [r.target for r in rows] == ["msg:3"]


async def test_audit_rows_carry_no_content_fields(store) -> None:
    columns = {c.name for c in AuditEvent.__table__.columns}
    assert not columns & {"body", "content", "raw", "message"}
    with pytest.raises(TypeError):
        AuditEvent(body="x")  # type: ignore[call-arg]
