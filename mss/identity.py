"""Who acts and what kind of mailbox: the vocabulary every package shares (docs/architecture.md §3).

Plain values only, so that the pure policy may import them too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MailboxKind(enum.StrEnum):
    """Codes of the national directory, plus patient mailboxes."""

    PER = "PER"  # nominative: one professional
    ORG = "ORG"  # organisational: several professional members
    APP = "APP"  # applicative: software, sends only
    PAT = "PAT"  # patient: <INS>@patient.<domain>


class PatientSpaceState(enum.StrEnum):
    ACTIVE = "active"
    OPPOSED = "opposed"
    CLOSED = "closed"


class OrgRight(enum.StrEnum):
    """Rights of a member on an ORG mailbox."""

    READ = "read"
    SEND_AS = "send_as"
    MANAGE = "manage"


class PrincipalKind(enum.StrEnum):
    PROFESSIONAL = "professional"  # identified by RPPS (or ADELI)
    PATIENT = "patient"  # identified by INS
    APPLICATION = "application"  # identified by its certificate subject
    PEER_OPERATOR = "peer_operator"  # another operator of the trust space
    SYSTEM = "system"  # MSS itself (DSN, MDN, maintenance)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting; carried by every call that reads or changes a mailbox or document.

    `ident` is the RPPS, the INS, the certificate subject DN, or the peer domain.
    `mailbox` is the mailbox the principal logged in to (its own, or an ORG mailbox named
    as authorisation identity), when there is one.
    """

    kind: PrincipalKind
    ident: str
    display_name: str = ""
    mailbox: str | None = None

    def label(self) -> str:
        """A short stable text for audit rows and logs (never content)."""
        return f"{self.kind.value}:{self.ident}"


SYSTEM = Principal(PrincipalKind.SYSTEM, "mss", "MSS")
