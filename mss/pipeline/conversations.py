"""Stored conversations: transitions applied inside the pipeline's transaction, history
and audit kept, and the professional's own "end" / "reopen" actions (docs/architecture.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mss.directory.conversation_tables import ConversationEventRow, ConversationRow
from mss.identity import Principal
from mss.pipeline.directory_facts import DirectoryFacts, conversation_of
from mss.policy import (
    ActingRights,
    Conversation,
    ConversationStatus,
    Decision,
    Transition,
    TransitionKind,
    apply_transition,
    end_conversation,
    reopen_conversation,
)
from mss.policy.addresses import canonical_address
from mss.store.audit_actions import AuditAction
from mss.store.insert_once import insert_once
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork

_AUDIT = {
    TransitionKind.OPEN: AuditAction.CONVERSATION_OPENED,
    TransitionKind.END: AuditAction.CONVERSATION_ENDED,
    TransitionKind.SET_CONTACT: AuditAction.CONVERSATION_CONTACT_SET,
}


def patient_subject(patient_address: str) -> str:
    """Audit rows about a patient carry the INS: the patient reads their traces by it."""
    return canonical_address(patient_address).partition("@")[0].upper()


async def apply_conversation_transitions(
    uow: UnitOfWork, transitions: Sequence[Transition], actor: Principal, *, via: str,
    message_ref: str = "",
) -> None:
    for transition in transitions:
        session = uow.session
        now = uow.now()
        row, created = await _held_conversation(session, transition, now)
        before = conversation_of(row)
        after = apply_transition(before, transition)
        if after == before and not created:
            continue  # another process made the same change first: nothing happens twice
        row.status, row.contact, row.updated_at = after.status.value, after.contact, now
        if transition.kind is TransitionKind.END:
            row.ended_at, row.ended_by = now, actor.label()
        elif transition.kind is TransitionKind.OPEN:
            row.ended_at, row.ended_by = None, None
        session.add(ConversationEventRow(
            conversation_id=row.id, kind=transition.kind.value, at=now, actor=actor.label(),
            via=via, contact=transition.contact,
        ))
        await session.flush()
        uow.audit(
            _AUDIT[transition.kind], actor, target=after.professional,
            subject=patient_subject(after.patient),
            detail=f"via={via}" + (f" message={message_ref}" if message_ref else ""),
        )


async def _held_conversation(
    session: AsyncSession, transition: Transition, now: datetime
) -> tuple[ConversationRow, bool]:
    """The conversation's row, created if missing (then True) and held (FOR UPDATE) until
    the commit.

    Two processes (or nodes) may take a first message between the same two people at
    once: the INSERT leaves the other's row alone (PostgreSQL waits for its commit), and
    the transition applies to the state read after it, never to a guess made before."""
    professional = canonical_address(transition.professional)
    patient = canonical_address(transition.patient)
    insert = insert_once(session.get_bind().dialect, ConversationRow,
                         ["professional", "patient"])
    created = (await session.execute(insert.values(
        professional=professional, patient=patient, status=ConversationStatus.ENDED.value,
        contact=None, opened_at=now, updated_at=now,
    ).returning(ConversationRow.id))).first() is not None
    query = (select(ConversationRow)
             .where(ConversationRow.professional == professional,
                    ConversationRow.patient == patient)
             .with_for_update()
             .execution_options(populate_existing=True))
    return (await session.execute(query)).scalar_one(), created


class ConversationService:
    """The professional ends or reopens a conversation from the webmail or the API."""

    def __init__(self, store: Store, facts: DirectoryFacts) -> None:
        self.store = store
        self.facts = facts

    async def find(self, professional: str, patient: str) -> Conversation | None:
        async with self.store.reading() as session:
            return await self.facts.conversation(session, professional, patient)

    async def end(self, principal: Principal, professional: str, patient: str,
                  *, via: str = "webmail") -> Decision:
        return await self._act(principal, professional, patient, via, end_conversation)

    async def reopen(self, principal: Principal, professional: str, patient: str,
                     *, via: str = "webmail") -> Decision:
        return await self._act(principal, professional, patient, via, reopen_conversation)

    async def _act(self, principal: Principal, professional: str, patient: str, via: str,
                   rule: Callable[[ActingRights, Conversation | None], Decision]) -> Decision:
        async with self.store.reading() as session:
            rights = await self.facts.acting_rights(session, principal)
            current = await self.facts.conversation(session, professional, patient)
        decision = rule(rights, current)
        if decision.verdict.accepted and decision.transitions:
            async def job(uow: UnitOfWork) -> None:
                await apply_conversation_transitions(uow, decision.transitions, principal,
                                                     via=via)
            await self.store.write(job)
        return decision
