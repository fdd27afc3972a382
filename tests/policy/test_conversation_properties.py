"""Properties of patient messaging over random histories (MSS policy P1, P2 and the
conversation transitions), checked against a small model written independently here.

Events: professional messages (with or without an end marker and a Reply-To), patient
messages to any address, and webmail end/reopen actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from mss.identity import OrgRight
from mss.policy import Channel, Rule

from .policy_world import (
    ACCUEIL,
    DR_DURAND,
    DR_MARTIN,
    INTERNET,
    NOREPLY,
    OTHER_PHARMACY,
    PATIENT,
    PATIENT_B,
    PHARMACY,
    REMOTE_PS,
    SECRETARIAT,
    UNKNOWN_PS,
    EndAction,
    PolicyWorld,
    ReopenAction,
    Send,
    owner_rights,
    professional_rights,
)

REMOTE_COLLEAGUE = "dr.collegue@troisieme.fr"  # trusted domain, unknown to our directory
PATIENTS = (PATIENT, PATIENT_B)
SENDERS = (DR_MARTIN, SECRETARIAT, NOREPLY, REMOTE_PS)
LOCAL_SENDERS = (DR_MARTIN, SECRETARIAT, NOREPLY)
APPLICATIONS = frozenset({NOREPLY})
TRUST_SPACE_PROFESSIONALS = frozenset(
    {DR_MARTIN, DR_DURAND, SECRETARIAT, ACCUEIL, REMOTE_PS, REMOTE_COLLEAGUE}
)
REPLY_TO_NOT_A_SENDER = (ACCUEIL, DR_DURAND, REMOTE_COLLEAGUE, INTERNET, PATIENT_B, UNKNOWN_PS)
REPLY_TO_ANY = (*REPLY_TO_NOT_A_SENDER, DR_MARTIN, SECRETARIAT, REMOTE_PS, NOREPLY)
PATIENT_TARGETS = (*SENDERS, *REPLY_TO_ANY, PHARMACY, OTHER_PHARMACY, PATIENT, PATIENT_B)
RECENT_DISPENSATION = (PATIENT, PHARMACY)  # PATIENT_B's dispensation there is 400 days old
# A professional with full rights, but on mailboxes that are never sender nor contact here.
OUTSIDER = professional_rights(
    "99999",
    own=("dr.ailleurs@mss.example.fr",),
    org={"urgences@mss.example.fr": frozenset(OrgRight)},
)

END_MARKERS = {
    "none": {},
    "subject": {"subject": "[FIN]"},
    "header": {"x_mss_mes": ("FIN",)},
    "lowercase subject": {"subject": "[fin]"},
    "reply subject": {"subject": "Re: [FIN]"},
}
ENDING_MARKERS = frozenset({"subject", "header"})


@dataclass(frozen=True)
class ProfessionalMessage:
    sender: str
    patient: str
    marker: str
    reply_to: str | None


@dataclass(frozen=True)
class PatientMessage:
    patient: str
    target: str


@dataclass(frozen=True)
class WebmailAction:
    professional: str
    patient: str
    reopen: bool
    by_owner: bool


def events(reply_to_candidates: tuple[str, ...]) -> st.SearchStrategy[list[object]]:
    professional = st.builds(
        ProfessionalMessage,
        st.sampled_from(SENDERS),
        st.sampled_from(PATIENTS),
        st.sampled_from(sorted(END_MARKERS)),
        st.none() | st.sampled_from(reply_to_candidates),
    )
    patient = st.builds(PatientMessage, st.sampled_from(PATIENTS), st.sampled_from(PATIENT_TARGETS))
    action = st.builds(
        WebmailAction,
        st.sampled_from(LOCAL_SENDERS),
        st.sampled_from(PATIENTS),
        st.booleans(),
        st.booleans(),
    )
    return st.lists(st.one_of(professional, patient, action), max_size=30)


@dataclass
class Model:
    """Patient messaging as the rules state it, kept apart from the policy code."""

    open: dict[tuple[str, str], bool] = field(default_factory=dict)
    contact: dict[tuple[str, str], str] = field(default_factory=dict)
    introduced: dict[str, set[str]] = field(default_factory=dict)
    ended: set[tuple[str, str]] = field(default_factory=set)  # ended, not reopened since

    def professional_writes(self, event: ProfessionalMessage) -> None:
        key = (event.sender, event.patient)
        ends = event.marker in ENDING_MARKERS
        trusted = event.reply_to if event.reply_to in TRUST_SPACE_PROFESSIONALS else None
        if event.sender in APPLICATIONS and trusted is None:
            if ends and self.open.get(key):
                self.open[key] = False
                self.ended.add(key)
            return
        self.open[key] = not ends
        self.contact[key] = trusted or event.sender
        introduced = self.introduced.setdefault(event.patient, set())
        introduced.update(a for a in (event.sender, trusted) if a and a not in APPLICATIONS)
        if ends:
            self.ended.add(key)
        else:
            self.ended.discard(key)

    def acts(self, event: WebmailAction) -> None:
        key = (event.professional, event.patient)
        if not event.by_owner or key not in self.open:
            return
        self.open[key] = event.reopen
        if event.reopen:
            self.ended.discard(key)
        else:
            self.ended.add(key)

    def patient_may_write(self, patient: str, target: str) -> bool:
        if target in PATIENTS or target not in TRUST_SPACE_PROFESSIONALS | {PHARMACY}:
            return False
        if (patient, target) == RECENT_DISPENSATION:
            return True
        return any(
            is_open and key[1] == patient and self.contact[key] == target
            for key, is_open in self.open.items()
        )


def new_world() -> PolicyWorld:
    world = PolicyWorld()
    world.dispensed(PATIENT, PHARMACY, days_ago=30)
    world.dispensed(PATIENT_B, PHARMACY, days_ago=400)
    return world


def play(world: PolicyWorld, model: Model, event: object) -> tuple[object, object]:
    """Run one event on both; returns (decision or None, event)."""
    if isinstance(event, ProfessionalMessage):
        channel = Channel.SUBMISSION if event.sender in LOCAL_SENDERS else Channel.INBOUND
        reply_to = (event.reply_to,) if event.reply_to else ()
        send = Send(
            event.sender,
            event.patient,
            reply_to=reply_to,
            channel=channel,
            **END_MARKERS[event.marker],  # type: ignore[arg-type]
        )
        model.professional_writes(event)
        return world.run(send), event
    if isinstance(event, PatientMessage):
        return world.run(Send(event.patient, event.target)), event
    assert isinstance(event, WebmailAction)
    key = (event.professional, event.patient)
    if key not in world.conversations:
        return None, event  # nothing to show, so no button to press
    actor = owner_rights(event.professional) if event.by_owner else OUTSIDER
    step_type = ReopenAction if event.reopen else EndAction
    decision = world.run(step_type(actor, event.professional, event.patient))
    model.acts(event)
    return decision, event


@settings(max_examples=150, deadline=None)
@given(events(REPLY_TO_NOT_A_SENDER))
def test_patient_never_reaches_a_mailbox_that_never_wrote_to_them(history: list[object]) -> None:
    """Pharmacy aside, a patient reaches only a mailbox that wrote to them or that a
    professional named as Reply-To in a message to them (MSS policy P2)."""
    world, model = new_world(), Model()
    for event in history:
        decision, _ = play(world, model, event)
        if isinstance(event, PatientMessage) and decision.verdict.accepted:
            reachable = model.introduced.get(event.patient, set())
            if (event.patient, event.target) != RECENT_DISPENSATION:
                assert event.target in reachable


@settings(max_examples=150, deadline=None)
@given(events(REPLY_TO_NOT_A_SENDER))
def test_after_an_end_and_before_a_reopen_patient_messages_are_refused(
    history: list[object],
) -> None:
    """[FIN], X-MSS-MES: FIN or the webmail end button blocks the patient until the
    professional writes again or reopens (MSS policy P2)."""
    world, model = new_world(), Model()
    for event in history:
        decision, _ = play(world, model, event)
        if isinstance(event, PatientMessage) and (event.target, event.patient) in model.ended:
            assert decision.verdict.refused
            assert decision.verdict.rule in (Rule.P2, Rule.R2)


@settings(max_examples=150, deadline=None)
@given(events(REPLY_TO_ANY))
def test_professional_message_is_never_refused_by_patient_rules(history: list[object]) -> None:
    world, model = new_world(), Model()
    for event in history:
        decision, _ = play(world, model, event)
        if isinstance(event, ProfessionalMessage):
            assert decision.verdict.rule not in (Rule.P1, Rule.P2)
            assert decision.verdict.accepted


@settings(max_examples=150, deadline=None)
@given(events(REPLY_TO_ANY))
def test_policy_agrees_with_the_model(history: list[object]) -> None:
    """Every patient message is accepted exactly when the model allows it, patient
    messages never change a conversation, and outsiders cannot end or reopen one."""
    world, model = new_world(), Model()
    for event in history:
        before = dict(world.conversations)
        decision, _ = play(world, model, event)
        if isinstance(event, PatientMessage):
            assert decision.verdict.accepted == model.patient_may_write(event.patient, event.target)
            assert decision.transitions == ()
            assert world.conversations == before
        if isinstance(event, WebmailAction) and decision is not None and not event.by_owner:
            assert decision.verdict.rule is Rule.T2
            assert world.conversations == before
    for key, is_open in model.open.items():
        assert world.conversations[key].is_open == is_open
