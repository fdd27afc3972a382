"""A professional opens, the patient replies, [FIN] ends, a new message reopens."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from mss.directory.conversation_tables import ConversationEventRow, ConversationRow
from mss.identity import Principal, PrincipalKind
from mss.pipeline.accept import Pipeline
from mss.pipeline.conversations import ConversationService, apply_conversation_transitions
from mss.policy import Cause, Rule, Transition, TransitionKind
from mss.store.audit import events_for_subject
from mss.store.store import Store
from mss.store.unit_of_work import UnitOfWork
from tests.pipeline.conftest import Harness


async def test_full_conversation_cycle(harness) -> None:
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    jeanne = harness.patient(w.jeanne_ins, w.jeanne)

    first = await harness.send(alice, w.alice, [w.jeanne], subject="Vos résultats")
    assert [r.accepted for r in first.results] == [True]
    assert await harness.inbox_subjects(w.jeanne) == ["Vos résultats"]
    assert await harness.inbox_subjects(w.alice, "Sent") == ["Vos résultats"]

    reply = await harness.send(jeanne, w.jeanne, [w.alice], subject="Re: Vos résultats")
    assert reply.results[0].accepted
    assert await harness.inbox_subjects(w.alice) == ["Re: Vos résultats"]

    end = await harness.send(alice, w.alice, [w.jeanne], subject="[FIN]")
    assert end.results[0].accepted  # the ending message itself is delivered
    assert await harness.inbox_subjects(w.jeanne) == ["Vos résultats", "[FIN]"]

    refused = await harness.send(jeanne, w.jeanne, [w.alice], subject="Encore une question")
    verdict = refused.results[0].verdict
    assert not verdict.accepted and verdict.rule is Rule.P2
    assert verdict.code == 550 and verdict.enhanced == "5.7.1"
    assert verdict.cause is Cause.CONVERSATION_ENDED
    assert "clos cet échange" in verdict.reason
    assert await harness.inbox_subjects(w.alice) == ["Re: Vos résultats"]

    await harness.send(alice, w.alice, [w.jeanne], subject="Nouveau rendez-vous")
    again = await harness.send(jeanne, w.jeanne, [w.alice], subject="Re: Nouveau rendez-vous")
    assert again.results[0].accepted


async def test_x_mss_mes_fin_ends_and_message_still_delivered(harness) -> None:
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    await harness.send(alice, w.alice, [w.jeanne], subject="Compte rendu",
                       headers="X-MSS-MES: FIN\r\n")
    assert await harness.inbox_subjects(w.jeanne) == ["Compte rendu"]
    refused = await harness.send(harness.patient(w.jeanne_ins, w.jeanne), w.jeanne, [w.alice])
    assert refused.results[0].verdict.rule is Rule.P2


async def test_patient_cannot_reach_a_professional_who_never_wrote(harness) -> None:
    w = harness.world
    result = await harness.send(harness.patient(w.jeanne_ins, w.jeanne), w.jeanne, [w.bruno])
    verdict = result.results[0].verdict
    assert verdict.rule is Rule.P2 and not verdict.accepted
    assert await harness.inbox_subjects(w.bruno) == []


async def test_patient_to_patient_is_refused(harness) -> None:
    w = harness.world
    result = await harness.send(harness.patient(w.jeanne_ins, w.jeanne), w.jeanne, [w.paul])
    assert result.results[0].verdict.rule is Rule.P1


async def test_reply_to_from_app_makes_the_professional_the_contact(harness) -> None:
    w = harness.world
    app = Principal(PrincipalKind.APPLICATION, "Laboratoire de démonstration", "", w.noreply)
    await harness.send(app, w.noreply, [w.jeanne], subject="Résultats de biologie",
                       headers=f"Reply-To: <{w.alice}>\r\n")
    jeanne = harness.patient(w.jeanne_ins, w.jeanne)
    to_alice = await harness.send(jeanne, w.jeanne, [w.alice])
    assert to_alice.results[0].accepted
    to_noreply = await harness.send(jeanne, w.jeanne, [w.noreply])
    assert to_noreply.results[0].verdict.rule is Rule.R2


async def test_every_step_leaves_a_trace_for_the_patient(harness) -> None:
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    await harness.send(alice, w.alice, [w.jeanne], subject="[FIN]")
    async with harness.store.reading() as session:
        actions = [e.action for e in await events_for_subject(session, w.jeanne_ins)]
    assert "message.delivered" in actions
    assert "conversation.opened" in actions and "conversation.ended" in actions


async def test_ending_a_conversation_that_never_existed_creates_nothing(harness) -> None:
    """An action may not open a care relation: only a message does."""
    w = harness.world
    bruno = harness.professional(w.bruno_rpps, w.bruno)
    service = ConversationService(harness.store, harness.pipeline.facts)
    for act in (service.end, service.reopen):
        decision = await act(bruno, w.bruno, w.jeanne)
        assert not decision.verdict.accepted
        assert decision.verdict.cause is Cause.NO_SUCH_CONVERSATION
    assert await service.find(w.bruno, w.jeanne) is None


async def test_professional_ends_from_the_service_and_reopens(harness) -> None:
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    await harness.send(alice, w.alice, [w.jeanne], subject="Bonjour")
    service = ConversationService(harness.store, harness.pipeline.facts)
    assert (await service.end(alice, w.alice, w.jeanne)).verdict.accepted
    jeanne = harness.patient(w.jeanne_ins, w.jeanne)
    assert not (await harness.send(jeanne, w.jeanne, [w.alice])).results[0].accepted
    assert (await service.reopen(alice, w.alice, w.jeanne)).verdict.accepted
    assert (await harness.send(jeanne, w.jeanne, [w.alice])).results[0].accepted
    bruno = harness.professional(w.bruno_rpps, w.bruno)
    refused = await service.end(bruno, w.alice, w.jeanne)
    assert refused.verdict.cause is Cause.ACTION_NOT_ALLOWED



async def test_two_processes_opening_the_same_conversation_make_one(harness) -> None:
    """Two processes (or nodes) accept the first message from a professional to a patient
    at the same moment, each having decided "open" before the other committed: both
    messages are stored, there is one conversation, opened once (one event, one trace)."""
    w = harness.world
    alice = harness.professional(w.alice_rpps, w.alice)
    bruno = harness.professional(w.bruno_rpps, w.bruno)
    other_store = await Store.open(harness.store.settings)
    try:
        other = Harness(other_store, Pipeline(other_store, other_store.settings), w)
        opening = Transition(TransitionKind.OPEN, w.alice, w.jeanne)

        async def open_from(store: Store) -> None:
            async def job(uow: UnitOfWork) -> None:
                await apply_conversation_transitions(uow, [opening], alice, via="smtp")
            await store.write(job)

        await open_from(other_store)  # the other process's decision, committed first
        await open_from(harness.store)  # this one decided before it could see it
        sent = await asyncio.gather(
            harness.send(bruno, w.bruno, [w.paul], subject="Un"),
            other.send(bruno, w.bruno, [w.paul], subject="Deux"),
        )
    finally:
        await other_store.close()
    assert all(r.results[0].accepted for r in sent)
    assert sorted(await harness.inbox_subjects(w.paul)) == ["Deux", "Un"]
    async with harness.store.reading() as session:
        rows = (await session.execute(select(ConversationRow))).scalars().all()
        kinds = (await session.execute(
            select(ConversationRow.patient, ConversationEventRow.kind)
            .join(ConversationEventRow, ConversationEventRow.conversation_id == ConversationRow.id)
        )).all()
        traces = {ins: [e.action for e in await events_for_subject(session, ins)]
                  for ins in (w.jeanne_ins, w.paul_ins)}
    assert sorted((r.professional, r.patient, r.status) for r in rows) == sorted(
        [(w.alice, w.jeanne, "open"), (w.bruno, w.paul, "open")])
    assert sorted(kinds) == sorted([(w.jeanne, "open"), (w.paul, "open")])
    assert [t.count("conversation.opened") for t in traces.values()] == [1, 1]
