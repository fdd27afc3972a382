"""A small in-memory operator for the policy tests: a directory, stored conversations and
dispensations, and the few steps of a pipeline (gather facts, decide, apply transitions).

It calls the real policy; only the store is a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mss.identity import MailboxKind, OrgRight, PatientSpaceState, Principal, PrincipalKind
from mss.policy import (
    ActingRights,
    Attachment,
    AuthorFields,
    Channel,
    Content,
    Conversation,
    Correspondent,
    Decision,
    DirectoryEntry,
    Dispensation,
    Envelope,
    OperatorFacts,
    PatientRelations,
    PeerCertificate,
    SizeLimits,
    TrustList,
    apply_transitions,
    decide,
    decide_author,
    decide_peer,
    decide_peer_author,
    decide_sender,
    end_conversation,
    reopen_conversation,
)
from mss.policy.addresses import canonical_address

MIB = 1024 * 1024
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

DOMAIN = "mss.example.fr"
PATIENT_DOMAIN = "patient.mss.example.fr"
PEER_DOMAIN = "autre-operateur.fr"
OTHER_PEER_DOMAIN = "troisieme.fr"
PEER_DN = "CN=smtp-1.autre-operateur.fr,OU=1750048886,O=GIP X,ST=Paris (75),C=FR"
OTHER_PEER_DN = "CN=smtp.troisieme.fr,O=Troisieme,C=FR"

DR_MARTIN = f"dr.martin@{DOMAIN}"  # PER
DR_DURAND = f"dr.durand@{DOMAIN}"  # PER, in the directory, writes to nobody
SECRETARIAT = f"secretariat.cardio@{DOMAIN}"  # ORG
ACCUEIL = f"accueil@{DOMAIN}"  # ORG
PHARMACY = f"pharmacie.centrale@{DOMAIN}"  # ORG of a pharmacy
OTHER_PHARMACY = f"pharmacie.gare@{DOMAIN}"  # ORG of a pharmacy
NOREPLY = f"noreply@{DOMAIN}"  # APP, no responsible mailbox
RESULTS = f"resultats@{DOMAIN}"  # APP with a responsible mailbox
UNKNOWN_PS = f"dr.inconnu@{DOMAIN}"
REMOTE_PS = f"dr.remote@{PEER_DOMAIN}"  # trusted domain, not in our directory
INTERNET = "someone@gmail.com"

PATIENT = f"279035121518989@{PATIENT_DOMAIN}"
PATIENT_B = f"180127512345678@{PATIENT_DOMAIN}"
OPPOSED_PATIENT = f"290017512345601@{PATIENT_DOMAIN}"
CLOSED_PATIENT = f"275047512345602@{PATIENT_DOMAIN}"
UNKNOWN_PATIENT = f"199999999999999@{PATIENT_DOMAIN}"

OPERATOR = OperatorFacts(
    local_domains=frozenset({DOMAIN, PATIENT_DOMAIN}),
    trust_list=TrustList(
        {PEER_DOMAIN: frozenset({PEER_DN}), OTHER_PEER_DOMAIN: frozenset({OTHER_PEER_DN})}
    ),
    limits=SizeLimits(message_bytes=50 * MIB, patient_message_bytes=25 * MIB),
)


def _patient(state: PatientSpaceState = PatientSpaceState.ACTIVE) -> DirectoryEntry:
    return DirectoryEntry(MailboxKind.PAT, patient_state=state)


DIRECTORY: dict[str, DirectoryEntry] = {
    DR_MARTIN: DirectoryEntry(MailboxKind.PER),
    DR_DURAND: DirectoryEntry(MailboxKind.PER),
    SECRETARIAT: DirectoryEntry(MailboxKind.ORG),
    ACCUEIL: DirectoryEntry(MailboxKind.ORG),
    PHARMACY: DirectoryEntry(MailboxKind.ORG, is_pharmacy=True),
    OTHER_PHARMACY: DirectoryEntry(MailboxKind.ORG, is_pharmacy=True),
    NOREPLY: DirectoryEntry(MailboxKind.APP),
    RESULTS: DirectoryEntry(MailboxKind.APP, responsible_mailbox=SECRETARIAT),
    PATIENT: _patient(),
    PATIENT_B: _patient(),
    OPPOSED_PATIENT: _patient(PatientSpaceState.OPPOSED),
    CLOSED_PATIENT: _patient(PatientSpaceState.CLOSED),
}


def professional_rights(
    rpps: str, own: tuple[str, ...] = (), org: dict[str, frozenset[OrgRight]] | None = None
) -> ActingRights:
    """Rights of a professional: own PER mailboxes, and rights on ORG mailboxes."""
    return ActingRights(
        Principal(PrincipalKind.PROFESSIONAL, rpps),
        own_mailboxes=frozenset(own),
        org_rights=org or {},
    )


def owner_rights(mailbox: str) -> ActingRights:
    """The rights of whoever owns `mailbox` alone (its PER owner, its APP, a patient)."""
    kind = DIRECTORY[mailbox].kind
    principal_kind = {
        MailboxKind.PAT: PrincipalKind.PATIENT,
        MailboxKind.APP: PrincipalKind.APPLICATION,
    }.get(kind, PrincipalKind.PROFESSIONAL)
    if kind is MailboxKind.ORG:
        return ActingRights(
            Principal(principal_kind, f"member-of-{mailbox}"),
            org_rights={mailbox: frozenset({OrgRight.READ, OrgRight.SEND_AS})},
        )
    return ActingRights(Principal(principal_kind, mailbox), own_mailboxes=frozenset({mailbox}))


@dataclass(frozen=True)
class Send:
    """A message from `sender` to `recipient`, handed to the pipeline."""

    sender: str
    recipient: str
    subject: str = "Compte rendu"
    x_mss_mes: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    size: int = 4096
    attachments: tuple[Attachment, ...] = ()
    channel: Channel = Channel.SUBMISSION
    at: datetime = NOW


@dataclass(frozen=True)
class EndAction:
    """The webmail/API "end conversation" button, pressed by `actor`."""

    actor: ActingRights
    professional: str
    patient: str


@dataclass(frozen=True)
class ReopenAction:
    actor: ActingRights
    professional: str
    patient: str


@dataclass(frozen=True)
class PeerMail:
    """An inbound operator's MAIL FROM (T1)."""

    subject_dn: str | None
    mail_from: str
    chain_valid: bool = True


