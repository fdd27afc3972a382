"""The webmail's reply button uses the same P2 logic as the policy (MSS policy P2)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from mss.identity import MailboxKind
from mss.policy import (
    Conversation,
    ConversationStatus,
    Correspondent,
    DirectoryEntry,
    Dispensation,
    PatientRelations,
    ReplyRight,
    Rule,
    patient_may_write_to,
    reply_right,
)

from .policy_world import (
    DR_DURAND,
    DR_MARTIN,
    NOW,
    PATIENT,
    PHARMACY,
    SECRETARIAT,
    PolicyWorld,
    Send,
)

PER = DirectoryEntry(MailboxKind.PER)
PHARMACY_ENTRY = DirectoryEntry(MailboxKind.ORG, is_pharmacy=True)


def relations(
    *conversations: Conversation, dispensed_days_ago: float | None = None
) -> PatientRelations:
    dispensations: tuple[Dispensation, ...] = ()
    if dispensed_days_ago is not None:
        dispensations = (Dispensation(PHARMACY, NOW - timedelta(days=dispensed_days_ago)),)
    return PatientRelations(PATIENT, conversations, dispensations)


def test_open_conversation_allows_its_contact_only() -> None:
    with_contact = relations(Conversation(DR_MARTIN, PATIENT, contact=SECRETARIAT))
    assert (
        reply_right(with_contact, Correspondent(SECRETARIAT), NOW) is ReplyRight.CONVERSATION_OPEN
    )
    assert not patient_may_write_to(with_contact, Correspondent(DR_MARTIN, PER), NOW)


def test_ended_conversation_is_told_apart_from_no_conversation() -> None:
    ended = relations(Conversation(DR_MARTIN, PATIENT, ConversationStatus.ENDED))
    assert reply_right(ended, Correspondent(DR_MARTIN, PER), NOW) is ReplyRight.CONVERSATION_ENDED
    assert reply_right(ended, Correspondent(DR_DURAND, PER), NOW) is ReplyRight.NO_CONVERSATION
    assert reply_right(None, Correspondent(DR_DURAND, PER), NOW) is ReplyRight.NO_CONVERSATION


def test_conversation_of_another_patient_does_not_count() -> None:
    other = relations(Conversation(DR_MARTIN, "180127512345678@patient.mss.example.fr"))
    assert not patient_may_write_to(other, Correspondent(DR_MARTIN, PER), NOW)


def test_pharmacy_dispensation_window_is_365_days() -> None:
    pharmacy = Correspondent(PHARMACY, PHARMACY_ENTRY)
    assert patient_may_write_to(relations(dispensed_days_ago=365), pharmacy, NOW)
    assert not patient_may_write_to(relations(dispensed_days_ago=365.001), pharmacy, NOW)
    assert not patient_may_write_to(
        relations(dispensed_days_ago=1), Correspondent(PHARMACY, PER), NOW
    )


@given(
    st.lists(st.tuples(st.sampled_from([DR_MARTIN, SECRETARIAT]), st.booleans()), max_size=6),
    st.sampled_from([DR_MARTIN, DR_DURAND, SECRETARIAT, PHARMACY]),
)
def test_reply_button_agrees_with_the_policy(messages: list[tuple[str, bool]], target: str) -> None:
    """Whatever the history, the button is shown exactly when sending would pass P2."""
    world = PolicyWorld()
    world.dispensed(PATIENT, PHARMACY, days_ago=10)
    for sender, ends in messages:
        world.run(Send(sender, PATIENT, subject="[FIN]" if ends else "Suivi"))
    shown = patient_may_write_to(world.relations(PATIENT), world.correspondent(target), NOW)
    verdict = world.run(Send(PATIENT, target)).verdict
    assert shown == verdict.accepted
    assert verdict.accepted or verdict.rule is Rule.P2
