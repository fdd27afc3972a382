"""What the policy answers: a `Verdict` per recipient, and a `Decision` that adds the
conversation transitions to apply when the message is accepted (docs/architecture.md §1, §4)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from mss.policy.codes import Cause, EnhancedStatus, ReplyCode, Rule
from mss.policy.conversation_state import Transition

SMTP_REPLY_MAX = 510
"""RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF."""

_ASCII_SUBSTITUTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u00ab": '"',
        "\u00bb": '"',
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
        "\u202f": " ",
        "\u2013": "-",
        "\u2014": "-",
        "\u0153": "oe",
        "\u0152": "OE",
        "\u00e6": "ae",
        "\u00c6": "AE",
    }
)


def ascii_text(text: str) -> str:
    """SMTP replies are ASCII (RFC 5321 §4.2): strip accents, replace typographic
    punctuation, drop control characters, and put `?` for anything else."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_SUBSTITUTES))
    out = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char in "\r\n\t":
            out.append(" ")
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) >= 0x80:
            out.append("?")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Accepted or refused, with the rule that decided and a sentence for the sender.

    `reason` is UTF-8, French first then English (docs/architecture.md §4), for the webmail and the
    API;
    `smtp_reply()` renders it for SMTP. `redirect_to` is set when an APP recipient is
    accepted because it has a responsible mailbox (MSS policy R2): deliver there instead.
    """

    accepted: bool
    code: ReplyCode
    enhanced: EnhancedStatus
    rule: Rule
    reason: str
    cause: Cause | None = None
    redirect_to: str | None = None

    @property
    def refused(self) -> bool:
        return not self.accepted

    @property
    def ascii_reason(self) -> str:
        return ascii_text(self.reason)

    def smtp_reply(self) -> str:
        """One reply line without CRLF, e.g. `550 5.7.1 Ce patient ... / This patient ...`."""
        line = f"{int(self.code)} {self.enhanced.value} {self.ascii_reason}"
        return line[:SMTP_REPLY_MAX]


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one recipient and, when accepted, the conversation transitions the
    pipeline applies in the same transaction as the delivery (docs/architecture.md §1)."""

    verdict: Verdict
    transitions: tuple[Transition, ...] = ()