@dataclass(frozen=True)
class SubmitMail:
    """A submission MAIL FROM by an authenticated principal (T2)."""

    rights: ActingRights
    mail_from: str


@dataclass(frozen=True)
class WriteAuthor:
    """The From/Sender fields of a submitted message (T4), as the pipeline reads them.

    `peer_dn` set: the message comes from that peer operator's MX instead."""

    rights: ActingRights
    from_: tuple[str, ...] = ()
    sender: tuple[str, ...] = ()
    mentioned: tuple[str, ...] = ()
    from_fields: int | None = None  # default: one From when `from_` names any
    unreadable: bool = False
    mail_from: str = ""
    peer_dn: str | None = None

    def fields(self) -> AuthorFields:
        count = (1 if self.from_ else 0) if self.from_fields is None else self.from_fields
        return AuthorFields(self.from_, self.sender, self.mentioned, count,
                            1 if self.sender else 0, self.unreadable)


Step = Send | EndAction | ReopenAction | PeerMail | SubmitMail | WriteAuthor


@dataclass
class PolicyWorld:
    """The stored state the pipeline would read: conversations and dispensations."""

    directory: dict[str, DirectoryEntry] = field(default_factory=lambda: dict(DIRECTORY))
    conversations: dict[tuple[str, str], Conversation] = field(default_factory=dict)
    dispensations: dict[str, list[Dispensation]] = field(default_factory=dict)

    def correspondent(self, address: str) -> Correspondent:
        return Correspondent(address, self.directory.get(canonical_address(address)))

    def dispensed(self, patient: str, pharmacy: str, days_ago: float) -> None:
        at = NOW - timedelta(days=days_ago)
        self.dispensations.setdefault(patient, []).append(Dispensation(pharmacy, at))

    def relations(self, patient: str) -> PatientRelations:
        return PatientRelations(
            patient,
            tuple(c for (_, p), c in self.conversations.items() if p == patient),
            tuple(self.dispensations.get(patient, ())),
        )

    def run(self, step: Step) -> Decision:
        """What the pipeline does for one step; the resulting transitions are stored."""
        if isinstance(step, PeerMail):
            peer = PeerCertificate(step.subject_dn, step.chain_valid)
            return Decision(decide_peer(peer, step.mail_from, OPERATOR.trust_list))
        if isinstance(step, SubmitMail):
            return Decision(decide_sender(step.rights, step.mail_from))
        if isinstance(step, WriteAuthor):
            if step.peer_dn is not None:
                return Decision(decide_peer_author(step.peer_dn, step.fields(), step.mail_from,
                                                   OPERATOR.trust_list))
            return Decision(decide_author(step.rights, step.fields(), step.mail_from).verdict)
        if isinstance(step, Send):
            decision = self._send(step)
            key = (canonical_address(step.sender), canonical_address(step.recipient))
        else:
            key = (step.professional, step.patient)
            action = end_conversation if isinstance(step, EndAction) else reopen_conversation
            decision = action(step.actor, self.conversations[key])
        stored = apply_transitions(self.conversations.get(key), decision.transitions)
        if stored is not None:
            self.conversations[key] = stored
        return decision

    def _send(self, step: Send) -> Decision:
        sender = self.correspondent(step.sender)
        recipient = self.correspondent(step.recipient)
        envelope = Envelope(
            step.channel,
            sender,
            step.at,
            self.relations(sender.canonical) if sender.is_patient else None,
        )
        content = Content(
            size=step.size,
            subject=step.subject,
            x_mss_mes=step.x_mss_mes,
            reply_to=tuple(self.correspondent(a) for a in step.reply_to),
            attachments=step.attachments,
        )
        current = self.conversations.get((sender.canonical, recipient.canonical))
        return decide(OPERATOR, envelope, content, recipient, current)
