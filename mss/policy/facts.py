"""The facts the pipeline gathers for the policy: plain frozen values, no I/O (docs/architecture.md
§1).

Where each fact comes from:
- `OperatorFacts`: configuration (local domains, `limits`) and the directory's trust list;
  built once per process or per trust-list import.
- `Correspondent`: an address plus its directory entry when one exists (always looked up
  for local addresses; for remote ones when the national directory lists them).
- `Envelope`: what is known after MAIL FROM, with the sender's `PatientRelations` when
  the sender is a patient (their conversations and pharmacy dispensations).
- `Content`: what is known after DATA (size, subject, X-MSS-MES, Reply-To, attachments).
- `ActingRights`: what the authenticated principal may send as (submission, webmail, API).
- `PeerCertificate`: what TLS told about an inbound operator (certs package).
- `AuthorFields`: the From/Sender addresses the message names (pipeline.author_fields).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mss.distinguished_names import dn_lookup_key
from mss.identity import MailboxKind, OrgRight, PatientSpaceState, Principal
from mss.policy.addresses import canonical_address, domain_of, is_patient_address
from mss.policy.conversation_state import Conversation
from mss.policy.verdict import Verdict


@dataclass(frozen=True, slots=True)
class TrustList:
    """Trust list ("liste blanche"): mail domain → subject DNs of its operators' servers.

    MSS choice: a domain is trusted only as listed (no subdomain matching).
    """

    domains: Mapping[str, frozenset[str]] = field(default_factory=dict)
    _index: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {
            domain.lower(): frozenset(dn_lookup_key(dn) for dn in dns)
            for domain, dns in self.domains.items()
        }
        object.__setattr__(self, "_index", index)  # built once: the list is read per RCPT

    def is_trusted(self, domain: str) -> bool:
        return domain.lower() in self._index

    def lists(self, domain: str, subject_dn: str) -> bool:
        """True when `subject_dn` is a listed server DN for `domain` (MSS policy T1)."""
        return dn_lookup_key(subject_dn) in self._index.get(domain.lower(), frozenset())

    def lists_anywhere(self, subject_dn: str) -> bool:
        wanted = dn_lookup_key(subject_dn)
        return any(wanted in dns for dns in self._index.values())


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """Size limits in bytes (MSS policy S1): from `Settings.limits`."""

    message_bytes: int = 50 * 1024 * 1024
    patient_message_bytes: int = 25 * 1024 * 1024

    def for_recipient(self, to_patient: bool) -> int:
        """The operator limit applies to every message; towards a patient the smaller one."""
        if to_patient:
            return min(self.message_bytes, self.patient_message_bytes)
        return self.message_bytes


@dataclass(frozen=True, slots=True)
class OperatorFacts:
    """This operator: its own domains (include `patient.<domain>`), trust list, limits."""

    local_domains: frozenset[str]
    trust_list: TrustList = field(default_factory=TrustList)
    limits: SizeLimits = field(default_factory=SizeLimits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "local_domains", frozenset(d.lower() for d in self.local_domains))

    def is_local(self, domain: str) -> bool:
        return domain.lower() in self.local_domains

    def in_trust_space(self, domain: str) -> bool:
        return self.is_local(domain) or self.trust_list.is_trusted(domain)


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """What the directory knows about a mailbox.

    `patient_state` only for PAT; `responsible_mailbox` only for APP (mail to the APP is
    then delivered there, MSS policy R2); `is_pharmacy` for a pharmacy's ORG mailbox
    (profession 21 in the national directory, MSS policy P2 exception).
    """

    kind: MailboxKind
    patient_state: PatientSpaceState | None = None
    responsible_mailbox: str | None = None
    is_pharmacy: bool = False


@dataclass(frozen=True, slots=True)
class Correspondent:
    """An address in a message (sender, recipient, Reply-To) and its directory entry."""

    address: str
    entry: DirectoryEntry | None = None

    @property
    def canonical(self) -> str:
        return canonical_address(self.address)

    @property
    def domain(self) -> str:
        return domain_of(self.address)

    @property
    def kind(self) -> MailboxKind | None:
        """The directory kind; PAT for a patient address not in the directory (a remote
        patient); None when unknown."""
        if self.entry is not None:
            return self.entry.kind
        if is_patient_address(self.address):
            return MailboxKind.PAT
        return None

    @property
    def is_patient(self) -> bool:
        return self.kind is MailboxKind.PAT

    @property
    def is_pharmacy_org(self) -> bool:
        return (
            self.entry is not None and self.entry.kind is MailboxKind.ORG and self.entry.is_pharmacy
        )


@dataclass(frozen=True, slots=True)
class Dispensation:
    """A reimbursed dispensation of the patient at a pharmacy (from the Assurance Maladie
    feed): lets the patient write to that pharmacy's ORG mailbox for a year (P2)."""

    pharmacy: str
    dispensed_at: datetime


@dataclass(frozen=True, slots=True)
class PatientRelations:
    """Everything the policy needs about one patient's contacts (MSS policy P2): all the
    patient's conversations (open or ended) and their dispensations."""

    patient: str
    conversations: tuple[Conversation, ...] = ()
    dispensations: tuple[Dispensation, ...] = ()


class Channel(enum.StrEnum):
    """How the message entered (docs/architecture.md §1)."""

    INBOUND = "inbound"  # from a peer operator (MX)
    SUBMISSION = "submission"  # from an authenticated principal (SMTP, IMAP, webmail, API)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What is known once MAIL FROM is accepted; `at` is the time of the decision (the
    policy never reads a clock, docs/architecture.md §8.8)."""

    channel: Channel
    sender: Correspondent
    at: datetime
    sender_relations: PatientRelations | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One MIME part with a file name, or any non-text part.

    `leading_bytes` are the first bytes of the decoded content (at least 262 to see a tar
    header), when the pipeline has them. `confidentiality_codes` are those of the
    documents this part carries (XDM METADATA.XML), for MSS policy S3.
    """

    filename: str | None = None
    content_type: str = "application/octet-stream"
    leading_bytes: bytes | None = None
    confidentiality_codes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Content:
    """What is known after DATA. `x_mss_mes` holds every X-MSS-MES header value;
    `reply_to` every Reply-To address in order, each looked up like a recipient."""

    size: int
    subject: str = ""
    x_mss_mes: tuple[str, ...] = ()
    reply_to: tuple[Correspondent, ...] = ()
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class ActingRights:
    """What an authenticated principal may send as (MSS policy T2, docs/architecture.md §3).

    `own_mailboxes`: the PER of a professional, the PAT of a patient, the APP of an
    application. `org_rights`: ORG address → this member's rights there.
    """

    principal: Principal
    own_mailboxes: frozenset[str] = frozenset()
    org_rights: Mapping[str, frozenset[OrgRight]] = field(default_factory=dict)

    def may_send_as(self, address: str) -> bool:
        wanted = canonical_address(address)
        if not wanted:
            return False
        if wanted in {canonical_address(a) for a in self.own_mailboxes}:
            return True
        return any(
            canonical_address(org) == wanted and OrgRight.SEND_AS in rights
            for org, rights in self.org_rights.items()
        )


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """The client certificate an inbound operator presented (certs package).

    `chain_valid`: chained to the trusted CA, within validity, not revoked.
    """

    subject_dn: str | None
    chain_valid: bool


@dataclass(frozen=True, slots=True)
class AuthorFields:
    """The originator fields a sender wrote (RFC 5322 §3.6.2), read for MSS policy T4.

    `from_addresses` and `sender_addresses`: every address read in the From and Sender
    fields, by every reading (the union, so that no reader sees another author);
    `mentioned`: addresses written elsewhere in those fields (display names, comments,
    encoded words) and in Resent-From / Resent-Sender; `unreadable`: a From or Sender
    field in which no address can be read.
    """

    from_addresses: tuple[str, ...] = ()
    sender_addresses: tuple[str, ...] = ()
    mentioned: tuple[str, ...] = ()
    from_fields: int = 0
    sender_fields: int = 0
    unreadable: bool = False

    @property
    def well_formed(self) -> bool:
        """RFC 5322 §3.6: at most one From and one Sender field, each readable."""
        return not self.unreadable and self.from_fields <= 1 and self.sender_fields <= 1


@dataclass(frozen=True, slots=True)
class AuthorCompletion:
    """What T4 lets through, and the fields to add: `add_from` when the message has no
    From (RFC 6409 §8.1), `add_sender` when it speaks for an ORG mailbox or several
    authors and does not say who sent it (RFC 5322 §3.6.2)."""

    verdict: Verdict
    add_from: str | None = None
    add_sender: str | None = None
